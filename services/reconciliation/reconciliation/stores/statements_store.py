"""Uploaded statements, known by their SHA-256: the same file twice is one upload."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg

from shared import rows
from shared.db import Executor


@dataclass(frozen=True, kw_only=True)
class Uploaded:
    """A statement file already recorded (known by its content)."""

    statement_id: uuid.UUID
    credits: int


async def by_digest(db: Executor, school_id: str, digest: str) -> Uploaded | None:
    found = await db.fetchrow(
        "SELECT statement_id, credits FROM statements WHERE school_id = $1 AND sha256 = $2", school_id, digest
    )
    return rows.maybe(Uploaded, found)


async def record(
    conn: asyncpg.Connection,
    *,
    statement_id: uuid.UUID,
    school_id: str,
    format: str,
    digest: str,
    filename: str,
    credits: int,
    new_credits: int,
    uploaded_by: str,
    account_number: str | None = None,
    closing: tuple[date, int] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO statements (statement_id, school_id, format, sha256, filename, credits, new_credits, "
        "uploaded_by, account_number, closing_date, closing_balance) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
        statement_id,
        school_id,
        format,
        digest,
        filename,
        credits,
        new_credits,
        uploaded_by,
        account_number,
        closing[0] if closing else None,
        closing[1] if closing else None,
    )


async def closing_balances(db: Executor, school_id: str, day: date) -> dict[str, int]:
    """Per account, the closing balance of the day from the last statement uploaded that states it."""
    rows = await db.fetch(
        "SELECT DISTINCT ON (account_number) account_number, closing_balance FROM statements "
        "WHERE school_id = $1 AND closing_date = $2 AND closing_balance IS NOT NULL "
        "ORDER BY account_number, uploaded_at DESC",
        school_id,
        day,
    )
    return {r["account_number"]: r["closing_balance"] for r in rows}
