"""Across all four services, as processes, over HTTP and Kafka: the demo's district and a day of payments."""

from __future__ import annotations

import socket
import uuid

import asyncpg
import httpx
import pytest

from shared.db import with_database
from shared.settings import DEV_JWT_SECRET
from simulator import demo, district
from simulator.demo import SERVICES, DemoConfig, run

pytestmark = pytest.mark.integration


def _free_base() -> int:
    for _ in range(50):
        # Below Linux's ephemeral range (32768-60999): a port in it can be taken by an outgoing connection
        # (the services' own, to PostgreSQL and Kafka) between this check and the server's bind.
        base = 20000 + uuid.uuid4().int % 12000
        free = True
        for port in range(base + 1, base + 5):
            with socket.socket() as s:
                free &= s.connect_ex(("127.0.0.1", port)) != 0
        if free:
            return base
    raise RuntimeError("no four free ports")


async def test_a_district_day_ends_with_every_school_collecting_and_every_figure_consistent(infra_endpoints):
    cfg = DemoConfig(prefix=f"e2e{uuid.uuid4().hex[:6]}", port_base=_free_base(), rate=200.0, wait=False)
    try:
        view = await run(cfg)
        assert {s["school_id"] for s in view["schools"]} == {s.school_id for s in district.SCHOOLS}
        for school in view["schools"]:
            assert school["collected"] > 0 and 0 < school["collection_rate_pct"] <= 100, school
            assert 0 < school["cashless_share_pct"] <= 100
            # Roster counts reach the district: pupils imported without a personal ID are counted, not refused.
            plan = next(p for p in district.SCHOOLS if p.school_id == school["school_id"])
            every = district.MISSING_ID_EVERY.get(plan.school_id)
            missing = -(-plan.students // every) if every else 0
            assert (school["students_enrolled"], school["students_with_personal_id"]) == (
                plan.students,
                plan.students - missing,
            )
        # The district's own plan (85% of the amount cashless in this school year): the demo has schools on
        # both sides of it, each judged against its own target.
        assert view["totals"]["targets"]["cashless_amount"] == 85.0
        below = {s["school_id"] for s in view["schools"] if "cashless_amount" in s["below_target"]}
        assert below and below != {s["school_id"] for s in view["schools"]}, below
        assert "personal_id" in next(s for s in view["schools"] if s["school_id"] == "MN-BINH-MINH")["below_target"]
        dsn = lambda service: with_database(infra_endpoints.pg_dsn, cfg.database(service))  # noqa: E731
        recon = await asyncpg.connect(dsn("reconciliation"))
        receipts = await asyncpg.connect(dsn("receipts"))
        try:
            # The end-of-day statements repeated every bank credit: none was counted again.
            assert await recon.fetchval("SELECT sum(new_credits) FROM statements") == 0
            assert await recon.fetchval("SELECT count(*) FROM statements") == len(district.SCHOOLS)
            allocations = await recon.fetchval("SELECT count(*) FROM allocations WHERE reversed_at IS NULL")
            assert await receipts.fetchval("SELECT count(*) FROM receipts") == allocations
            for conn in (recon, receipts):
                assert await conn.fetchval("SELECT count(*) FROM dead_letters") == 0
            credits = await recon.fetchval("SELECT count(*) FROM credits")
            assert await recon.fetchval("SELECT count(*) FROM credits WHERE state = 'duplicate'") > 0
            assert credits > 900
        finally:
            await recon.close()
            await receipts.close()
    finally:
        await demo.forget(cfg, infra_endpoints.pg_dsn, infra_endpoints.kafka)


async def test_a_second_demo_run_starts_clean_and_every_school_checks_consistent(infra_endpoints):
    # The same prefix twice: a fresh district restarts its payment references, so the second run must not see
    # the first run's events (it once did: references collided and events went to dead letters). Before the
    # services stop, the reporting service recomputes each school from its events and compares with the
    # dashboard (hooked in where the demo reads the district's figures).
    cfg = DemoConfig(prefix=f"e2e{uuid.uuid4().hex[:6]}", port_base=_free_base(), rate=300.0, share=0.3, wait=False)
    checks: list[dict] = []
    dead: list[int] = []
    original = demo.district_figures

    async def figures_and_checks(urls, token):
        service = district.tokens(DEV_JWT_SECRET)["service"]
        async with httpx.AsyncClient(timeout=30) as http:
            for s in district.SCHOOLS:
                r = await http.get(
                    f"{urls.reporting}/api/schools/{s.school_id}/check", headers={"Authorization": f"Bearer {service}"}
                )
                checks.append(r.json())
        for service_name in SERVICES:
            conn = await asyncpg.connect(with_database(infra_endpoints.pg_dsn, cfg.database(service_name)))
            dead.append(await conn.fetchval("SELECT count(*) FROM dead_letters"))
            await conn.close()
        return await original(urls, token)

    try:
        await run(cfg)
        demo.district_figures = figures_and_checks
        await run(cfg)
    finally:
        demo.district_figures = original
        await demo.forget(cfg, infra_endpoints.pg_dsn, infra_endpoints.kafka)
    assert dead == [0, 0, 0, 0]
    assert len(checks) == len(district.SCHOOLS)
    assert all(c["consistent"] and c["events"] > 0 for c in checks), [c for c in checks if not c["consistent"]]
