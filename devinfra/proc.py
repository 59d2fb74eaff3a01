"""Small process helpers for the infra launcher."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from shared.logging import get_logger

log = get_logger(__name__)


class InfraError(RuntimeError):
    """The local infrastructure could not be installed, started or stopped; the message says why."""


def is_root() -> bool:
    return os.geteuid() == 0


def apt_install(*packages: str) -> None:
    """Install Debian packages (root only). Called only when a needed binary is missing."""
    if not is_root():
        raise InfraError(f"missing {' '.join(packages)}: install them (apt-get install {' '.join(packages)})")
    if not shutil.which("apt-get"):
        raise InfraError(f"missing {' '.join(packages)} and no apt-get on this machine")
    log.info("infra.apt.installing", packages=list(packages))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.split()[2] != "Z"
    except OSError:
        return True


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def terminate(pid: int, *, timeout: float = 30.0) -> None:
    """SIGTERM, wait, then SIGKILL and wait until it is gone: its ports are free when this returns."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.2)
    log.warning("infra.process.kill", pid=pid)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    # SIGKILL is delivered, not done: until the process is gone its listening sockets stay open (a broker
    # restarted right after saw its own controller port taken: the chaos test's failure).
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
