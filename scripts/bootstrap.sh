#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine and builds .venv from requirements.lock.
# Idempotent and quick when everything is already there. PostgreSQL and the Kafka jars are installed
# on first `tuition infra up` (devinfra/), so that they are also installed when tests start them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

need_apt=()
# Kafka runs on Java; the receipts' tests run a second XML-signature verifier as a Java source file (javac).
command -v javac >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need_apt+=(maven)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql)
command -v xmlsec1 >/dev/null || need_apt+=(xmlsec1)            # independent XML-signature check in tests
command -v chromium >/dev/null || need_apt+=(chromium)          # the dashboard tests run in a real browser
ls /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf >/dev/null 2>&1 || need_apt+=(fonts-dejavu-core)  # Vietnamese PDFs
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: please install: ${need_apt[*]} (apt-get install ${need_apt[*]})" >&2; exit 1
  fi
  echo "bootstrap: installing ${need_apt[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { echo "bootstrap: Python 3.11+ is needed (found $("$PY" --version))" >&2; exit 1; }

# The stamp changes with the lock, the project and this script (a changed way of installing reinstalls).
stamp=.venv/.lock-$(sha256sum requirements.lock pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ]; then exit 0; fi

if ! "$PY" -m uv --version >/dev/null 2>&1; then
  "$PY" -m pip install -q --disable-pip-version-check "uv==0.13.9"
fi
"$PY" -m uv venv -q --allow-existing --python "$PY" .venv
# Compiled now: uv leaves .py files only, and where PYTHONDONTWRITEBYTECODE is set (as on CI machines) every
# process would compile its libraries again at each start (seconds per service, each chaos restart).
"$PY" -m uv pip install -q --python .venv/bin/python --require-hashes -r requirements.lock
"$PY" -m uv pip install -q --python .venv/bin/python --no-deps --no-build-isolation -e .
.venv/bin/python -m compileall -q -j 0 .venv/lib >/dev/null || echo "bootstrap: some library files did not compile (they run as source)"
rm -f .venv/.lock-*
touch "$stamp"
echo "bootstrap: .venv ready"
