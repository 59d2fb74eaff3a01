"""Write events to the outbox inside the caller's transaction (never to Kafka directly)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from google.protobuf.message import Message

from shared.events.envelope import wrap, wrap_from, wrap_template
from shared.events.topics import Topic, topic_name
from shared.logging import current_correlation_id


class OutsideTransactionError(RuntimeError):
    """Events must be written in the same transaction as the state change they describe."""


@dataclass(frozen=True)
class Outbox:
    producer: str  # the service's name
    topic_prefix: str = ""

    async def add(
        self,
        conn: asyncpg.Connection,
        topic: Topic,
        message: Message,
        *,
        aggregate_id: str,
        school_id: str = "",
        event_id: uuid.UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> uuid.UUID:
        if not conn.is_in_transaction():
            raise OutsideTransactionError("Outbox.add needs an open transaction on the connection")
        env = wrap(
            message,
            producer=self.producer,
            aggregate_id=aggregate_id,
            school_id=school_id,
            correlation_id=current_correlation_id() or "",
            event_id=event_id,
            occurred_at=occurred_at,
        )
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, kafka_key, payload, event_type) VALUES ($1, $2, $3, $4, $5)",
            uuid.UUID(env.event_id),
            topic_name(topic, self.topic_prefix),
            aggregate_id.encode(),
            env.SerializeToString(),
            env.event_type,
        )
        return uuid.UUID(env.event_id)

    async def add_many(
        self,
        conn: asyncpg.Connection,
        topic: Topic,
        items: list[tuple[Message, str, str]],
        *,
        occurred_at: datetime | None = None,
    ) -> int:
        """Bulk form for large batches: items are (message, aggregate_id, school_id). Uses COPY."""
        if not conn.is_in_transaction():
            raise OutsideTransactionError("Outbox.add_many needs an open transaction on the connection")
        physical = topic_name(topic, self.topic_prefix)
        # The batch's events occur in one transaction: one time, producer and correlation id for all, set once
        # in a template envelope that each event copies.
        template = wrap_template(
            producer=self.producer, correlation_id=current_correlation_id() or "", occurred_at=occurred_at
        )
        records = []
        for message, aggregate_id, school_id in items:
            event_id = uuid.uuid4()
            env = wrap_from(template, message, aggregate_id=aggregate_id, school_id=school_id, event_id=event_id)
            records.append((event_id, physical, aggregate_id.encode(), env.SerializeToString(), env.event_type))
        await conn.copy_records_to_table(
            "outbox", records=records, columns=["event_id", "topic", "kafka_key", "payload", "event_type"]
        )
        return len(records)
