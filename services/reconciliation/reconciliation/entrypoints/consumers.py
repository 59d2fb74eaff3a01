"""Kafka consumers of the reconciliation service: its book of schools and invoices."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from reconciliation.app import projection
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.events.topics import Topic
from shared.service import ConsumerSpec, ServiceRuntime


def _handlers(rt: ServiceRuntime) -> Mapping[str, Handler]:
    async def issued(conn: asyncpg.Connection, event: Event) -> None:
        await projection.on_invoice_issued(conn, rt.outbox, event)

    async def group(conn: asyncpg.Connection, event: Event) -> None:
        await projection.on_group(conn, rt.outbox, event)

    return {
        "tuition.invoicing.v1.SchoolRegistered": projection.on_school,
        "tuition.invoicing.v1.InvoiceIssued": issued,
        "tuition.invoicing.v1.InvoiceAdjusted": projection.on_invoice_adjusted,
        "tuition.invoicing.v1.InvoiceCancelled": projection.on_invoice_cancelled,
        "tuition.invoicing.v1.PaymentGroupCreated": group,
    }


CONSUMERS = [ConsumerSpec(name="book", topics=[Topic.INVOICING], handlers=_handlers)]
