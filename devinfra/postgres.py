"""A local PostgreSQL server from Debian's packages, owned by the `postgres` system user."""

from __future__ import annotations

import glob
import pwd
import shutil
import subprocess
from pathlib import Path

from devinfra.proc import InfraError, apt_install, is_root, port_open
from shared.logging import get_logger
from shared.settings import LOCAL_PG_PORT

log = get_logger(__name__)


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _ensure_installed() -> Path:
    bindir = _bin_dir()
    if bindir is None:
        apt_install("postgresql")
        bindir = _bin_dir()
    if bindir is None:
        raise InfraError("PostgreSQL server binaries not found under /usr/lib/postgresql after install")
    return bindir


def _run_as_owner(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    # initdb and pg_ctl refuse to run as root: drop to the package's `postgres` user.
    if is_root():
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=False, text=True, capture_output=True, **kwargs)  # type: ignore[call-overload,no-any-return]


def is_running(state: Path) -> bool:
    bindir = _bin_dir()
    data = state / "data"
    if bindir is None or not (data / "PG_VERSION").exists():
        return False
    return _run_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "status"]).returncode == 0


def start(state: Path, port: int = LOCAL_PG_PORT) -> bool:
    """Start the server if it is not running. Returns True when this call started it."""
    bindir = _ensure_installed()
    data = state / "data"
    if is_running(state):
        return False
    if port_open(port):
        raise InfraError(f"port {port} is taken by another program; stop it or set PG_DSN to use that server")
    state.mkdir(parents=True, exist_ok=True)
    if is_root():
        pw = pwd.getpwnam("postgres")
        shutil.chown(state, pw.pw_uid, pw.pw_gid)
        # The server runs as `postgres`: every folder above its data must let that user through.
        for path in state.parents:
            st = path.stat()
            if not (st.st_mode & 0o001 or (st.st_uid == pw.pw_uid and st.st_mode & 0o100)):
                raise InfraError(f"{path} is not traversable by the postgres user (chmod o+x it, or move the cache)")
    if not (data / "PG_VERSION").exists():
        res = _run_as_owner(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        if res.returncode != 0:
            raise InfraError(f"initdb failed: {res.stderr.strip()}")
    opts = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {state} -c max_connections=300 "
        "-c shared_buffers=256MB -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        # An error's DETAIL (a failing row: names, memos, accounts) never goes to the server's log.
        "-c log_error_verbosity=terse "
        # The bench counts the statements each credit costs per service (bench/open_loop.py).
        "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.max=2000"
    )
    res = _run_as_owner(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(state / "postgres.log"),
            "-w",
            "-t",
            "60",
            "-o",
            opts,
            "start",
        ]
    )
    if res.returncode != 0:
        raise InfraError(
            f"PostgreSQL did not start: {res.stderr.strip() or res.stdout.strip()}; see {state}/postgres.log"
        )
    log.info("infra.postgres.started", port=port, data=str(data))
    return True


def stop(state: Path) -> None:
    bindir = _bin_dir()
    if bindir is None or not is_running(state):
        return
    res = _run_as_owner([str(bindir / "pg_ctl"), "-D", str(state / "data"), "-m", "fast", "-w", "stop"])
    if res.returncode != 0:
        raise InfraError(f"PostgreSQL did not stop: {res.stderr.strip()}")
    log.info("infra.postgres.stopped")
