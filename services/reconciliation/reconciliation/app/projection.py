"""Reconciliation's book of schools and invoices, built from invoicing's events (never its database)."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from reconciliation.app.ingest import lock_school, retry_unmatched_for
from shared.events.envelope import Event
from shared.events.outbox import Outbox
from tuition.invoicing.v1.events_pb2 import (
    InvoiceAdjusted,
    InvoiceCancelled,
    InvoiceIssued,
    PaymentGroupCreated,
    SchoolRegistered,
)


async def on_school(conn: asyncpg.Connection, event: Event) -> None:
    m = event.payload
    assert isinstance(m, SchoolRegistered)
    await conn.execute(
        "INSERT INTO schools VALUES ($1, $2, $3, $4, $5) ON CONFLICT (school_id) DO UPDATE SET district_code = $2, "
        "name = $3, bank_bin = $4, account_number = $5",
        m.school_id,
        m.district_code,
        m.name,
        m.bank_bin,
        m.account_number,
    )


async def on_invoice_issued(conn: asyncpg.Connection, outbox: Outbox, event: Event) -> None:
    m = event.payload
    assert isinstance(m, InvoiceIssued)
    await lock_school(conn, m.school_id)
    await conn.execute(
        """INSERT INTO invoices (invoice_id, school_id, student_id, student_code, student_name, class_name, family_key,
                                 virtual_account, payment_reference, period, due_date, total)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (invoice_id) DO NOTHING""",
        uuid.UUID(m.invoice_id),
        m.school_id,
        uuid.UUID(m.student_id),
        m.student_code,
        m.student_name,
        m.class_name,
        m.family_key,
        m.virtual_account or None,
        m.payment_reference,
        m.period,
        date.fromisoformat(m.due_date),
        m.total,
    )
    await retry_unmatched_for(conn, outbox, m.school_id, m.payment_reference)


async def on_invoice_adjusted(conn: asyncpg.Connection, event: Event) -> None:
    m = event.payload
    assert isinstance(m, InvoiceAdjusted)
    await conn.execute("UPDATE invoices SET total = $2 WHERE invoice_id = $1", uuid.UUID(m.invoice_id), m.new_total)


async def on_invoice_cancelled(conn: asyncpg.Connection, event: Event) -> None:
    m = event.payload
    assert isinstance(m, InvoiceCancelled)
    await conn.execute("UPDATE invoices SET cancelled = true WHERE invoice_id = $1", uuid.UUID(m.invoice_id))


async def on_group(conn: asyncpg.Connection, outbox: Outbox, event: Event) -> None:
    m = event.payload
    assert isinstance(m, PaymentGroupCreated)
    await lock_school(conn, m.school_id)
    await conn.execute(
        "INSERT INTO payment_groups VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        m.payment_reference,
        m.school_id,
        [uuid.UUID(i) for i in m.invoice_ids],
    )
    await retry_unmatched_for(conn, outbox, m.school_id, m.payment_reference)
