"""Receipts: one per payment (unique), cancelled in place (a receipt keeps its number)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared import rows
from shared.db import Executor

_COLUMNS = "r.*, s.form_code, s.series_code"


@dataclass(frozen=True, kw_only=True)
class NewReceipt:
    receipt_id: uuid.UUID
    school_id: str
    series_id: uuid.UUID
    number: int
    payment_id: str | None
    invoice_id: uuid.UUID
    amount: int
    verification_code: str
    issued_at: datetime
    xml: bytes
    compact: str
    xml_kid: str
    compact_kid: str
    replaces: uuid.UUID | None


@dataclass(frozen=True, kw_only=True)
class Receipt(NewReceipt):
    """A receipt as stored, where it stands, with its series' codes."""

    status: str
    cancel_reason: str | None
    form_code: str
    series_code: str


@dataclass(frozen=True, kw_only=True)
class Listed:
    """A receipt in the school's list."""

    receipt_id: uuid.UUID
    number: int
    form_code: str
    series_code: str
    payment_id: str | None
    invoice_id: uuid.UUID
    amount: int
    verification_code: str
    issued_at: datetime
    status: str
    replaces: uuid.UUID | None
    replaced_by: uuid.UUID | None


@dataclass(frozen=True, kw_only=True)
class RegisterLine:
    """A line of the receipts register (sổ theo dõi biên lai), with its pupil (None: invoice unknown here)."""

    form_code: str
    series_code: str
    number: int
    issued_at: datetime
    student_code: str | None
    student_name: str | None
    class_name: str | None
    period: str | None
    amount: int
    status: str
    cancel_reason: str | None
    verification_code: str


RECEIPT_COLUMNS = [
    "receipt_id",
    "school_id",
    "series_id",
    "number",
    "payment_id",
    "invoice_id",
    "amount",
    "verification_code",
    "issued_at",
    "xml",
    "compact",
    "xml_kid",
    "compact_kid",
    "status",
    "replaces",
]


async def add_many(conn: asyncpg.Connection, receipts: list[NewReceipt]) -> None:
    """New receipts with one COPY (a batch of a school's payments)."""
    await conn.copy_records_to_table(
        "receipts",
        columns=RECEIPT_COLUMNS,
        records=[
            (
                r.receipt_id,
                r.school_id,
                r.series_id,
                r.number,
                r.payment_id,
                r.invoice_id,
                r.amount,
                r.verification_code,
                r.issued_at,
                r.xml,
                r.compact,
                r.xml_kid,
                r.compact_kid,
                "issued",
                r.replaces,
            )
            for r in receipts
        ],
    )


async def issued_payments(conn: asyncpg.Connection, payment_ids: list[str]) -> set[str]:
    """Which of these payments already have a receipt."""
    rows = await conn.fetch("SELECT payment_id FROM receipts WHERE payment_id = ANY($1::text[])", payment_ids)
    return {r["payment_id"] for r in rows}


async def exists_for_payment(conn: asyncpg.Connection, payment_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM receipts WHERE payment_id = $1", payment_id))


async def in_force_for_payment(conn: asyncpg.Connection, payment_id: str) -> uuid.UUID | None:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT receipt_id FROM receipts WHERE payment_id = $1 AND status = 'issued'", payment_id
    )


async def by_code(db: Executor, code: str) -> Receipt | None:
    found = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM receipts r JOIN receipt_series s USING (series_id) "  # noqa: S608
        "WHERE r.verification_code = $1",
        code,
    )
    return rows.maybe(Receipt, found)


async def get_for_update(conn: asyncpg.Connection, school_id: str, receipt_id: uuid.UUID) -> Receipt | None:
    found = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM receipts r JOIN receipt_series s USING (series_id) "  # noqa: S608
        "WHERE r.receipt_id = $1 AND r.school_id = $2 FOR UPDATE OF r",
        receipt_id,
        school_id,
    )
    return rows.maybe(Receipt, found)


async def mark_cancelled(
    conn: asyncpg.Connection, receipt_id: uuid.UUID, reason: str, replaced_by: uuid.UUID | None, by: str
) -> None:
    await conn.execute(
        "UPDATE receipts SET status = 'cancelled', cancelled_at = now(), cancel_reason = $2, replaced_by = $3, "
        "cancelled_by = $4 WHERE receipt_id = $1",
        receipt_id,
        reason,
        replaced_by,
        by,
    )


async def register(db: Executor, school_id: str, since: datetime, until: datetime, *, limit: int) -> list[RegisterLine]:
    """The receipts register: every receipt issued in [since, until), by series and number, with its pupil."""
    found = await db.fetch(
        "SELECT s.form_code, s.series_code, r.number, r.issued_at, i.student_code, i.student_name, i.class_name, "
        "i.period, r.amount, r.status, r.cancel_reason, r.verification_code FROM receipts r "
        "JOIN receipt_series s USING (series_id) LEFT JOIN invoices i USING (invoice_id) "
        "WHERE r.school_id = $1 AND r.issued_at >= $2 AND r.issued_at < $3 "
        "ORDER BY s.year, s.form_code, s.series_code, r.number LIMIT $4",
        school_id,
        since,
        until,
        limit,
    )
    return rows.rows(RegisterLine, found)


async def list_for_school(
    db: Executor, school_id: str, *, invoice_id: uuid.UUID | None, limit: int, offset: int
) -> list[Listed]:
    found = await db.fetch(
        "SELECT r.receipt_id, r.number, s.form_code, s.series_code, r.payment_id, r.invoice_id, r.amount, "
        "r.verification_code, r.issued_at, r.status, r.replaces, r.replaced_by FROM receipts r "
        "JOIN receipt_series s USING (series_id) WHERE r.school_id = $1 AND ($2::uuid IS NULL OR r.invoice_id = $2) "
        "ORDER BY s.year, s.series_code, r.number LIMIT $3 OFFSET $4",
        school_id,
        invoice_id,
        limit,
        offset,
    )
    return rows.rows(Listed, found)
