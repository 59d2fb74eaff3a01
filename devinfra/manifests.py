"""Manifests made from the project's own files, so that each fact has one source (a test keeps them fresh):
`python -m devinfra.manifests` writes them again.

- deploy/k8s/base/prometheus-rules.yaml: the PrometheusRule carrying deploy/monitoring/alerts.yaml's groups.
"""

from __future__ import annotations

import yaml

from devinfra.tools import ROOT

ALERTS = ROOT / "deploy" / "monitoring" / "alerts.yaml"
PROMETHEUS_RULES = ROOT / "deploy" / "k8s" / "base" / "prometheus-rules.yaml"
HEADER = (
    "# Generated from deploy/monitoring/alerts.yaml by `python -m devinfra.manifests`: edit that file, not this\n"
    "# one (tests/deploy fail while the two differ).\n"
)


def prometheus_rules() -> str:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "tuition"},
        "spec": {"groups": groups},
    }
    return HEADER + yaml.safe_dump(rule, sort_keys=False, allow_unicode=True, width=120)


def main() -> None:
    PROMETHEUS_RULES.write_text(prometheus_rules())
    print(f"wrote {PROMETHEUS_RULES.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
