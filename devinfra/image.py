"""The image built for real, and its four services started from it (`make image`).

No registry is reachable from these machines and no container can be run, but Debian's packages can be had:

1. **A base from Debian's packages** (`mmdebstrap`, bookworm: Python 3.11, pip): what `python:3.11-slim-bookworm`
   gives the Dockerfile (`python`, `pip`, `apt-get`, `useradd`), made here. It trusts what this machine trusts
   (its CA certificates: the way out to PyPI and Debian goes through them); the image shipped is built on
   the official base, pinned by digest.
2. **The image** from `deploy/Dockerfile`, unchanged, by `buildah bud` (chroot isolation, vfs storage in
   `.cache/image/`), with `PYTHON_IMAGE` naming that base.
3. **Its four services**, each started from the built image's filesystem with `chroot`, as the image's own
   user (10001) and with its own environment (`TUITION_ENV=production`), on this machine's PostgreSQL and
   Kafka, with production settings (real random secrets, a trust bundle, public https addresses): each
   must answer `/readyz` with 200.

Prints a JSON report; exits non-zero if anything fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import devinfra as infra
from devinfra.proc import apt_install
from devinfra.tools import ROOT

WORK = ROOT / ".cache" / "image"
BASE = "localhost/tuition-base:3.11-bookworm"
IMAGE = "localhost/tuition-suite:check"
SERVICES = ("invoicing", "reconciliation", "receipts", "reporting")
USER = "10001:10001"
IMAGE_TMP = "/tmp"  # noqa: S108 (the image's own /tmp, inside the chroot: its working directory)


def _buildah(*args: str, capture: bool = True) -> str:
    argv = ["buildah", "--storage-driver", "vfs", "--root", str(WORK / "storage"), "--runroot", str(WORK / "run")]
    done = subprocess.run([*argv, *args], capture_output=capture, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"buildah {args[0]} failed: {(done.stderr or '')[-2000:]}")
    return (done.stdout or "").strip()


def _tools() -> None:
    missing = [p for p, binary in (("buildah", "buildah"), ("mmdebstrap", "mmdebstrap")) if not shutil.which(binary)]
    if missing:
        apt_install(*missing)


def base() -> None:
    """The Debian base, made once (a tarball in .cache/image) and imported into buildah's storage."""
    tarball = WORK / "base.tar"
    if not tarball.exists():
        hook = (
            'cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/" 2>/dev/null; '
            'chroot "$1" update-ca-certificates >/dev/null && chroot "$1" sh -c "'
            "ln -s /usr/bin/python3 /usr/local/bin/python && ln -s /usr/bin/pip3 /usr/local/bin/pip "
            '&& rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED"'
        )
        packages = "python3,python3-pip,python3-venv,ca-certificates,passwd"
        partial = tarball.with_suffix(".partial")
        done = subprocess.run(
            ["mmdebstrap", "--variant=minbase", f"--include={packages}", f"--customize-hook={hook}", "bookworm",
             str(partial)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"mmdebstrap failed: {done.stderr[-2000:]}")
        partial.rename(tarball)
    ctr = _buildah("from", "scratch")
    try:
        _buildah("add", ctr, str(tarball), "/")
        _buildah("config", "--env", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", ctr)
        _buildah("commit", "--quiet", ctr, BASE)
    finally:
        _buildah("rm", ctr)


def build() -> float:
    started = time.monotonic()
    log = WORK / "build.log"
    with log.open("w") as out:
        done = subprocess.run(
            ["buildah", "--storage-driver", "vfs", "--root", str(WORK / "storage"), "--runroot", str(WORK / "run"),
             "bud", "--isolation", "chroot", "--layers=false", "--build-arg", f"PYTHON_IMAGE={BASE}",
             "-f", "deploy/Dockerfile", "-t", IMAGE, "."],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the image did not build: see {log}")
    return time.monotonic() - started


@contextlib.contextmanager
def filesystem() -> Iterator[tuple[Path, dict[str, Any]]]:
    """The built image's filesystem (mounted, with /proc and /dev) and its configuration."""
    config = json.loads(_buildah("inspect", "--type", "image", IMAGE))["OCIv1"]["config"]
    ctr = _buildah("from", IMAGE)
    root = Path(_buildah("mount", ctr))
    mounted: list[Path] = []
    try:
        for target, argv in (("proc", ["-t", "proc", "proc"]), ("dev", ["--bind", "/dev"])):
            path = root / target
            path.mkdir(exist_ok=True)
            subprocess.run(["mount", *argv, str(path)], check=True)
            mounted.append(path)
        yield root, config
    finally:
        for path in reversed(mounted):
            subprocess.run(["umount", "-l", str(path)], check=False)
        _buildah("umount", ctr)
        _buildah("rm", ctr)


def _production_env(config: dict[str, Any], run: str, ports: dict[str, int], bundle: str) -> dict[str, str]:
    env = dict(str(e).split("=", 1) for e in config.get("Env", []))
    endpoints = infra.up()
    key = lambda: secrets.token_urlsafe(48)  # noqa: E731
    env |= {
        "PG_DSN": endpoints.pg_dsn,
        "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
        "TUITION_TOPIC_PREFIX": f"{run}.",
        "TUITION_TOPIC_PARTITIONS": "3",
        "TUITION_JWT_SECRET": key(),
        "INVOICING_DATA_KEY": key(),
        "INVOICING_PSEUDONYM_SECRET": key(),
        "RECONCILIATION_DATA_KEY": key(),
        "RECEIPTS_KEY_SECRET": key(),
        "RECEIPTS_TRUST_BUNDLE": bundle,
        "TUITION_WORKSPACE_ORIGIN": "https://hocphi.example.vn",
        "INVOICING_PUBLIC_URL": "https://hocphi.example.vn",
        "INVOICING_RECONCILIATION_URL": "https://doisoat.example.vn",
        "INVOICING_RECEIPTS_URL": "https://bienlai.example.vn",
        "INVOICING_DASHBOARD_URL": "https://baocao.example.vn",
        "RECEIPTS_PUBLIC_URL": "https://bienlai.example.vn",
        "HOME": IMAGE_TMP,
    }
    for service in SERVICES:
        env[f"{service.upper()}_DATABASE"] = f"{run}_{service}"
    assert env["TUITION_ENV"] == "production", "the image runs in production"
    return env


def _ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"a service exited with code {proc.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as r:
                if r.status == 200:
                    return json.loads(r.read())  # type: ignore[no-any-return]
        time.sleep(0.5)
    raise RuntimeError(f"no service answered /readyz on port {port} within {timeout:.0f} s")


def run_services(root: Path, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The four services from the image's filesystem, as its user, until each answers /readyz."""
    run = f"img{uuid.uuid4().hex[:8]}"
    ports = {s: 27500 + n for n, s in enumerate(SERVICES, start=1)}
    (root / IMAGE_TMP.lstrip("/") / "trust.pem").write_bytes(_a_ca_certificate())
    env = _production_env(config, run, ports, f"{IMAGE_TMP}/trust.pem")
    entrypoint = [str(a) for a in config.get("Entrypoint", [])]
    procs: dict[str, subprocess.Popen[bytes]] = {}
    ready: dict[str, dict[str, Any]] = {}
    try:
        for service, port in ports.items():
            argv = [*entrypoint, "serve", service, "--host", "127.0.0.1", "--port", str(port)]
            log = (WORK / f"{service}.log").open("wb")
            procs[service] = subprocess.Popen(
                ["chroot", f"--userspec={config.get('User', USER)}", str(root), "/bin/sh", "-c",
                 'cd "${WORKDIR:-/tmp}" && exec "$@"', "sh", *argv],
                env=env | {"WORKDIR": str(config.get("WorkingDir") or IMAGE_TMP)}, stdout=log, stderr=log,
            )  # fmt: skip
        for service, port in ports.items():
            ready[service] = _ready(port, procs[service])
        return ready
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        _forget(run)


def _a_ca_certificate() -> bytes:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Image check root")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM)


def _forget(run: str) -> None:
    """The check's databases and topics, gone."""
    import asyncio

    from shared.db import drop_database
    from shared.events.kafka import delete_topics

    async def forget() -> None:
        endpoints = infra.up()
        for service in SERVICES:
            await drop_database(endpoints.pg_dsn, f"{run}_{service}")
        await delete_topics(endpoints.kafka_bootstrap, lambda topic: topic.startswith(f"{run}."))

    asyncio.run(forget())


def main() -> int:
    if os.geteuid() != 0:
        print("make image: needs root (chroot, mount)", file=sys.stderr)
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    _tools()
    started = time.monotonic()
    base()
    built_in = build()
    with filesystem() as (root, config):
        ready = run_services(root, config)
        du = subprocess.run(["du", "-sb", "--exclude=proc", "--exclude=dev", str(root)], capture_output=True, text=True)
        size = int(du.stdout.split()[0]) if du.returncode == 0 else None
    report = {
        "image": IMAGE,
        "built in s": round(built_in, 1),
        "user": config.get("User"),
        "environment": "TUITION_ENV=production",
        "ready": {s: r.get("status") for s, r in ready.items()},
        "total s": round(time.monotonic() - started, 1),
        "filesystem bytes": size,
    }
    _buildah("rmi", "--prune")  # earlier builds' layers (the tags stay)
    print(json.dumps(report, indent=2))
    return 0 if all(r.get("status") == "ok" for r in ready.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
