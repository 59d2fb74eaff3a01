"""Links from invoices to their receipts in force (from the receipts service's events)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared import rows
from shared.db import Executor


async def link_many(conn: asyncpg.Connection, links: Sequence[tuple[str, uuid.UUID, str, str, datetime]]) -> None:
    """Receipts announced together, each (receipt id, invoice id, number, url, issued at) linked to its invoice
    once, with one statement."""
    receipt_ids, invoice_ids, numbers, urls, issued = zip(*links, strict=True) if links else ((),) * 5
    await conn.execute(
        "INSERT INTO invoice_receipts (receipt_id, invoice_id, number, url, issued_at) "
        "SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[]) "
        "ON CONFLICT (receipt_id) DO NOTHING",
        list(receipt_ids),
        list(invoice_ids),
        list(numbers),
        list(urls),
        list(issued),
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
