"""The committed Python code of proto/ must be what `make proto` generates from the .proto files."""

import filecmp
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _files(base: Path) -> set[str]:
    return {str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_generated_code_matches_the_proto_files(tmp_path):
    subprocess.run(
        [str(ROOT / "scripts" / "gen_proto.sh"), str(tmp_path)],
        check=True,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    committed, fresh = ROOT / "proto" / "gen" / "tuition", tmp_path / "tuition"
    assert _files(committed) == _files(fresh), "run `make proto`: the set of generated files changed"
    stale = [f for f in sorted(_files(fresh)) if not filecmp.cmp(committed / f, fresh / f, shallow=False)]
    assert not stale, f"run `make proto`: stale generated files {stale}"


def test_every_event_package_is_versioned():
    for proto in (ROOT / "proto" / "tuition").rglob("*.proto"):
        package = next(line for line in proto.read_text().splitlines() if line.startswith("package "))
        assert package.rstrip(";").split(".")[-1].startswith("v"), f"{proto}: package must end in .vN"
