"""Outbox → Kafka → inbox on the real servers: applied once, whatever crashes or repeats."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import OutOfOrderSequenceNumber

from devinfra.testing import wait_until
from shared.db import create_pool
from shared.events.consumer import EventConsumer
from shared.events.envelope import Event, wrap
from shared.events.handlers import Handlers
from shared.events.kafka import make_producer
from shared.events.outbox import Outbox, OutsideTransactionError
from shared.events.relay import OutboxRelay
from shared.events.topics import Topic, topic_name
from tuition.invoicing.v1.events_pb2 import SchoolRegistered

pytestmark = pytest.mark.integration

EVENT = "tuition.invoicing.v1.SchoolRegistered"

PROJECTION = """
CREATE TABLE applied (
    aggregate_id text NOT NULL,
    seq          int  NOT NULL,
    PRIMARY KEY (aggregate_id, seq)
);
CREATE TABLE counters (aggregate_id text PRIMARY KEY, times int NOT NULL, last_seq int NOT NULL,
                       out_of_order int NOT NULL DEFAULT 0);
"""


async def _apply(conn: asyncpg.Connection, msg: SchoolRegistered, _: Event) -> None:
    # Deliberately not idempotent on its own (a counter): only the inbox stops a double count.
    seq = int(msg.name)
    await conn.execute("INSERT INTO applied VALUES ($1, $2)", msg.school_id, seq)
    await conn.execute(
        "INSERT INTO counters VALUES ($1, 1, $2) ON CONFLICT (aggregate_id) DO UPDATE SET "
        "times = counters.times + 1, out_of_order = counters.out_of_order + (counters.last_seq > $2)::int, "
        "last_seq = $2",
        msg.school_id,
        seq,
    )


async def _consumer_db(make_database) -> asyncpg.Pool:
    pool = await create_pool(await make_database(None), min_size=1, max_size=8)
    await pool.execute(PROJECTION)
    return pool


def _handlers() -> Handlers:
    handlers = Handlers()
    handlers.register(SchoolRegistered, _apply)
    return handlers


def _consumer(pool: asyncpg.Pool, bootstrap: str, prefix: str) -> EventConsumer:
    return EventConsumer(
        name="test.projection",
        pool=pool,
        bootstrap=bootstrap,
        group_id=f"{prefix}projection",
        topics=[topic_name(Topic.INVOICING, prefix)],
        handlers=_handlers(),
    )


async def _write_events(pool: asyncpg.Pool, outbox: Outbox, n: int, keys: int) -> None:
    # Events of one aggregate carry increasing sequence numbers, so the test can see their order.
    items = [
        (SchoolRegistered(school_id=f"S{i % keys}", name=str(i)), f"S{i % keys}", f"S{i % keys}") for i in range(n)
    ]
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add_many(conn, Topic.INVOICING, items)


async def _start(coro_fn, stop: asyncio.Event) -> asyncio.Task:
    return asyncio.create_task(coro_fn(stop))


async def test_a_state_change_travels_outbox_to_kafka_to_inbox_and_is_applied_once(
    shared_db, make_database, infra_endpoints, topic_prefix
):
    outbox = Outbox(producer="invoicing", topic_prefix=topic_prefix)
    await shared_db.execute("CREATE TABLE schools_src (school_id text PRIMARY KEY)")
    for i in range(20):
        async with shared_db.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO schools_src VALUES ($1)", f"S{i}")
            await outbox.add(
                conn,
                Topic.INVOICING,
                SchoolRegistered(school_id=f"S{i}", name=str(i)),
                aggregate_id=f"S{i}",
                school_id=f"S{i}",
            )
    sink = await _consumer_db(make_database)
    producer = make_producer(infra_endpoints.kafka, client_id="test-relay")
    await producer.start()
    stop = asyncio.Event()
    consumer = _consumer(sink, infra_endpoints.kafka, topic_prefix)
    tasks = [await _start(OutboxRelay(shared_db, producer).run, stop), await _start(consumer.run, stop)]
    try:
        await wait_until(lambda: _count(sink, "SELECT count(*) FROM applied", 20), what="20 events applied")
        assert await sink.fetchval("SELECT count(*) FROM counters WHERE times <> 1") == 0
        assert await shared_db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
        inbox = await sink.fetch("SELECT event_id, event_type FROM inbox")
        assert len(inbox) == 20 and {r["event_type"] for r in inbox} == {EVENT}
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await producer.stop()
        await sink.close()


async def test_an_event_can_only_be_written_inside_a_transaction(shared_db):
    async with shared_db.acquire() as conn:
        with pytest.raises(OutsideTransactionError):
            await Outbox(producer="x").add(conn, Topic.INVOICING, SchoolRegistered(), aggregate_id="S")
    assert await shared_db.fetchval("SELECT count(*) FROM outbox") == 0


async def _count(pool: asyncpg.Pool, sql: str, expected: int) -> bool:
    return await pool.fetchval(sql) >= expected


def _relay_process(server_dsn: str, kafka: str, database: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PG_DSN": server_dsn, "KAFKA_BOOTSTRAP_SERVERS": kafka, "TUITION_LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [sys.executable, "-m", "suite.cli", "outbox", "relay", "--database", database, "--batch-size", "500"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_a_relay_killed_mid_batch_loses_nothing_and_nothing_is_applied_twice(
    shared_db, make_database, infra_endpoints, topic_prefix
):
    n, keys = 3000, 40
    outbox = Outbox(producer="invoicing", topic_prefix=topic_prefix)
    await _write_events(shared_db, outbox, n, keys)
    # Hold the relay between Kafka's ack and the UPDATE that marks its batch published: the window where a
    # crash makes it publish the same events again after restart.
    await shared_db.execute("""
        CREATE FUNCTION slow_mark() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$;
        CREATE TRIGGER slow_mark BEFORE UPDATE ON outbox FOR EACH STATEMENT EXECUTE FUNCTION slow_mark();
    """)
    sink = await _consumer_db(make_database)
    consumer = _consumer(sink, infra_endpoints.kafka, topic_prefix)
    stop = asyncio.Event()
    consumer_task = await _start(consumer.run, stop)
    database = await shared_db.fetchval("SELECT current_database()")
    server = infra_endpoints.pg_dsn
    relay = _relay_process(server, infra_endpoints.kafka, database)
    try:
        # The first batch of 500 is in Kafka and being applied; the relay sits in the slow UPDATE.
        await wait_until(
            lambda: _count(sink, "SELECT count(*) FROM applied", 1), timeout=60, what="first events from the relay"
        )
        relay.send_signal(signal.SIGKILL)
        relay.wait()
        assert await shared_db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL") == 0
        await shared_db.execute("DROP TRIGGER slow_mark ON outbox")  # waits for the orphaned transaction

        relay = _relay_process(server, infra_endpoints.kafka, database)
        await wait_until(
            lambda: _count(sink, "SELECT count(*) FROM applied", n),
            timeout=90,
            what=f"all {n} events applied after restart",
        )
        await wait_until(
            lambda: _count(shared_db, "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", n),
            what="every outbox row marked published",
        )
        await asyncio.sleep(1.0)  # let any late duplicates arrive before counting
        assert await sink.fetchval("SELECT count(*) FROM applied") == n
        assert await sink.fetchval("SELECT sum(times) FROM counters") == n
        assert await sink.fetchval("SELECT sum(out_of_order) FROM counters") == 0, "per-key order broken"
        # The killed batch really was delivered twice, and the inbox absorbed the second copy.
        assert consumer.duplicates >= 1
        assert consumer.applied == n
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(timeout=30)
        stop.set()
        await consumer_task
        await sink.close()


async def test_the_same_event_published_three_times_is_applied_once(make_database, infra_endpoints, topic_prefix):
    sink = await _consumer_db(make_database)
    env = wrap(SchoolRegistered(school_id="S7", name="1"), producer="invoicing", aggregate_id="S7")
    producer = AIOKafkaProducer(bootstrap_servers=infra_endpoints.kafka)
    await producer.start()
    for _ in range(3):
        await producer.send_and_wait(topic_name(Topic.INVOICING, topic_prefix), env.SerializeToString(), key=b"S7")
    # A different event of the same aggregate after the repeats: proves the consumer got past them.
    later = wrap(SchoolRegistered(school_id="S7", name="2"), producer="invoicing", aggregate_id="S7")
    await producer.send_and_wait(topic_name(Topic.INVOICING, topic_prefix), later.SerializeToString(), key=b"S7")
    await producer.stop()
    stop = asyncio.Event()
    consumer = _consumer(sink, infra_endpoints.kafka, topic_prefix)
    task = await _start(consumer.run, stop)
    try:
        await wait_until(lambda: _count(sink, "SELECT count(*) FROM applied", 2), what="both events applied")
        await asyncio.sleep(0.5)
        assert await sink.fetchval("SELECT times FROM counters WHERE aggregate_id = 'S7'") == 2
        assert (consumer.applied, consumer.duplicates) == (2, 2)
    finally:
        stop.set()
        await task
        await sink.close()


async def test_a_record_that_is_not_an_event_goes_to_dead_letters_and_the_rest_flows(
    make_database, infra_endpoints, topic_prefix
):
    sink = await _consumer_db(make_database)
    producer = AIOKafkaProducer(bootstrap_servers=infra_endpoints.kafka)
    await producer.start()
    topic = topic_name(Topic.INVOICING, topic_prefix)
    await producer.send_and_wait(topic, b"\x0a\x03bad", key=b"S1")
    good = wrap(SchoolRegistered(school_id="S1", name="1"), producer="invoicing", aggregate_id="S1")
    await producer.send_and_wait(topic, good.SerializeToString(), key=b"S1")
    await producer.stop()
    stop = asyncio.Event()
    consumer = _consumer(sink, infra_endpoints.kafka, topic_prefix)
    task = await _start(consumer.run, stop)
    try:
        await wait_until(lambda: _count(sink, "SELECT count(*) FROM applied", 1), what="the good event applied")
        dead = await sink.fetch("SELECT consumer, error, payload FROM dead_letters")
        assert len(dead) == 1 and dead[0]["payload"] == b"\x0a\x03bad" and "event_id" in dead[0]["error"]
    finally:
        stop.set()
        await task
        await sink.close()


class _RefusedAfterBrokerRestart(AIOKafkaProducer):
    """A real producer in the state a broker restart can leave it in: every send refused as out of sequence."""

    async def send(self, *args: object, **kwargs: object) -> asyncio.Future[object]:
        raise OutOfOrderSequenceNumber()


async def test_the_relay_replaces_a_producer_the_broker_no_longer_accepts(shared_db, infra_endpoints, topic_prefix):
    outbox = Outbox(producer="invoicing", topic_prefix=topic_prefix)
    async with shared_db.acquire() as conn, conn.transaction():
        await outbox.add(conn, Topic.INVOICING, SchoolRegistered(school_id="R1", name="1"), aggregate_id="R1")
    refused = _RefusedAfterBrokerRestart(bootstrap_servers=infra_endpoints.kafka)
    await refused.start()
    relay = OutboxRelay(
        shared_db,
        refused,
        new_producer=lambda: make_producer(infra_endpoints.kafka, client_id="test-renewed-relay"),
        poll_interval=0.1,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await wait_until(
            lambda: _count(shared_db, "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", 1),
            what="the event published by a new producer",
        )
        assert relay.producer is not refused
    finally:
        stop.set()
        await task
        await relay.producer.stop()
        await refused.stop()


async def test_records_arriving_one_by_one_within_the_window_share_one_transaction_and_commit(
    make_database, infra_endpoints, topic_prefix
):
    """At a district's usual pace events arrive tens of milliseconds apart, on different partitions: within
    the batch window they are applied together (one transaction, one offset commit for every partition)."""
    sink = await _consumer_db(make_database)
    batches: list[list[str]] = []
    handlers = Handlers()

    @handlers.on_many(SchoolRegistered)
    async def many(conn: asyncpg.Connection, batch: list[tuple[SchoolRegistered, Event]]) -> None:
        batches.append([m.school_id for m, _ in batch])
        for m, event in batch:
            await _apply(conn, m, event)

    group = f"{topic_prefix}window"
    topic = topic_name(Topic.INVOICING, topic_prefix)
    consumer = EventConsumer(
        name="test.window",
        pool=sink,
        bootstrap=infra_endpoints.kafka,
        group_id=group,
        topics=[topic],
        handlers=handlers,
        window_s=3.0,
    )
    stop = asyncio.Event()
    task = await _start(consumer.run, stop)
    producer = AIOKafkaProducer(bootstrap_servers=infra_endpoints.kafka)
    await producer.start()
    try:
        await asyncio.wait_for(consumer.ready.wait(), 30)
        await asyncio.sleep(0.5)  # the first fetch is out: the records below arrive while it waits
        schools = [f"S{i}" for i in range(6)]
        partitions = set()
        for school in schools:
            env = wrap(SchoolRegistered(school_id=school, name="1"), producer="invoicing", aggregate_id=school)
            sent = await producer.send_and_wait(topic, env.SerializeToString(), key=school.encode())
            partitions.add(sent.partition)
            await asyncio.sleep(0.05)
        await wait_until(lambda: _count(sink, "SELECT count(*) FROM applied", 6), what="six events applied")
        assert len(partitions) > 1, "the keys fell on one partition: the test would not show the merge"
        assert [sorted(b) for b in batches] == [schools], batches
        admin = AIOKafkaAdminClient(bootstrap_servers=infra_endpoints.kafka)
        await admin.start()
        committed: dict = {}

        async def all_committed() -> bool:
            committed.update(await admin.list_consumer_group_offsets(group))
            return sum(o.offset for o in committed.values()) == 6

        try:
            # Committed once the records stop coming (the next poll finds none), at most a second later.
            await wait_until(all_committed, what="the six offsets committed", timeout=10)
        finally:
            await admin.close()
        assert {tp.partition for tp in committed} >= partitions
    finally:
        stop.set()
        await task
        await producer.stop()
        await sink.close()
