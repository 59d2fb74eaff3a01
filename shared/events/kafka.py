"""aiokafka clients configured the one way the suite uses them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, NodeNotReadyError, RequestTimedOutError, TopicAlreadyExistsError

from shared.logging import get_logger

log = get_logger(__name__)


def make_producer(bootstrap: str, *, client_id: str) -> AIOKafkaProducer:
    # Idempotent producer: acks=all, retries without duplicates or reordering within a partition.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30000,
    )


def make_consumer(bootstrap: str, *topics: str, group_id: str, client_id: str) -> AIOKafkaConsumer:
    # Offsets are committed by hand, after the database transaction that applied the records.
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=500,
    )


async def ensure_topics(bootstrap: str, names: list[str], *, partitions: int = 6, timeout: float = 60.0) -> None:
    """Create the topics that do not exist yet (the broker does not auto-create)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tuition-admin")
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [n for n in names if n not in existing]
            if missing:
                try:
                    await admin.create_topics(
                        [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in missing]
                    )
                except TopicAlreadyExistsError:
                    pass
                log.info("kafka.topics.created", topics=missing, partitions=partitions)
            return
        except (KafkaConnectionError, NodeNotReadyError, RequestTimedOutError):
            # A broker that has just started answers before it knows itself (no broker in its metadata).
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


async def delete_topics(bootstrap: str, doomed: Callable[[str], bool]) -> list[str]:
    """Delete the topics whose name `doomed` accepts (a demo run's or a test's own); returns their names."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tuition-admin")
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if doomed(t)]
        if names:
            await admin.delete_topics(names)
            log.info("kafka.topics.deleted", count=len(names))
        return names
    finally:
        await admin.close()
