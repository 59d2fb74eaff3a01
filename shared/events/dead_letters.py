"""Dead letters: events a consumer could not apply after its retries, kept whole (shared/events/consumer.py).

An operator lists them, reads one (its envelope and payload decoded), and replays it once the cause is fixed
(a deployment, a missing school). A replay applies the stored record through the same consumer's handlers and
inbox, in one transaction with marking it replayed: an event applied meanwhile is not applied twice, and a
replay that fails again leaves the letter waiting with its new error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord
from google.protobuf.json_format import MessageToDict

from shared.errors import Conflict, Invalid, NotFound
from shared.events.consumer import apply_batch
from shared.events.envelope import EnvelopeError, unwrap
from shared.events.handlers import Handlers


@dataclass(frozen=True)
class DeadLetter:
    id: int
    consumer: str
    topic: str
    partition: int
    offset: int
    event_id: str | None
    error: str
    created_at: datetime
    replayed_at: datetime | None
    payload: bytes

    @classmethod
    def of(cls, row: asyncpg.Record) -> DeadLetter:
        return cls(
            id=row["id"],
            consumer=row["consumer"],
            topic=row["topic"],
            partition=row["kafka_partition"],
            offset=row["kafka_offset"],
            event_id=row["event_id"],
            error=row["error"],
            created_at=row["created_at"],
            replayed_at=row["replayed_at"],
            payload=bytes(row["payload"]),
        )

    def decoded(self) -> dict[str, Any]:
        """The envelope and its payload as JSON, or what makes the record unreadable."""
        try:
            event = unwrap(self.payload)
        except EnvelopeError as exc:
            return {"readable": False, "problem": str(exc), "size": len(self.payload)}
        env = event.envelope
        return {
            "readable": True,
            "event_type": env.event_type,
            "producer": env.producer,
            "school_id": env.school_id,
            "aggregate_id": env.aggregate_id,
            "correlation_id": env.correlation_id,
            "occurred_at": env.occurred_at.ToDatetime().isoformat() + "Z",
            "payload": MessageToDict(event.payload) if event.payload is not None else None,
        }


async def listed(
    db: asyncpg.Pool | asyncpg.Connection, *, consumer: str | None, replayed: bool, limit: int
) -> list[DeadLetter]:
    rows = await db.fetch(
        "SELECT id, consumer, topic, kafka_partition, kafka_offset, event_id, error, created_at, replayed_at, "
        "payload FROM dead_letters WHERE ($1::text IS NULL OR consumer = $1) AND (replayed_at IS NOT NULL) = $2 "
        "ORDER BY id LIMIT $3",
        consumer,
        replayed,
        limit,
    )
    return [DeadLetter.of(r) for r in rows]


_ONE = (
    "SELECT id, consumer, topic, kafka_partition, kafka_offset, event_id, error, created_at, replayed_at, payload "
    "FROM dead_letters WHERE id = $1"
)


async def one(db: asyncpg.Pool | asyncpg.Connection, letter_id: int, *, lock: bool = False) -> DeadLetter:
    """One letter; `lock` holds its row for the caller's transaction (a replay)."""
    row = await db.fetchrow(_ONE + (" FOR UPDATE" if lock else ""), letter_id)
    if row is None:
        raise NotFound(f"no dead letter {letter_id}")
    return DeadLetter.of(row)


async def replay(pool: asyncpg.Pool, letter_id: int, handlers_of: dict[str, Handlers]) -> tuple[DeadLetter, bool]:
    """Apply the letter's event through its consumer's handlers. Returns the letter, now replayed, and whether
    the event was new to the consumer (False: it was applied meanwhile, by a redelivery or an earlier replay).
    A failure raises `Conflict` naming the error, which is kept on the letter."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            letter = await one(conn, letter_id, lock=True)
            if letter.replayed_at is not None:
                raise Conflict(f"dead letter {letter_id} was replayed at {letter.replayed_at.isoformat()}")
            handlers = handlers_of.get(letter.consumer)
            if handlers is None:
                raise Conflict(f"dead letter {letter_id} is of consumer {letter.consumer}, not one of this service")
            try:
                event = unwrap(letter.payload)
            except EnvelopeError as exc:
                raise Invalid(f"dead letter {letter_id} cannot be replayed: {exc}") from exc
            record: ConsumerRecord[Any, Any] = ConsumerRecord(
                letter.topic, letter.partition, letter.offset, 0, 0, None, letter.payload, None, 0, 0, ()
            )
            try:
                async with conn.transaction():  # a savepoint: a failing handler leaves nothing behind
                    [new] = await apply_batch(conn, letter.consumer, [(record, event)], handlers)
            except Exception as exc:
                failed: str | None = f"{type(exc).__name__}: {exc}"
                await conn.execute("UPDATE dead_letters SET error = $2 WHERE id = $1", letter_id, failed)
            else:
                failed = None
                await conn.execute("UPDATE dead_letters SET replayed_at = now() WHERE id = $1", letter_id)
        if failed is not None:
            raise Conflict(f"dead letter {letter_id} failed again: {failed}")
        return await one(conn, letter_id), new
