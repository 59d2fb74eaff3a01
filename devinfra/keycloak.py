"""Keycloak, the identity provider the OpenID Connect tests sign in at: its distribution from Maven Central
(`org.keycloak:keycloak-quarkus-dist`), checked against Maven's SHA-1, unpacked once into the cache, run in
development mode (its own H2 database) on 127.0.0.1 only; no Docker.

`running_keycloak()` starts one on a free port with a fresh data folder and a random administrator
password, and stops it afterwards; `Keycloak.realm(...)` creates a realm with a confidential client and
users through the admin REST API, the way a province's administrator would.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from devinfra import cache_dir
from devinfra.proc import InfraError, port_open, terminate
from devinfra.testing import free_ports
from shared.logging import get_logger

log = get_logger(__name__)

VERSION = "26.4.7"
URL = f"https://repo1.maven.org/maven2/org/keycloak/keycloak-quarkus-dist/{VERSION}/keycloak-quarkus-dist-{VERSION}.tar.gz"
START_TIMEOUT_S = 180.0


def ensure_distribution() -> Path:
    """The unpacked distribution (downloaded and checked once)."""
    home = cache_dir() / "keycloak" / f"keycloak-{VERSION}"
    if (home / "bin" / "kc.sh").exists():
        return home
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home.parent) as tmp:
        archive = Path(tmp) / "keycloak.tar.gz"
        log.info("infra.keycloak.download", version=VERSION)
        with httpx.stream("GET", URL, timeout=600, follow_redirects=True) as r, archive.open("wb") as out:
            r.raise_for_status()
            for chunk in r.iter_bytes(1 << 20):
                out.write(chunk)
        expected = httpx.get(URL + ".sha1", timeout=60, follow_redirects=True).text.split()[0].strip()
        actual = hashlib.sha1(archive.read_bytes()).hexdigest()  # noqa: S324 (Maven publishes SHA-1)
        if actual != expected:
            raise InfraError(f"keycloak {VERSION}: checksum {actual} is not Maven Central's {expected}")
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        shutil.move(str(Path(tmp) / f"keycloak-{VERSION}"), home)
    return home


@dataclass(frozen=True)
class Keycloak:
    base: str
    admin_password: str

    def _admin_token(self, http: httpx.Client) -> str:
        r = http.post(
            f"{self.base}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": "admin",
                "password": self.admin_password,
            },
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def realm(
        self, name: str, *, client_id: str, client_secret: str, redirect_uri: str, users: list[dict[str, Any]]
    ) -> str:
        """A realm with one confidential client (authorization code, PKCE S256 required) and its users
        ({"username", "password", "firstName", "lastName", "email"}); returns the issuer URL."""
        realm = {
            "realm": name,
            "enabled": True,
            "sslRequired": "none",
            "clients": [
                {
                    "clientId": client_id,
                    "secret": client_secret,
                    "publicClient": False,
                    "standardFlowEnabled": True,
                    "directAccessGrantsEnabled": False,
                    "redirectUris": [redirect_uri],
                    "attributes": {"pkce.code.challenge.method": "S256"},
                }
            ],
            "users": [
                {
                    "username": u["username"],
                    "enabled": True,
                    "emailVerified": True,
                    "firstName": u.get("firstName", u["username"]),
                    "lastName": u.get("lastName", "-"),
                    "email": u.get("email", f"{u['username']}@example.vn"),
                    "credentials": [{"type": "password", "value": u["password"], "temporary": False}],
                }
                for u in users
            ],
        }
        with httpx.Client(timeout=60) as http:
            token = self._admin_token(http)
            r = http.post(f"{self.base}/admin/realms", json=realm, headers={"Authorization": f"Bearer {token}"})
            if r.status_code != 201:
                raise InfraError(f"keycloak refused the realm: {r.status_code} {r.text[:300]}")
        return f"{self.base}/realms/{name}"


@contextlib.contextmanager
def running_keycloak() -> Iterator[Keycloak]:
    """A Keycloak of its own (development mode, fresh data), stopped and removed when done."""
    home = ensure_distribution()
    port, management = free_ports(2)
    password = secrets.token_urlsafe(18)
    with tempfile.TemporaryDirectory(prefix="keycloak-") as data:
        env = {
            **os.environ,
            "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
            "KC_BOOTSTRAP_ADMIN_PASSWORD": password,
            "KC_DB_URL": f"jdbc:h2:file:{data}/kc;NON_KEYWORDS=VALUE;AUTO_SERVER=FALSE",
            "JAVA_OPTS_KC_HEAP": "-Xms64m -Xmx512m",
        }
        log_path = Path(data) / "keycloak.log"
        with log_path.open("wb") as out:
            proc = subprocess.Popen(
                [
                    str(home / "bin" / "kc.sh"),
                    "start-dev",
                    f"--http-port={port}",
                    "--http-host=127.0.0.1",
                    f"--http-management-port={management}",
                    "--hostname-strict=false",
                    "--log-level=WARN",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                _wait_ready(proc, base, log_path)
                log.info("infra.keycloak.started", port=port)
                yield Keycloak(base, password)
            finally:
                terminate(proc.pid, timeout=20)


def _wait_ready(proc: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise InfraError(f"keycloak exited ({proc.returncode}): {log_path.read_text(errors='replace')[-2000:]}")
        if port_open(int(base.rsplit(":", 1)[1])):
            try:
                if httpx.get(f"{base}/realms/master/.well-known/openid-configuration", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.5)
    raise InfraError(
        f"keycloak did not start in {START_TIMEOUT_S:.0f}s: {log_path.read_text(errors='replace')[-2000:]}"
    )
