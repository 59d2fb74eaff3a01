"""Kafka consumers of the receipts service: what a receipt needs (invoicing) and payments (reconciliation)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

import asyncpg

from receipts.app import issuing, receipts
from receipts.settings import ReceiptsSettings
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.events.topics import Topic
from shared.service import ConsumerSpec, ServiceRuntime
from tuition.invoicing.v1.events_pb2 import InvoiceIssued, SchoolRegistered
from tuition.reconciliation.v1.events_pb2 import PaymentMatched, PaymentReversed


def _handlers(rt: ServiceRuntime) -> Mapping[str, Handler]:
    settings = rt.settings
    assert isinstance(settings, ReceiptsSettings)

    async def school(conn: asyncpg.Connection, event: Event) -> None:
        m = event.payload
        assert isinstance(m, SchoolRegistered)
        await conn.execute(
            "INSERT INTO schools VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (school_id) DO UPDATE SET code = $2, "
            "name = $3, district_code = $4, tax_code = $5, address = $6",
            m.school_id,
            m.code,
            m.name,
            m.district_code,
            m.tax_code,
            m.address,
        )
        await issuing.retry_pending(conn, rt.outbox, settings, school_id=m.school_id)

    async def invoice(conn: asyncpg.Connection, event: Event) -> None:
        m = event.payload
        assert isinstance(m, InvoiceIssued)
        lines = [{"name": line.name, "amount": line.amount, "category": line.category} for line in m.lines]
        await conn.execute(
            "INSERT INTO invoices VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
            uuid.UUID(m.invoice_id),
            m.school_id,
            m.student_code,
            m.student_name,
            m.guardian_name,
            m.class_name,
            m.period,
            m.payment_reference,
            m.total,
            json.dumps(lines, ensure_ascii=False),
        )
        await issuing.retry_pending(conn, rt.outbox, settings, invoice_id=uuid.UUID(m.invoice_id))

    async def payment(conn: asyncpg.Connection, event: Event) -> None:
        assert isinstance(event.payload, PaymentMatched)
        await issuing.on_payment(conn, rt.outbox, settings, event.payload)

    async def reversed_(conn: asyncpg.Connection, event: Event) -> None:
        # A payment taken back: its receipt is cancelled (it keeps its number); nothing replaces it.
        m = event.payload
        assert isinstance(m, PaymentReversed)
        await conn.execute("DELETE FROM pending_payments WHERE payment_id = $1", m.payment_id)
        receipt = await conn.fetchval(
            "SELECT receipt_id FROM receipts WHERE payment_id = $1 AND status = 'issued'", m.payment_id
        )
        if receipt is not None:
            await receipts.mark_cancelled(
                conn,
                rt.outbox,
                receipt_id=receipt,
                school_id=m.school_id,
                invoice_id=m.invoice_id,
                reason=f"payment reversed: {m.reason}",
            )

    return {
        "tuition.invoicing.v1.SchoolRegistered": school,
        "tuition.invoicing.v1.InvoiceIssued": invoice,
        "tuition.reconciliation.v1.PaymentMatched": payment,
        "tuition.reconciliation.v1.PaymentReversed": reversed_,
    }


# One consumer for both topics: a payment and the invoice it needs are handled by the same worker.
CONSUMERS = [ConsumerSpec(name="receipts", topics=[Topic.INVOICING, Topic.RECONCILIATION], handlers=_handlers)]
