"""Links from invoices to their receipts in force (from the receipts service's events)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared import rows
from shared.db import Executor


async def link(
    conn: asyncpg.Connection, *, receipt_id: str, invoice_id: uuid.UUID, number: str, url: str, issued_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO invoice_receipts (receipt_id, invoice_id, number, url, issued_at) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (receipt_id) DO NOTHING",
        receipt_id,
        invoice_id,
        number,
        url,
        issued_at,
    )


async def unlink(conn: asyncpg.Connection, receipt_id: str) -> None:
    await conn.execute("DELETE FROM invoice_receipts WHERE receipt_id = $1", receipt_id)


@dataclass(frozen=True, kw_only=True)
class ReceiptLink:
    """A receipt of an invoice, as the receipts service announced it."""

    receipt_id: str
    number: str
    url: str
    issued_at: datetime


async def for_invoice(db: Executor, invoice_id: uuid.UUID) -> list[ReceiptLink]:
    found = await db.fetch(
        "SELECT receipt_id, number, url, issued_at FROM invoice_receipts WHERE invoice_id = $1 ORDER BY issued_at",
        invoice_id,
    )
    return rows.rows(ReceiptLink, found)
