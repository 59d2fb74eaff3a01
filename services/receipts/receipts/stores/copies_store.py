"""The receipts service's copies of schools and invoices (from invoicing's events): what a receipt prints."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import asyncpg

from shared import rows
from shared.db import Executor


@dataclass(frozen=True, kw_only=True)
class School:
    """A school as a receipt prints it."""

    school_id: str
    name: str
    code: str
    tax_code: str
    address: str


async def upsert_school(
    conn: asyncpg.Connection, *, school_id: str, code: str, name: str, district_code: str, tax_code: str, address: str
) -> None:
    await conn.execute(
        "INSERT INTO schools VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (school_id) DO UPDATE SET code = $2, "
        "name = $3, district_code = $4, tax_code = $5, address = $6",
        school_id,
        code,
        name,
        district_code,
        tax_code,
        address,
    )


@dataclass(frozen=True, kw_only=True)
class InvoiceCopy:
    """An invoice as a receipt prints it (its lines as JSON: name and amount each)."""

    invoice_id: uuid.UUID
    school_id: str
    student_code: str
    student_name: str
    guardian_name: str
    class_name: str
    period: str
    payment_reference: str
    total: int
    lines_json: str
    student_id: uuid.UUID | None = None
    # The names as the event sealed them, until this service holds the pupil's key (the names are empty).
    sealed_names: bytes | None = None
    sealed_key_id: uuid.UUID | None = None


async def adjust_invoice(
    conn: asyncpg.Connection, invoice_id: uuid.UUID, *, new_total: int, line: dict[str, object]
) -> None:
    await conn.execute(
        "UPDATE invoices SET total = $2, lines = lines || $3::jsonb WHERE invoice_id = $1",
        invoice_id,
        new_total,
        json.dumps([line], ensure_ascii=False),
    )


async def add_invoice(conn: asyncpg.Connection, i: InvoiceCopy) -> None:
    await conn.execute(
        "INSERT INTO invoices (invoice_id, school_id, student_code, student_name, guardian_name, class_name, period, "
        "payment_reference, total, lines, student_id, sealed_names, sealed_key_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING",
        i.invoice_id,
        i.school_id,
        i.student_code,
        i.student_name,
        i.guardian_name,
        i.class_name,
        i.period,
        i.payment_reference,
        i.total,
        i.lines_json,
        i.student_id,
        i.sealed_names,
        i.sealed_key_id,
    )


async def open_invoices_with_parked_payments(conn: asyncpg.Connection, waiting_for: str) -> list[uuid.UUID]:
    """Invoices whose names are open but with payments still parked waiting for them."""
    rows = await conn.fetch(
        "SELECT DISTINCT p.invoice_id FROM pending_payments p JOIN invoices i USING (invoice_id) "
        "WHERE p.waiting_for = $1 AND i.sealed_names IS NULL",
        waiting_for,
    )
    return [r["invoice_id"] for r in rows]


async def set_names(conn: asyncpg.Connection, names: list[tuple[uuid.UUID, str, str]]) -> None:
    """Names opened: each invoice's pupil and guardian names set, and its sealed value dropped."""
    await conn.executemany(
        "UPDATE invoices SET student_name = $2, guardian_name = $3, sealed_names = NULL, sealed_key_id = NULL "
        "WHERE invoice_id = $1",
        names,
    )


async def forget_names(conn: asyncpg.Connection, student_id: uuid.UUID) -> list[uuid.UUID]:
    """The pupil was erased: the names blanked on every invoice of theirs, sealed or opened; their ids."""
    rows = await conn.fetch(
        "UPDATE invoices SET student_name = '', guardian_name = '', sealed_names = NULL, sealed_key_id = NULL "
        "WHERE student_id = $1 "
        "RETURNING invoice_id",
        student_id,
    )
    return [r["invoice_id"] for r in rows]


_INVOICE = "SELECT *, lines::text AS lines_json FROM invoices"


async def school(db: Executor, school_id: str) -> School | None:
    return rows.maybe(School, await db.fetchrow("SELECT * FROM schools WHERE school_id = $1", school_id))


async def invoice(db: Executor, invoice_id: uuid.UUID) -> InvoiceCopy | None:
    return rows.maybe(InvoiceCopy, await db.fetchrow(f"{_INVOICE} WHERE invoice_id = $1", invoice_id))


async def schools(db: Executor, school_ids: list[str]) -> dict[str, School]:
    found = rows.rows(School, await db.fetch("SELECT * FROM schools WHERE school_id = ANY($1::text[])", school_ids))
    return {s.school_id: s for s in found}


async def invoices(db: Executor, invoice_ids: list[uuid.UUID]) -> dict[uuid.UUID, InvoiceCopy]:
    found = await db.fetch(f"{_INVOICE} WHERE invoice_id = ANY($1::uuid[])", invoice_ids)
    return {i.invoice_id: i for i in rows.rows(InvoiceCopy, found)}


async def district_of(db: Executor, school_id: str) -> str | None:
    """The school's district (the scope of a district's token), from this service's own schools table."""
    return await db.fetchval("SELECT district_code FROM schools WHERE school_id = $1", school_id)  # type: ignore[no-any-return]
