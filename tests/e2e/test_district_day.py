"""Across all four services, as processes, over HTTP and Kafka: the demo's district and a day of payments."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from shared.db import with_database
from shared.events.topics import Topic
from shared.settings import DEV_JWT_SECRET
from simulator import chaos, demo, district, restore_drill
from simulator.demo import SERVICES, DemoConfig, run

pytestmark = pytest.mark.integration


def _free_base() -> int:
    for _ in range(50):
        # Below Linux's ephemeral range (32768-60999): a port in it can be taken by an outgoing connection
        # (the services' own, to PostgreSQL and Kafka) between this check and the server's bind.
        base = 20000 + uuid.uuid4().int % 12000
        free = True
        for port in (*range(base + 1, base + 8), base + 25):  # the services, the messaging stand-ins
            with socket.socket() as s:
                free &= s.connect_ex(("127.0.0.1", port)) != 0
        if free:
            return base
    raise RuntimeError("no free ports for a demo")


async def _records(kafka: str, prefix: str, topic: Topic) -> list[bytes]:
    """Every record's value on the demo run's topic (its name starts with the run's prefix)."""
    lister = AIOKafkaConsumer(bootstrap_servers=kafka)
    await lister.start()
    try:
        (name,) = [t for t in await lister.topics() if t.startswith(f"{prefix}-") and t.endswith(topic)]
    finally:
        await lister.stop()
    # No group: the consumer takes every partition, from the beginning.
    consumer = AIOKafkaConsumer(name, bootstrap_servers=kafka, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        values: list[bytes] = []
        while not consumer.assignment():
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                values.extend(r.value for r in batch if r.value is not None)
        parts = sorted(consumer.assignment())
        ends = await consumer.end_offsets(parts)
        while [p for p in parts if await consumer.position(p) < ends[p]]:
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                values.extend(r.value for r in batch if r.value is not None)
        return values
    finally:
        await consumer.stop()


async def test_a_district_day_ends_consistent_is_restored_from_its_backup_and_a_second_run_starts_clean(
    infra_endpoints, tmp_path
):
    """The demo's district, a whole day of payments, backed up while it runs and restored into a fresh server
    (the restore drill); then the demo again under the same name (one test, so that make test starts the
    district twice, not three times)."""
    cfg = DemoConfig(prefix=f"e2e{uuid.uuid4().hex[:6]}", port_base=_free_base(), rate=200.0, wait=False)
    try:
        view, made = await _run_and_back_up(cfg, infra_endpoints, tmp_path)
        await _the_day_is_whole(cfg, view, infra_endpoints)
        await _the_backup_restores_into_a_fresh_server_and_the_books_hold(cfg, made, infra_endpoints)
        await _a_second_run_starts_clean(dataclasses.replace(cfg, rate=300.0, share=0.3), infra_endpoints)
    finally:
        await demo.forget(cfg, infra_endpoints.pg_dsn, infra_endpoints.kafka)


async def _run_and_back_up(cfg: DemoConfig, infra_endpoints, tmp_path) -> tuple[dict, Path]:
    """The day, with the databases backed up by deploy/backup/pg-backup.sh while the services still run (once
    the day has settled: where the demo reads the district's figures)."""
    made: list[Path] = []
    original = demo.district_figures

    async def back_up_then_figures(urls, token):
        made.append(await restore_drill.backup(cfg, infra_endpoints.pg_dsn, tmp_path))
        return await original(urls, token)

    try:
        demo.district_figures = back_up_then_figures
        view = await run(cfg)
    finally:
        demo.district_figures = original
    return view, made[0]


async def _the_backup_restores_into_a_fresh_server_and_the_books_hold(cfg: DemoConfig, made: Path, infra_endpoints):
    dumps = await asyncio.to_thread(lambda: sorted(p.name for p in made.glob("*.dump")))
    assert dumps == sorted(f"{cfg.database(s)}.dump" for s in SERVICES)
    report = await restore_drill.drill(cfg, infra_endpoints.pg_dsn, infra_endpoints.kafka, made, _free_base())
    print("\n".join(f"  {k}: {v}" for k, v in report.items()))
    original, restored = report["ledger original / restored"]
    assert original == restored and original["reconciliation"][0] > 900, report
    assert report["paid after the restore"] > 0
    assert chaos.check(report) == [], report


async def _the_day_is_whole(cfg: DemoConfig, view: dict, infra_endpoints) -> None:
    """Every school collecting, against its own targets; no credit counted twice; names only sealed."""
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
        # Names travel only sealed (issue 28 §6): every invoice's names were opened with its pupil's key,
        # and no pupil's, guardian's or payer's name is on the invoices' or the payments' topic in clear.
        sealed = "SELECT count(*) FROM invoices WHERE sealed_names IS NOT NULL OR student_name = ''"
        assert await recon.fetchval(sealed) == 0 and await receipts.fetchval(sealed) == 0
        assert await receipts.fetchval("SELECT count(*) FROM invoices WHERE guardian_name <> ''") > 0
        invoicing = await asyncpg.connect(dsn("invoicing"))
        try:
            people = await invoicing.fetch("SELECT full_name, guardian_name FROM students")
        finally:
            await invoicing.close()
        payers = await recon.fetch("SELECT DISTINCT payer_name FROM credits WHERE payer_name <> ''")
        names = {n.encode() for p in people for n in p if n} | {p["payer_name"].encode() for p in payers}
        assert len(names) > 100 and len(payers) > 10
        for topic in (Topic.INVOICING, Topic.RECONCILIATION):
            records = await _records(infra_endpoints.kafka, cfg.prefix, topic)
            assert len(records) > 900
            assert not [n for n in names if any(n in r for r in records)][:3]
    finally:
        await recon.close()
        await receipts.close()


async def _a_second_run_starts_clean(cfg: DemoConfig, infra_endpoints) -> None:
    # The same prefix twice: a fresh district restarts its payment references, so the second run must not see
    # the first run's events (it once did: references collided and events went to dead letters). Before the
    # services stop, the reporting service recomputes each school from its events and compares with the
    # dashboard (hooked in where the demo reads the district's figures).
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
        demo.district_figures = figures_and_checks
        await run(cfg)
    finally:
        demo.district_figures = original
    assert dead == [0, 0, 0, 0]
    assert len(checks) == len(district.SCHOOLS)
    assert all(c["consistent"] and c["events"] > 0 for c in checks), [c for c in checks if not c["consistent"]]
