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

    @handlers.on(ReceiptIssued)
    async def issued(conn: asyncpg.Connection, m: ReceiptIssued, _: Event) -> None:
        await balances.receipt_issued(conn, m)

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

    @handlers.on(InvoiceIssued)
    async def invoice(conn: asyncpg.Connection, m: InvoiceIssued, e: Event) -> None:
        await messages.on_invoice_issued(conn, wiring, m, str(e.event_id))

    @handlers.on(ReceiptIssued)
    async def receipt(conn: asyncpg.Connection, m: ReceiptIssued, e: Event) -> None:
        await messages.on_receipt_issued(conn, wiring, m, str(e.event_id))

    return handlers


CONSUMERS = [
    ConsumerSpec(name="balances", topics=[Topic.RECONCILIATION], handlers=_payments),
    ConsumerSpec(name="receipts", topics=[Topic.RECEIPTS], handlers=_receipts),
    ConsumerSpec(name="messages", topics=[Topic.INVOICING, Topic.RECEIPTS], handlers=_messages),
]
