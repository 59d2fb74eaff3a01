"""Payments parked until what their receipt needs (the invoice, a key, a series) arrives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from shared import rows


async def park(
    conn: asyncpg.Connection,
    *,
    payment_id: str,
    invoice_id: uuid.UUID,
    school_id: str,
    payload: bytes,
    waiting_for: str,
) -> None:
    await conn.execute(
        "INSERT INTO pending_payments (payment_id, invoice_id, school_id, payload, waiting_for) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (payment_id) DO UPDATE SET waiting_for = $5",
        payment_id,
        invoice_id,
        school_id,
        payload,
        waiting_for,
    )


async def clear(conn: asyncpg.Connection, payment_id: str) -> None:
    await conn.execute("DELETE FROM pending_payments WHERE payment_id = $1", payment_id)


async def clear_many(conn: asyncpg.Connection, payment_ids: list[str]) -> None:
    await conn.execute("DELETE FROM pending_payments WHERE payment_id = ANY($1::text[])", payment_ids)


async def waiting(conn: asyncpg.Connection, *, invoice_id: uuid.UUID | None, school_id: str | None) -> list[bytes]:
    """The parked payments (serialized PaymentMatched) of an invoice or a school, oldest first; locked, and
    those another transaction is retrying now skipped (it issues them)."""
    rows = await conn.fetch(
        "SELECT payload FROM pending_payments WHERE ($1::uuid IS NULL OR invoice_id = $1) "
        "AND ($2::text IS NULL OR school_id = $2) ORDER BY created_at FOR UPDATE SKIP LOCKED",
        invoice_id,
        school_id,
    )
    return [bytes(r["payload"]) for r in rows]


@dataclass(frozen=True, kw_only=True)
class Parked:
    """A school's payments parked for one thing: how many, and the oldest one's age in seconds."""

    school_id: str
    waiting_for: str
    n: int
    oldest: float


async def parked_by_school(conn: asyncpg.Connection) -> list[Parked]:
    """Per school and what they wait for: how many payments are parked and the oldest one's age in seconds."""
    found = await conn.fetch(
        "SELECT school_id, waiting_for, count(*) AS n, extract(epoch FROM now() - min(created_at))::float8 AS oldest "
        "FROM pending_payments GROUP BY school_id, waiting_for"
    )
    return rows.rows(Parked, found)
