"""A demo run, a benchmark or a test leaves no topic behind on the shared broker (a broker left with every
run's partitions took longer to start than the suite waits for it, and every later run failed)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from devinfra.testing import SUITE_TOPIC
from shared.db import ensure_database, with_database
from shared.events.kafka import TopicPolicy, ensure_topics
from shared.events.topics import all_topics
from simulator import demo

pytestmark = pytest.mark.integration


async def _topics(kafka: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


async def test_forgetting_a_run_deletes_its_topics_and_databases_and_nobody_elses(infra_endpoints):
    mine = demo.DemoConfig(prefix=f"e2e{uuid.uuid4().hex[:6]}")
    other = demo.DemoConfig(prefix=f"{mine.prefix}x")  # starts like mine: must survive
    for cfg in (mine, other):
        await ensure_topics(infra_endpoints.kafka, all_topics(f"{cfg.prefix}-1."), TopicPolicy(partitions=1))
        await ensure_database(infra_endpoints.pg_dsn, cfg.database("receipts"))
    try:
        await demo.forget(mine, infra_endpoints.pg_dsn, infra_endpoints.kafka)
        topics = await _topics(infra_endpoints.kafka)
        assert [t for t in topics if t.startswith(f"{mine.prefix}-")] == []
        assert sorted(t for t in topics if t.startswith(other.prefix)) == sorted(all_topics(f"{other.prefix}-1."))
        conn = await asyncpg.connect(with_database(infra_endpoints.pg_dsn, "postgres"))
        try:
            names = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
        finally:
            await conn.close()
        assert mine.database("receipts") not in names and other.database("receipts") in names
    finally:
        await demo.forget(other, infra_endpoints.pg_dsn, infra_endpoints.kafka)


async def test_the_suites_topic_names_are_the_ones_swept_after_an_interrupted_run(topic_prefix):
    assert SUITE_TOPIC.match(all_topics(topic_prefix)[0])
    assert SUITE_TOPIC.match(f"{demo.DemoConfig(prefix='chaos0a1b2c').prefix}-1795470396.tuition.x")
    assert SUITE_TOPIC.match(f"e2e0a1b2c-1795470396.{all_topics('')[0]}")
    # What the suite never names so: a demo's, a benchmark's, a service's own topics.
    for name in ("demo-1795470396.tuition.x", "bench09d988-1795470486.tuition.x", all_topics("")[0], "tea.x"):
        assert not SUITE_TOPIC.match(name), name
