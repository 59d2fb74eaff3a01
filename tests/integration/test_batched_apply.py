"""A consumer's batch on the real database: one inbox query, runs of a type to its batch handler, in order."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from aiokafka.structs import ConsumerRecord

from shared.db import create_pool
from shared.events.consumer import apply_batch
from shared.events.envelope import Event, unwrap, wrap
from shared.events.handlers import Handlers
from tuition.invoicing.v1.events_pb2 import InvoiceAdjusted, InvoiceCancelled, PaymentGroupCreated, SchoolRegistered

pytestmark = pytest.mark.integration


def _item(msg: object, offset: int, event_id: uuid.UUID | None = None) -> tuple[ConsumerRecord, Event]:
    env = wrap(msg, producer="test", aggregate_id="a", school_id="S", event_id=event_id)  # type: ignore[arg-type]
    value = env.SerializeToString()
    record = ConsumerRecord("t", 0, offset, 0, 0, b"a", value, None, 1, len(value), ())
    return record, unwrap(value)


async def test_runs_of_a_batched_type_span_skipped_events_and_each_event_applies_once(make_database):
    pool: asyncpg.Pool = await create_pool(await make_database(None), min_size=1, max_size=2)
    calls: list[tuple[str, list[str]]] = []
    handlers = Handlers()
    handlers.skip(PaymentGroupCreated)

    @handlers.on_many(SchoolRegistered)
    async def schools(conn: asyncpg.Connection, batch: list[tuple[SchoolRegistered, Event]]) -> None:
        calls.append(("many", [m.school_id for m, _ in batch]))

    @handlers.on(InvoiceCancelled)
    async def cancelled(conn: asyncpg.Connection, m: InvoiceCancelled, _: Event) -> None:
        calls.append(("one", [m.invoice_id]))

    repeated = uuid.uuid4()
    items = [
        _item(SchoolRegistered(school_id="A"), 0, repeated),
        _item(PaymentGroupCreated(school_id="S"), 1),  # skipped: does not break the run of schools
        _item(InvoiceAdjusted(invoice_id="I0"), 2),  # unknown here (neither handled nor skipped): nor this
        _item(SchoolRegistered(school_id="B"), 3),
        _item(SchoolRegistered(school_id="A-again"), 4, repeated),  # the same event re-published in the batch
        _item(InvoiceCancelled(invoice_id="I1"), 5),
        _item(SchoolRegistered(school_id="C"), 6),
    ]
    try:
        async with pool.acquire() as conn, conn.transaction():
            new = await apply_batch(conn, "test.batched", items, handlers)
        assert new == [True, True, True, True, False, True, True]
        assert calls == [("many", ["A", "B"]), ("one", ["I1"]), ("many", ["C"])]
        inbox = await pool.fetch("SELECT kafka_offset, handled FROM inbox ORDER BY kafka_offset")
        # Not 1 (skipped on purpose); 2 kept, marked unhandled, so that an unknown type is visible.
        assert [(r["kafka_offset"], r["handled"]) for r in inbox] == [
            (0, True),
            (2, False),
            (3, True),
            (5, True),
            (6, True),
        ]

        calls.clear()  # the whole batch again (a redelivery after a crash): nothing applies twice
        async with pool.acquire() as conn, conn.transaction():
            again = await apply_batch(conn, "test.batched", items, handlers)
        assert again == [False, True, False, False, False, False, False]
        assert calls == []
    finally:
        await pool.close()
