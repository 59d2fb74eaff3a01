"""The alert rules and the dashboard checked by promtool (syntax and alert unit tests), every series they name
one the services export; the image built from the wheel with runtime dependencies only, as a non-root user."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile

import yaml

from devinfra import tools
from devinfra.tools import ROOT

MONITORING = ROOT / "deploy" / "monitoring"
DEV_ONLY = ("pytest", "playwright", "ruff", "mypy", "hypothesis", "schemathesis", "grpcio-tools", "py-spy")


def _promtool(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tools.promtool()), *argv], capture_output=True, text=True, check=False, cwd=MONITORING)


def _exported() -> set[str]:
    sources = [ROOT / "shared" / "metrics.py", *ROOT.glob("services/*/*/app/metrics.py")]
    return {m for p in sources for m in re.findall(r'"(tuition_[a-z_]+)"', p.read_text())}


def _series(expr: str) -> set[str]:
    return {re.sub(r"_(total|bucket|count|sum)$", "", m) for m in re.findall(r"\btuition_[a-z_]+", expr)}


def test_the_alert_rules_pass_promtool_and_their_unit_tests():
    checked = _promtool("check", "rules", "alerts.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = _promtool("test", "rules", "alerts_test.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_dashboard_queries_are_valid_promql(tmp_path):
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 12
    rules = {
        "groups": [{"name": "dashboard", "rules": [{"record": f"panel:{i}", "expr": e} for i, e in enumerate(exprs)]}]
    }
    (tmp_path / "dashboard.yaml").write_text(yaml.safe_dump(rules))
    checked = subprocess.run(
        [str(tools.promtool()), "check", "rules", str(tmp_path / "dashboard.yaml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = {"groups": [{"name": "x", "rules": [{"record": "x:y", "expr": "sum by (job (tuition_dead_letters)"}]}]}
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    refused = subprocess.run(
        [str(tools.promtool()), "check", "rules", str(tmp_path / "broken.yaml")], capture_output=True, text=True
    )
    assert refused.returncode != 0


def test_every_series_in_alerts_and_dashboard_is_exported():
    alerts = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    exprs = [r["expr"] for g in alerts["groups"] for r in g["rules"]]
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    named = set().union(*(_series(e) for e in exprs))
    assert named - _exported() == set()
    assert {"tuition_dead_letters", "tuition_reconciliation_difference_vnd", "tuition_receipt_numbers_left"} <= named


def _pins(path) -> dict[str, str]:
    return {n.lower(): v for n, v in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), re.M)}


def test_the_runtime_lock_holds_no_development_tool_and_the_same_versions():
    runtime, dev = _pins(ROOT / "requirements-runtime.lock"), _pins(ROOT / "requirements.lock")
    assert not [p for p in runtime if p in DEV_ONLY]
    assert {p: v for p, v in runtime.items() if dev.get(p) != v} == {}
    for dependency in ("fastapi", "aiokafka", "asyncpg", "cryptography", "signxml", "prometheus-client"):
        assert dependency in runtime


def test_the_dockerfile_builds_a_wheel_onto_a_pinned_base_and_runs_unprivileged():
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:[\w.-]+@sha256:[0-9a-f]{64}$", text, re.M)
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", text, re.M)
    assert stages == [("${PYTHON_IMAGE}", "build"), ("${PYTHON_IMAGE}", "runtime")]
    runtime = text.split("AS runtime", 1)[1]
    assert "requirements-runtime.lock" in text and "requirements.lock " not in text
    assert re.search(r"^USER 10001:10001$", runtime, re.M) and "HEALTHCHECK" in runtime
    assert "COPY --from=build /opt/tuition /opt/tuition" in runtime
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "*" or "*" in ignored  # everything but what the build copies
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for path in copied.split():
            assert f"!{path.rstrip('/')}" in ignored or f"!{path.rstrip('/')}/" in ignored, path


def test_the_wheel_carries_each_services_migrations_and_pages(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "--target", "wheel", "--directory", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("tuition_suite-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for service in ("invoicing", "reconciliation", "receipts", "reporting"):
        for sql in (ROOT / "services" / service / service / "migrations").glob("*.sql"):
            assert f"{service}/migrations/{sql.name}" in names
    for sql in (ROOT / "shared" / "migrations").glob("*.sql"):
        assert f"shared/migrations/{sql.name}" in names
    assert "invoicing/entrypoints/templates/workspace.html" in names
    assert "reporting/entrypoints/static/dashboard.html" in names
    assert not [n for n in names if "/tests/" in n or n.startswith("devinfra/")]
