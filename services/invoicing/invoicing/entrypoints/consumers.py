"""Kafka consumers of the invoicing service: payments from reconciliation update balances."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC

import asyncpg

from invoicing.app import balances
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.events.topics import Topic
from shared.service import ConsumerSpec, ServiceRuntime
from tuition.receipts.v1.events_pb2 import ReceiptCancelled, ReceiptIssued


def _payment_handlers(rt: ServiceRuntime) -> Mapping[str, Handler]:
    async def matched(conn: asyncpg.Connection, event: Event) -> None:
        await balances.on_payment_matched(conn, rt.outbox, event)

    async def reversed_(conn: asyncpg.Connection, event: Event) -> None:
        await balances.on_payment_reversed(conn, rt.outbox, event)

    return {
        "tuition.reconciliation.v1.PaymentMatched": matched,
        "tuition.reconciliation.v1.PaymentReversed": reversed_,
    }


async def _receipt_issued(conn: asyncpg.Connection, event: Event) -> None:
    m = event.payload
    assert isinstance(m, ReceiptIssued)
    await conn.execute(
        "INSERT INTO invoice_receipts (receipt_id, invoice_id, number, url, issued_at) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (receipt_id) DO NOTHING",
        m.receipt_id,
        uuid.UUID(m.invoice_id),
        f"{m.series_code}-{m.number:07d}",
        m.url,
        m.issued_at.ToDatetime(tzinfo=UTC),
    )


async def _receipt_cancelled(conn: asyncpg.Connection, event: Event) -> None:
    # The parent page links only receipts in force; the cancelled one stays in the receipts service.
    m = event.payload
    assert isinstance(m, ReceiptCancelled)
    await conn.execute("DELETE FROM invoice_receipts WHERE receipt_id = $1", m.receipt_id)


def _receipt_handlers(_: ServiceRuntime) -> Mapping[str, Handler]:
    return {
        "tuition.receipts.v1.ReceiptIssued": _receipt_issued,
        "tuition.receipts.v1.ReceiptCancelled": _receipt_cancelled,
    }


CONSUMERS = [
    ConsumerSpec(name="balances", topics=[Topic.RECONCILIATION], handlers=_payment_handlers),
    ConsumerSpec(name="receipts", topics=[Topic.RECEIPTS], handlers=_receipt_handlers),
]
