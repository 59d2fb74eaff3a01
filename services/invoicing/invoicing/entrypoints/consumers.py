"""Kafka consumers of the invoicing service: payments update balances, receipts are linked to invoices."""

from __future__ import annotations

import asyncpg

from invoicing.app import balances, messages
from invoicing.entrypoints.wiring import message_wiring
from shared.events.envelope import Event
from shared.events.handlers import Handlers
from shared.events.topics import Topic
from shared.service import ConsumerSpec, ServiceRuntime
from tuition.invoicing.v1.events_pb2 import (
    InvoiceAdjusted,
    InvoiceBalanceChanged,
    InvoiceCancelled,
    InvoiceIssued,
    PaymentGroupCreated,
    RosterCounted,
    SchoolRegistered,
)
from tuition.receipts.v1.events_pb2 import ReceiptCancelled, ReceiptIssued, SeriesRunningLow
from tuition.reconciliation.v1.events_pb2 import (
    CreditActionTaken,
    CreditReceived,
    PaymentMatched,
    PaymentReversed,
    PaymentUnmatched,
    RefundRecorded,
)


def _payments(rt: ServiceRuntime) -> Handlers:
    handlers = Handlers()
    # Credits are reconciliation's concern (the queue's actions go to the district's audit in reporting).
    handlers.skip(CreditReceived, PaymentUnmatched, RefundRecorded, CreditActionTaken)

    @handlers.on_many(PaymentMatched)
    async def matched(conn: asyncpg.Connection, items: list[tuple[PaymentMatched, Event]]) -> None:
        await balances.on_payments_matched(conn, rt.outbox, [m for m, _ in items])

    @handlers.on(PaymentReversed)
    async def reversed_(conn: asyncpg.Connection, m: PaymentReversed, _: Event) -> None:
        await balances.on_payment_reversed(conn, rt.outbox, m)

    return handlers


def _receipts(_: ServiceRuntime) -> Handlers:
    handlers = Handlers()
    handlers.skip(SeriesRunningLow)  # the receipts service warns the accountant itself

    @handlers.on_many(ReceiptIssued)
    async def issued(conn: asyncpg.Connection, items: list[tuple[ReceiptIssued, Event]]) -> None:
        await balances.receipts_issued(conn, [m for m, _ in items])

    @handlers.on(ReceiptCancelled)
    async def cancelled(conn: asyncpg.Connection, m: ReceiptCancelled, _: Event) -> None:
        await balances.receipt_cancelled(conn, m)

    return handlers


def _messages(rt: ServiceRuntime) -> Handlers:
    """Parents are told: an invoice issued, a payment receipted (one message per event, in the inbox's
    transaction; app/messages.py sends them)."""
    handlers = Handlers()
    handlers.skip(
        SchoolRegistered, InvoiceAdjusted, InvoiceCancelled, InvoiceBalanceChanged, PaymentGroupCreated,
        RosterCounted, ReceiptCancelled, SeriesRunningLow,
    )  # fmt: skip
    wiring = message_wiring(rt)

    @handlers.on_many(InvoiceIssued)
    async def invoice(conn: asyncpg.Connection, items: list[tuple[InvoiceIssued, Event]]) -> None:
        await messages.on_invoices_issued(conn, wiring, [(m, str(e.event_id)) for m, e in items])

    @handlers.on_many(ReceiptIssued)
    async def receipt(conn: asyncpg.Connection, items: list[tuple[ReceiptIssued, Event]]) -> None:
        await messages.on_receipts_issued(conn, wiring, [(m, str(e.event_id)) for m, e in items])

    return handlers


CONSUMERS = [
    ConsumerSpec(name="balances", topics=[Topic.RECONCILIATION], handlers=_payments),
    ConsumerSpec(name="receipts", topics=[Topic.RECEIPTS], handlers=_receipts),
    ConsumerSpec(name="messages", topics=[Topic.INVOICING, Topic.RECEIPTS], handlers=_messages),
]
