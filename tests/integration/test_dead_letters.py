"""Dead letters on the real servers: an event a consumer could not apply is listed, read back decoded, and
replayed through the same consumer once its cause is fixed, exactly once; also from the `tuition` CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest

from devinfra.testing import free_port, serving, wait_until
from shared.auth import mint_token
from shared.events.envelope import Event, wrap
from shared.events.handlers import Handlers
from shared.events.kafka import make_producer
from shared.events.topics import Topic, topic_name
from shared.service import ConsumerSpec, ServiceSpec, build_app
from shared.settings import DEV_JWT_SECRET, ServiceSettings
from suite import cli
from tuition.invoicing.v1.events_pb2 import SchoolRegistered

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parent / "dead_letter_migrations"


def _handlers(_rt: object) -> Handlers:
    handlers = Handlers()

    @handlers.on(SchoolRegistered)
    async def book(conn: asyncpg.Connection, msg: SchoolRegistered, _: Event) -> None:
        if await conn.fetchval("SELECT 1 FROM outage WHERE school_id = $1", msg.school_id):
            raise RuntimeError(f"school {msg.school_id} is in an outage")
        await conn.execute(
            "INSERT INTO book VALUES ($1, $2) ON CONFLICT (school_id) DO UPDATE SET times = book.times + 1",
            msg.school_id,
            msg.name,
        )

    return handlers


SPEC = ServiceSpec(name="ledger", migrations=MIGRATIONS, consumers=[ConsumerSpec("book", [Topic.INVOICING], _handlers)])


def _ledger(dsn: str, infra, topic_prefix: str, **settings: object):
    """The small service of this test on its own database (`settings` override)."""
    values = ServiceSettings(
        database=dsn.rsplit("/", 1)[1],
        pg_dsn=infra.pg_dsn,
        kafka_bootstrap_servers=infra.kafka,
        topic_prefix=topic_prefix,
        **settings,
    )
    return build_app(SPEC, values, title="ledger")


async def _publish(kafka: str, prefix: str, *schools: str) -> None:
    producer = make_producer(kafka, client_id="dead-letter-test")
    await producer.start()
    try:
        for school in schools:
            env = wrap(SchoolRegistered(school_id=school, name=f"Trường {school}"), producer="t", aggregate_id=school)
            await producer.send_and_wait(topic_name(Topic.INVOICING, prefix), env.SerializeToString(), key=b"k")
    finally:
        await producer.stop()


async def test_a_dead_letter_is_listed_read_and_replayed_once_its_cause_is_fixed(
    make_database, infra_endpoints, topic_prefix, monkeypatch
):
    monkeypatch.setattr("shared.events.consumer.RETRIES", 1)
    dsn = await make_database(MIGRATIONS)
    app = _ledger(dsn, infra_endpoints, topic_prefix, topic_partitions=3, log_level="WARNING")
    db = await asyncpg.connect(dsn)
    try:
        await db.execute("INSERT INTO outage VALUES ('S2')")
        async with serving(app, free_port()) as base:
            await _publish(infra_endpoints.kafka, topic_prefix, "S1", "S2", "S3")

            async def settled() -> bool:
                return (
                    await db.fetchval("SELECT (SELECT count(*) FROM book) + (SELECT count(*) FROM dead_letters)") == 3
                )

            await wait_until(settled, what="two schools booked and one dead letter")

            async def tuition(*argv: str) -> tuple[int, object]:
                return await asyncio.to_thread(_run_cli, *argv, "--url", base)

            code, listed = await tuition("dead-letters", "list")
            assert code == 0 and isinstance(listed, list) and len(listed) == 1
            letter = listed[0]
            assert letter["consumer"] == "ledger.book" and "school S2 is in an outage" in letter["error"]
            assert letter["replayed_at"] is None

            code, shown = await tuition("dead-letters", "show", str(letter["id"]))
            assert code == 0 and isinstance(shown, dict)
            assert shown["event"]["event_type"] == "tuition.invoicing.v1.SchoolRegistered"
            assert shown["event"]["payload"]["schoolId"] == "S2" and shown["event"]["school_id"] == ""

            # Replayed before the cause is fixed: refused, nothing applied, the letter still waits.
            code, _ = await tuition("dead-letters", "replay", str(letter["id"]))
            assert code == 1
            assert await db.fetchval("SELECT count(*) FROM book WHERE school_id = 'S2'") == 0
            assert await db.fetchval("SELECT replayed_at FROM dead_letters") is None

            await db.execute("DELETE FROM outage")
            code, replayed = await tuition("dead-letters", "replay", str(letter["id"]))
            assert code == 0 and isinstance(replayed, dict) and replayed["applied"] is True
            assert replayed["letter"]["replayed_at"] is not None
            assert await db.fetchval("SELECT times FROM book WHERE school_id = 'S2'") == 1
            assert await db.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'ledger.book'") == 3

            # At most once: a second replay is refused and applies nothing.
            code, _ = await tuition("dead-letters", "replay", str(letter["id"]))
            assert code == 1
            assert await db.fetchval("SELECT times FROM book WHERE school_id = 'S2'") == 1
            code, waiting = await tuition("dead-letters", "list")
            assert code == 0 and waiting == []
            code, done = await tuition("dead-letters", "list", "--replayed")
            assert code == 0 and [d["id"] for d in done] == [letter["id"]]  # type: ignore[union-attr]
    finally:
        await db.close()


def _run_cli(*argv: str) -> tuple[int, object]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(list(argv))
    text = out.getvalue()
    return code, json.loads(text) if text.strip() else None


async def test_only_an_operator_may_see_or_replay_dead_letters(make_database, infra_endpoints, topic_prefix):
    import httpx

    app = _ledger(await make_database(MIGRATIONS), infra_endpoints, topic_prefix, run_workers=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ledger") as client:
            accountant = mint_token(DEV_JWT_SECRET, role="accountant", school="S1")
            service = mint_token(DEV_JWT_SECRET, role="service", subject="ops")
            assert (await client.get("/ops/dead-letters")).status_code == 401
            r = await client.get("/ops/dead-letters", headers={"Authorization": f"Bearer {accountant}"})
            assert r.status_code == 403
            r = await client.post("/ops/dead-letters/7/replay", headers={"Authorization": f"Bearer {service}"})
            assert r.status_code == 404 and r.json()["detail"] == "no dead letter 7"
