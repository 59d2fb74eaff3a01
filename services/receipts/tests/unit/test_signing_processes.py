"""The signing processes live and die with the service that started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]

SERVICE = """
import os, sys, time
from receipts.adapters.signing import Signer
signer = Signer(2)
signer.start()
print(" ".join(str(p) for p in signer._pool._processes), flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state != "Z"


def test_signing_processes_end_when_the_service_is_killed():
    """A service killed outright (SIGKILL: no atexit, no shutdown) leaves no signing process behind holding
    its memory and its keys."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "services" / "receipts")])}
    service = subprocess.Popen([sys.executable, "-c", SERVICE], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert service.stdout is not None
        workers = [int(p) for p in service.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers), "a signing process outlived its service"
    finally:
        service.kill()
