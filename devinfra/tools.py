"""The command-line tools the deployment checks use (tests/deploy/), fetched or built once into .cache/:

- `deploycheck` (devinfra/deploycheck): Docker Compose's own loader (compose-go) and kustomize's own builder
  (krusty), built with the machine's Go from the Go module proxy;
- `promtool`, from Debian's prometheus package (extracted, not installed: no server is started);
- the CloudNativePG CRDs (Cluster, ScheduledBackup), its Barman Cloud plugin's (ObjectStore) and the
  Prometheus Operator's (ServiceMonitor, PodMonitor, PrometheusRule), from their modules on the Go module proxy.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "tools"
CNPG_VERSION = "v1.27.1"
# CloudNativePG's Barman Cloud plugin (backups to an object store; it replaces the Cluster's deprecated
# `barmanObjectStore`): its ObjectStore CRD.
BARMAN_CLOUD_VERSION = "v0.15.0"
# The Prometheus Operator: its ServiceMonitor, PodMonitor and PrometheusRule CRDs.
PROMETHEUS_OPERATOR_VERSION = "v0.85.0"


class ToolError(RuntimeError):
    pass


def _run(*argv: str, cwd: Path | None = None) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ToolError(f"{' '.join(argv)} failed: {done.stderr.strip()[-2000:]}")


def deploycheck() -> Path:
    source = ROOT / "devinfra" / "deploycheck"
    digest = hashlib.sha256(b"".join((source / f).read_bytes() for f in ("main.go", "go.mod", "go.sum")))
    binary = CACHE / f"deploycheck-{digest.hexdigest()[:12]}"
    if not binary.exists():
        go = shutil.which("go") or "/usr/local/go/bin/go"
        if not Path(go).exists():
            raise ToolError("the deployment checks need Go (on this kind of machine: /usr/local/go/bin/go)")
        CACHE.mkdir(parents=True, exist_ok=True)
        _run(go, "build", "-trimpath", "-o", str(binary), ".", cwd=source)
    return binary


def promtool() -> Path:
    binary = CACHE / "promtool"
    if binary.exists():
        return binary
    work = CACHE / "prometheus-deb"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        _run("apt-get", "download", "prometheus", cwd=work)
    except ToolError:
        _run("apt-get", "update", "-q")
        _run("apt-get", "download", "prometheus", cwd=work)
    (deb,) = work.glob("prometheus_*.deb")
    _run("dpkg-deb", "-x", str(deb), str(work / "x"))
    shutil.copy2(work / "x" / "usr" / "bin" / "promtool", binary)
    shutil.rmtree(work)
    return binary


def cnpg_crd(kind_file: str = "postgresql.cnpg.io_clusters.yaml") -> Path:
    return _module_file("github.com/cloudnative-pg/cloudnative-pg", CNPG_VERSION, f"config/crd/bases/{kind_file}")


def barman_cloud_crd() -> Path:
    module = "github.com/cloudnative-pg/plugin-barman-cloud"
    return _module_file(module, BARMAN_CLOUD_VERSION, "config/crd/bases/barmancloud.cnpg.io_objectstores.yaml")


def prometheus_operator_crd(plural: str) -> Path:
    module = "github.com/prometheus-operator/prometheus-operator"
    member = f"example/prometheus-operator-crd/monitoring.coreos.com_{plural}.yaml"
    return _module_file(module, PROMETHEUS_OPERATOR_VERSION, member)


def _module_file(module: str, version: str, member: str) -> Path:
    """One file of a Go module's release, from the Go module proxy (cached)."""
    target = CACHE / f"{module.rsplit('/', 1)[1]}-{version}-{member.rsplit('/', 1)[1]}"
    if target.exists():
        return target
    with urllib.request.urlopen(f"https://proxy.golang.org/{module}/@v/{version}.zip", timeout=120) as r:
        archive = zipfile.ZipFile(io.BytesIO(r.read()))
    CACHE.mkdir(parents=True, exist_ok=True)
    target.write_bytes(archive.read(f"{module}@{version}/{member}"))
    return target
