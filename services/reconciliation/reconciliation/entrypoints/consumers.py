"""Kafka consumers of the reconciliation service: its book of schools and invoices."""

from __future__ import annotations

import asyncpg

from reconciliation.app import projection
from shared.events.envelope import Event
from shared.events.handlers import Handlers
from shared.events.topics import Topic
from shared.service import ConsumerSpec, ServiceRuntime
from tuition.invoicing.v1 import events_pb2 as invoicing_events
from tuition.invoicing.v1 import pupil_keys_pb2 as pupil_key_events


def _book(rt: ServiceRuntime) -> Handlers:
    handlers = Handlers()
    handlers.skip(invoicing_events.InvoiceBalanceChanged)  # balances are reconciliation's own figures
    handlers.skip(invoicing_events.RosterCounted)  # the district's indicator, not a payment's

    @handlers.on(invoicing_events.SchoolRegistered)
    async def school(conn: asyncpg.Connection, m: invoicing_events.SchoolRegistered, _: Event) -> None:
        await projection.school_registered(conn, m)

    @handlers.on(invoicing_events.InvoiceIssued)
    async def issued(conn: asyncpg.Connection, m: invoicing_events.InvoiceIssued, _: Event) -> None:
        await projection.invoice_issued(conn, rt.outbox, m)

    @handlers.on(invoicing_events.InvoiceAdjusted)
    async def adjusted(conn: asyncpg.Connection, m: invoicing_events.InvoiceAdjusted, _: Event) -> None:
        await projection.invoice_adjusted(conn, m)

    @handlers.on(invoicing_events.InvoiceCancelled)
    async def cancelled(conn: asyncpg.Connection, m: invoicing_events.InvoiceCancelled, _: Event) -> None:
        await projection.invoice_cancelled(conn, m)

    @handlers.on(invoicing_events.PaymentGroupCreated)
    async def group(conn: asyncpg.Connection, m: invoicing_events.PaymentGroupCreated, _: Event) -> None:
        await projection.group_created(conn, rt.outbox, m)

    @handlers.on(pupil_key_events.PupilKeyIssued)
    async def key_issued(conn: asyncpg.Connection, m: pupil_key_events.PupilKeyIssued, _: Event) -> None:
        await projection.pupil_key_issued(conn, m)

    @handlers.on(pupil_key_events.PupilKeyDestroyed)
    async def key_destroyed(conn: asyncpg.Connection, m: pupil_key_events.PupilKeyDestroyed, _: Event) -> None:
        await projection.pupil_key_destroyed(conn, m)

    return handlers


# The pupils' keys open the names that invoices carry sealed (the accountant's queue shows them).
CONSUMERS = [ConsumerSpec(name="book", topics=[Topic.INVOICING, Topic.PUPIL_KEYS], handlers=_book)]
