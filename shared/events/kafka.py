"""aiokafka clients configured the one way the suite uses them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    KafkaConnectionError,
    NodeNotReadyError,
    RequestTimedOutError,
    TopicAlreadyExistsError,
    for_code,
)
from aiokafka.helpers import create_ssl_context

from shared.events.topics import CONFIGS
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class KafkaConnection:
    """Where the brokers are and how to reach them: plaintext (the local broker), TLS, or SASL over TLS (a
    managed Kafka, Strimzi with SCRAM users)."""

    bootstrap: str
    security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    sasl_mechanism: str = "SCRAM-SHA-512"  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    username: str = ""
    password: str = ""
    ca_file: str | None = None  # the brokers' CA (PEM); None: the system's trust store

    def client_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"bootstrap_servers": self.bootstrap, "security_protocol": self.security_protocol}
        if self.security_protocol in ("SSL", "SASL_SSL"):
            args["ssl_context"] = create_ssl_context(cafile=self.ca_file)
        if self.security_protocol.startswith("SASL"):
            args |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        return args


Brokers = str | KafkaConnection


def _args(brokers: Brokers) -> dict[str, Any]:
    return (brokers if isinstance(brokers, KafkaConnection) else KafkaConnection(brokers)).client_args()


@dataclass(frozen=True)
class TopicPolicy:
    """How the suite's topics are created. The topics are the record every projection is rebuilt from, so by
    default they keep every event (retention -1); a cluster of three brokers takes replication 3, min ISR 2."""

    partitions: int = 6
    replication: int = 1
    min_insync_replicas: int = 1
    retention_ms: int = -1

    def configs(self, name: str = "") -> dict[str, str]:
        """A topic's settings: the policy's, and what the suite's topic of that name sets beyond it
        (shared/events/topics.py CONFIGS; the name may carry a prefix)."""
        own = next((c for t, c in CONFIGS.items() if name.endswith(str(t))), {})
        return {"min.insync.replicas": str(self.min_insync_replicas), "retention.ms": str(self.retention_ms)} | own


def _raise_refusals(response: Any) -> None:
    """The broker answers topic creation per topic; aiokafka returns the answer without raising. A topic the
    cluster refused (a replication it cannot give, a bad setting) must stop the service, not go unnoticed."""
    for topic, code, *message in response.topic_errors:
        error = for_code(code)
        if code and error is not TopicAlreadyExistsError:
            raise error(f"topic {topic} was not created: {message[0] if message and message[0] else error.message}")


def make_producer(bootstrap: Brokers, *, client_id: str) -> AIOKafkaProducer:
    # Idempotent producer: acks=all, retries without duplicates or reordering within a partition.
    return AIOKafkaProducer(
        **_args(bootstrap),
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30000,
    )


def make_consumer(bootstrap: Brokers, *topics: str, group_id: str, client_id: str) -> AIOKafkaConsumer:
    # Offsets are committed by hand, after the database transaction that applied the records.
    return AIOKafkaConsumer(
        *topics,
        **_args(bootstrap),
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=500,
    )


async def ensure_topics(bootstrap: Brokers, names: list[str], policy: TopicPolicy, *, timeout: float = 60.0) -> None:
    """Create the topics that do not exist yet (the broker does not auto-create), by `policy`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(**_args(bootstrap), client_id="tuition-admin")
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [n for n in names if n not in existing]
            if missing:
                try:
                    response = await admin.create_topics(
                        [
                            NewTopic(
                                n,
                                num_partitions=policy.partitions,
                                replication_factor=policy.replication,
                                topic_configs=policy.configs(n),
                            )
                            for n in missing
                        ]
                    )
                except TopicAlreadyExistsError:
                    pass
                else:
                    _raise_refusals(response)
                log.info("kafka.topics.created", topics=missing, partitions=policy.partitions)
            return
        except (KafkaConnectionError, NodeNotReadyError, RequestTimedOutError):
            # A broker that has just started answers before it knows itself (no broker in its metadata).
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


async def delete_topics(bootstrap: Brokers, doomed: Callable[[str], bool], *, wait: bool = False) -> list[str]:
    """Delete the topics whose name `doomed` accepts (a demo run's or a test's own); returns their names.
    `wait`: until no client sees them any more (a run about to make the same names, a check right after)."""
    admin = AIOKafkaAdminClient(**_args(bootstrap), client_id="tuition-admin")
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if doomed(t)]
        if names:
            await admin.delete_topics(names)
            # The controller deletes them after answering: gone for every client only once the metadata says so.
            for _ in range(300 if wait else 0):  # 30 s at most
                if not set(names) & set(await admin.list_topics()):
                    break
                await asyncio.sleep(0.1)
            log.info("kafka.topics.deleted", count=len(names))
        return names
    finally:
        await admin.close()
