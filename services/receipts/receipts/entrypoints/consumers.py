"""Kafka consumers of the receipts service: what a receipt needs (invoicing) and payments (reconciliation)."""

from __future__ import annotations

import asyncpg

from receipts.app import issuing, projection, receipts
from receipts.settings import ReceiptsSettings
from shared.events.envelope import Event
from shared.events.handlers import Handlers
from shared.events.topics import Topic
from shared.service import ConsumerSpec, ServiceRuntime
from tuition.invoicing.v1 import events_pb2 as invoicing_events
from tuition.invoicing.v1 import pupil_keys_pb2 as pupil_key_events
from tuition.reconciliation.v1 import events_pb2 as payment_events


def _receipts(rt: ServiceRuntime) -> Handlers:
    settings = rt.settings_as(ReceiptsSettings)
    handlers = Handlers()
    # A receipt prints the invoice as issued and the payment as made; the rest does not change a receipt.
    handlers.skip(
        invoicing_events.InvoiceCancelled,
        invoicing_events.InvoiceBalanceChanged,
        invoicing_events.PaymentGroupCreated,
        invoicing_events.RosterCounted,
    )
    handlers.skip(
        payment_events.CreditReceived,
        payment_events.PaymentUnmatched,
        payment_events.RefundRecorded,
        payment_events.CreditActionTaken,
    )

    @handlers.on(invoicing_events.SchoolRegistered)
    async def school(conn: asyncpg.Connection, m: invoicing_events.SchoolRegistered, _: Event) -> None:
        await projection.school_registered(conn, rt.outbox, settings, m)

    @handlers.on(invoicing_events.InvoiceAdjusted)
    async def adjusted(conn: asyncpg.Connection, m: invoicing_events.InvoiceAdjusted, _: Event) -> None:
        await projection.invoice_adjusted(conn, m)

    @handlers.on(invoicing_events.InvoiceIssued)
    async def invoice(conn: asyncpg.Connection, m: invoicing_events.InvoiceIssued, _: Event) -> None:
        await projection.invoice_issued(conn, rt.outbox, settings, m)

    @handlers.on_many(payment_events.PaymentMatched)
    async def payments(conn: asyncpg.Connection, batch: list[tuple[payment_events.PaymentMatched, Event]]) -> None:
        await issuing.on_payments(conn, rt.outbox, settings, [m for m, _ in batch])

    @handlers.on(payment_events.PaymentReversed)
    async def reversed_(conn: asyncpg.Connection, m: payment_events.PaymentReversed, _: Event) -> None:
        await receipts.payment_reversed(conn, rt.outbox, m)

    @handlers.on(pupil_key_events.PupilKeyIssued)
    async def key_issued(conn: asyncpg.Connection, m: pupil_key_events.PupilKeyIssued, _: Event) -> None:
        await projection.pupil_key_issued(conn, rt.outbox, settings, m)

    @handlers.on(pupil_key_events.PupilKeyDestroyed)
    async def key_destroyed(conn: asyncpg.Connection, m: pupil_key_events.PupilKeyDestroyed, _: Event) -> None:
        await projection.pupil_key_destroyed(conn, rt.outbox, settings, m)

    return handlers


# One consumer for the three topics: a payment, the invoice it needs and the key that opens the invoice's
# names are handled by the same worker.
CONSUMERS = [
    ConsumerSpec(name="receipts", topics=[Topic.INVOICING, Topic.RECONCILIATION, Topic.PUPIL_KEYS], handlers=_receipts)
]
