"""Reconciliation's book of invoices and payment groups (from invoicing's events)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg

from shared import rows
from shared.db import Executor


@dataclass(frozen=True, kw_only=True)
class IssuedInvoice:
    invoice_id: uuid.UUID
    school_id: str
    student_id: uuid.UUID
    student_code: str
    student_name: str
    class_name: str
    family_key: str
    virtual_account: str | None
    payment_reference: str
    period: str
    due_date: date
    total: int
    # The names as the event sealed them, until this service holds the pupil's key (student_name is empty).
    sealed_names: bytes | None = None
    sealed_key_id: uuid.UUID | None = None


async def add(conn: asyncpg.Connection, i: IssuedInvoice) -> None:
    await conn.execute(
        """INSERT INTO invoices (invoice_id, school_id, student_id, student_code, student_name, class_name, family_key,
                                 virtual_account, payment_reference, period, due_date, total, sealed_names,
                                 sealed_key_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (invoice_id) DO NOTHING""",
        i.invoice_id,
        i.school_id,
        i.student_id,
        i.student_code,
        i.student_name,
        i.class_name,
        i.family_key,
        i.virtual_account,
        i.payment_reference,
        i.period,
        i.due_date,
        i.total,
        i.sealed_names,
        i.sealed_key_id,
    )


async def set_names(conn: asyncpg.Connection, names: list[tuple[uuid.UUID, str]]) -> None:
    """Names opened: each invoice's pupil name set and its sealed value dropped."""
    await conn.executemany(
        "UPDATE invoices SET student_name = $2, sealed_names = NULL, sealed_key_id = NULL WHERE invoice_id = $1",
        names,
    )


async def forget_names(conn: asyncpg.Connection, student_id: uuid.UUID) -> int:
    """The pupil was erased: their name on every invoice blanked, sealed or opened."""
    done = await conn.execute(
        "UPDATE invoices SET student_name = '', sealed_names = NULL, sealed_key_id = NULL WHERE student_id = $1 "
        "AND (student_name <> '' OR sealed_names IS NOT NULL)",
        student_id,
    )
    return int(done.split()[-1])


async def pupils_of(db: Executor, invoice_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The pupil of each invoice."""
    rows = await db.fetch("SELECT invoice_id, student_id FROM invoices WHERE invoice_id = ANY($1::uuid[])", invoice_ids)
    return {r["invoice_id"]: r["student_id"] for r in rows}


async def set_total(conn: asyncpg.Connection, invoice_id: uuid.UUID, total: int) -> None:
    await conn.execute("UPDATE invoices SET total = $2 WHERE invoice_id = $1", invoice_id, total)


async def mark_cancelled(conn: asyncpg.Connection, invoice_id: uuid.UUID) -> None:
    await conn.execute("UPDATE invoices SET cancelled = true WHERE invoice_id = $1", invoice_id)


async def add_group(conn: asyncpg.Connection, reference: str, school_id: str, invoice_ids: list[uuid.UUID]) -> None:
    await conn.execute(
        "INSERT INTO payment_groups VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", reference, school_id, invoice_ids
    )


async def owed_among(conn: asyncpg.Connection, school_id: str, invoice_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """What each of these invoices of the school that is not cancelled still owes (0 when paid)."""
    rows = await conn.fetch(
        "SELECT invoice_id, greatest(total - allocated, 0) AS owed FROM invoices "
        "WHERE school_id = $1 AND invoice_id = ANY($2::uuid[]) AND NOT cancelled",
        school_id,
        invoice_ids,
    )
    return {r["invoice_id"]: int(r["owed"]) for r in rows}


async def family_of_credit(conn: asyncpg.Connection, credit_id: uuid.UUID) -> str | None:
    """The family of the invoices the credit pays (its first payment in force)."""
    family = await conn.fetchval(
        "SELECT i.family_key FROM allocations a JOIN invoices i USING (invoice_id) "
        "WHERE a.credit_id = $1 AND a.reversed_at IS NULL ORDER BY a.created_at LIMIT 1",
        credit_id,
    )
    return None if family is None else str(family)


async def family_of(conn: asyncpg.Connection, school_id: str, invoice_id: uuid.UUID) -> str | None:
    family = await conn.fetchval(
        "SELECT family_key FROM invoices WHERE invoice_id = $1 AND school_id = $2", invoice_id, school_id
    )
    return None if family is None else str(family)


async def outstanding(conn: asyncpg.Connection, invoice_id: uuid.UUID) -> int:
    """What is still owed on an invoice that is not cancelled (0 otherwise)."""
    left = await conn.fetchval(
        "SELECT greatest(total - allocated, 0) FROM invoices WHERE invoice_id = $1 AND NOT cancelled", invoice_id
    )
    return int(left or 0)


async def take_back(conn: asyncpg.Connection, invoice_id: uuid.UUID, amount: int) -> None:
    await conn.execute("UPDATE invoices SET allocated = allocated - $2 WHERE invoice_id = $1", invoice_id, amount)


async def payment_reference(db: Executor, school_id: str, invoice_id: uuid.UUID) -> str | None:
    ref = await db.fetchval(
        "SELECT payment_reference FROM invoices WHERE invoice_id = $1 AND school_id = $2", invoice_id, school_id
    )
    return None if ref is None else str(ref)


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """An invoice a credit may belong to, with what is still owed on it."""

    invoice_id: uuid.UUID
    student_code: str
    student_name: str
    class_name: str
    payment_reference: str
    period: str
    total: int
    allocated: int
    outstanding: int


_CANDIDATE = (
    "SELECT invoice_id, student_code, student_name, class_name, payment_reference, period, total, allocated, "
    "greatest(total - allocated, 0) AS outstanding FROM invoices"
)


async def candidates(db: Executor, invoice_ids: list[uuid.UUID]) -> list[Candidate]:
    """The invoices an exception's credit may belong to, with what is still owed on each."""
    if not invoice_ids:
        return []
    return rows.rows(Candidate, await db.fetch(f"{_CANDIDATE} WHERE invoice_id = ANY($1::uuid[])", invoice_ids))


# A school's open invoices for the queue's suggestions: bounded, whatever the school's size.
MAX_OPEN_FOR_SUGGESTIONS = 50_000


async def open_for_suggestions(db: Executor, school_id: str) -> list[Candidate]:
    """The school's invoices still owed on, with the pupil's name, class and reference."""
    found = await db.fetch(
        f"{_CANDIDATE} WHERE school_id = $1 AND NOT cancelled AND allocated < total "
        "ORDER BY period DESC, student_code LIMIT $2",
        school_id,
        MAX_OPEN_FOR_SUGGESTIONS,
    )
    return rows.rows(Candidate, found)
