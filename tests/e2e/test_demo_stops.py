"""`make demo` as a person runs it (`tuition demo`, a process of its own): Ctrl-C stops it within 5 seconds,
whatever it is doing, even with a dashboard's stream open; killed outright (SIGKILL), its services end with
it and free their ports; and a demo that finds its ports taken says which and stops, instead of talking to
another run's services."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import uuid

import httpx
import pytest

from devinfra.testing import wait_until
from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET
from simulator import demo

from .test_district_day import _free_base

pytestmark = pytest.mark.integration
SEEDING = b"demo: seeding district"


async def _start(prefix: str, base: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "suite.cli", "demo", "--prefix", prefix, "--port-base", str(base),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


async def _until(proc: asyncio.subprocess.Process, line: bytes, timeout: float = 120) -> bytes:
    """The demo's output until a line holding `line` (what it said, for the assertion's message)."""
    said = b""
    async with asyncio.timeout(timeout):
        while line not in said:
            chunk = await proc.stdout.readline()  # type: ignore[union-attr]
            if not chunk:
                raise AssertionError(f"the demo ended first: {said.decode()[-2000:]}")
            said += chunk
    return said


def _listening(base: int) -> list[int]:
    ports = []
    for port in range(base + 1, base + 5):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                ports.append(port)
    return ports


async def test_ctrl_c_stops_the_demo_within_five_seconds_and_a_killed_demo_takes_its_services_with_it(
    infra_endpoints,
):
    prefix, base = f"dstop{uuid.uuid4().hex[:6]}", _free_base()
    try:
        proc = await _start(prefix, base)
        await _until(proc, SEEDING)  # the four services answer; the district is being seeded
        assert len(_listening(base)) == 4
        # A dashboard left open: its stream must not hold the stop (uvicorn waits for open responses).
        token = mint_token(DEV_JWT_SECRET, role="district", district="HN-CAU-GIAY", subject="pgd")
        dashboard = httpx.AsyncClient(timeout=30)
        stream = await dashboard.send(
            dashboard.build_request(
                "GET", f"http://127.0.0.1:{base + 4}/api/stream", headers={"Authorization": f"Bearer {token}"}
            ),
            stream=True,
        )
        assert stream.status_code == 200
        asked = time.monotonic()
        proc.send_signal(signal.SIGINT)
        said = (await asyncio.wait_for(proc.stdout.read(), timeout=30)).decode()  # type: ignore[union-attr]
        await proc.wait()
        took = time.monotonic() - asked
        assert proc.returncode == 0 and "demo: stopped in" in said, said
        assert took < 5, f"the demo took {took:.1f} s to stop: {said}"
        print(f"\n  Ctrl-C to exit: {took:.2f} s")
        assert _listening(base) == []
        await stream.aclose()
        await dashboard.aclose()

        # Killed outright, mid-seeding: nothing of it is left listening.
        proc = await _start(prefix, base)
        await _until(proc, SEEDING)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

        async def gone() -> bool:
            return _listening(base) == []

        await wait_until(gone, timeout=15, what="the killed demo's services to free their ports")
    finally:
        await demo.forget(demo.DemoConfig(prefix=prefix), infra_endpoints.pg_dsn, infra_endpoints.kafka)


async def test_a_demo_that_finds_its_ports_taken_says_which_and_stops():
    base = _free_base()
    with socket.socket() as other:
        other.bind(("127.0.0.1", base + 3))
        other.listen()
        proc = await _start(f"dtaken{uuid.uuid4().hex[:6]}", base)
        said = (await asyncio.wait_for(proc.stdout.read(), timeout=30)).decode()  # type: ignore[union-attr]
        await proc.wait()
    assert proc.returncode != 0
    assert f"port {base + 3} is already taken" in said and "--port-base" in said, said
