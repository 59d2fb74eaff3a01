#!/usr/bin/env bash
# Generates the Python code of every .proto under proto/ into OUT (default proto/gen).
# `make proto` runs it; tests/contract/test_generated_code_is_fresh.py runs it into a temp dir and compares.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/proto/gen}
py=${PYTHON:-$root/.venv/bin/python}
mapfile -t files < <(cd "$root/proto" && find tuition -name '*.proto' | sort)
rm -rf "$out/tuition"
mkdir -p "$out"
(cd "$root/proto" && "$py" -m grpc_tools.protoc -I . --python_out="$out" --pyi_out="$out" "${files[@]}")
# Regular packages, so that the wheel and editable installs see them like any other package.
find "$out/tuition" -type d -exec touch {}/__init__.py \;
