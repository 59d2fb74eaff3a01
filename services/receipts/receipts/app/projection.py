"""What a receipt prints, copied from invoicing's events; each arrival may release parked payments."""

from __future__ import annotations

import json
import uuid

import asyncpg

from receipts.app.issuing import retry_pending
from receipts.settings import ReceiptsSettings
from receipts.stores import book_store
from shared.events.outbox import Outbox
from tuition.invoicing.v1.events_pb2 import InvoiceAdjusted, InvoiceIssued, SchoolRegistered


async def school_registered(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, m: SchoolRegistered
) -> None:
    await book_store.upsert_school(
        conn,
        school_id=m.school_id,
        code=m.code,
        name=m.name,
        district_code=m.district_code,
        tax_code=m.tax_code,
        address=m.address,
    )
    await retry_pending(conn, outbox, settings, school_id=m.school_id)


async def invoice_adjusted(conn: asyncpg.Connection, m: InvoiceAdjusted) -> None:
    """An adjustment is a line of the invoice from now on: a receipt of the whole invoice shows it."""
    line = {
        "name": f"Điều chỉnh: {m.reason}" if m.reason else "Điều chỉnh",
        "amount": m.delta,
        "category": "adjustment",
    }
    await book_store.adjust_invoice(conn, uuid.UUID(m.invoice_id), new_total=m.new_total, line=line)


async def invoice_issued(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, m: InvoiceIssued
) -> None:
    lines = [{"name": line.name, "amount": line.amount, "category": line.category} for line in m.lines]
    invoice = book_store.InvoiceCopy(
        invoice_id=uuid.UUID(m.invoice_id),
        school_id=m.school_id,
        student_code=m.student_code,
        student_name=m.student_name,
        guardian_name=m.guardian_name,
        class_name=m.class_name,
        period=m.period,
        payment_reference=m.payment_reference,
        total=m.total,
        lines_json=json.dumps(lines, ensure_ascii=False),
    )
    await book_store.add_invoice(conn, invoice)
    await retry_pending(conn, outbox, settings, invoice_id=invoice.invoice_id)
