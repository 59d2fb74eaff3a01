"""Banks' reversals of credits, read from statements: which credit one names, and the reversals on record."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from reconciliation.domain.credits import BankReversal
from shared import rows
from shared.db import Executor


@dataclass(frozen=True)
class StoredReversal:
    reversal_id: uuid.UUID
    statement_id: uuid.UUID
    account_number: str
    amount: int
    value_date: date
    identifiers: list[str]
    memo: str
    line: str
    credit_id: uuid.UUID | None
    state: str
    resolved_by: str | None
    note: str


def _stored(r: Mapping[str, Any]) -> StoredReversal:
    return rows.row(StoredReversal, r)  # the columns of _COLUMNS, by name


_COLUMNS = (
    "reversal_id, statement_id, account_number, amount, value_date, identifiers, memo, line, credit_id, state, "
    "resolved_by, note"
)


async def already_known(conn: asyncpg.Connection, school_id: str, r: BankReversal, ids: list[str]) -> bool:
    """The same reversal from another file of the bank (the day's camt.054, then its camt.053): same account,
    amount and date, and a shared reference, or the same memo where neither has one."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM bank_reversals WHERE school_id = $1 AND account_number = $2 "
            "AND amount = $3 AND value_date = $4 "
            "AND (identifiers && $5::text[] OR (cardinality($5::text[]) = 0 AND cardinality(identifiers) = 0 "
            "AND memo = $6)))",
            school_id,
            r.account_number,
            r.amount,
            r.value_date,
            ids,
            r.memo,
        )
    )


async def credits_named(conn: asyncpg.Connection, school_id: str, r: BankReversal, ids: list[str]) -> list[uuid.UUID]:
    """The credits of the school that the reversal names: by a shared bank reference if any (of the same
    account and amount), else those of the same account, amount and date. Credits already reversed are
    not named again."""
    by_reference = await conn.fetch(
        "SELECT DISTINCT c.credit_id FROM credit_identifiers i JOIN credits c USING (credit_id) "
        "WHERE i.account_number = $2 AND i.identifier = ANY($4::text[]) AND c.school_id = $1 AND c.amount = $3 "
        "AND c.state <> 'withdrawn'",
        school_id,
        r.account_number,
        r.amount,
        ids,
    )
    if by_reference or (ids and await _reference_known(conn, r.account_number, ids)):
        return [row["credit_id"] for row in by_reference]
    rows = await conn.fetch(
        "SELECT credit_id FROM credits WHERE school_id = $1 AND account_number = $2 AND amount = $3 "
        "AND value_date = $4 AND state <> 'withdrawn' ORDER BY booked_at",
        school_id,
        r.account_number,
        r.amount,
        r.value_date,
    )
    return [row["credit_id"] for row in rows]


async def _reference_known(conn: asyncpg.Connection, account: str, ids: list[str]) -> bool:
    """A reference that names a credit already reversed (or of another amount) names no other credit."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM credit_identifiers WHERE account_number = $1 AND identifier = ANY($2))",
            account,
            ids,
        )
    )


async def record(
    conn: asyncpg.Connection,
    *,
    school_id: str,
    statement_id: uuid.UUID,
    reversal: BankReversal,
    ids: list[str],
    credit_id: uuid.UUID | None,
) -> uuid.UUID:
    reversal_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO bank_reversals (reversal_id, school_id, statement_id, account_number, amount, value_date, "
        "identifiers, memo, line, credit_id, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        reversal_id,
        school_id,
        statement_id,
        reversal.account_number,
        reversal.amount,
        reversal.value_date,
        ids,
        reversal.memo,
        reversal.where,
        credit_id,
        "applied" if credit_id else "open",
    )
    return reversal_id


async def get_for_update(conn: asyncpg.Connection, school_id: str, reversal_id: uuid.UUID) -> StoredReversal | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM bank_reversals WHERE school_id = $1 AND reversal_id = $2 FOR UPDATE",  # noqa: S608
        school_id,
        reversal_id,
    )
    return _stored(row) if row else None


async def resolve(
    conn: asyncpg.Connection, reversal_id: uuid.UUID, *, state: str, credit_id: uuid.UUID | None, by: str, note: str
) -> None:
    await conn.execute(
        "UPDATE bank_reversals SET state = $2, credit_id = $3, resolved_by = $4, note = $5 WHERE reversal_id = $1",
        reversal_id,
        state,
        credit_id,
        by,
        note,
    )


async def of_school(db: Executor, school_id: str, state: str | None, limit: int) -> list[StoredReversal]:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM bank_reversals WHERE school_id = $1 AND ($2::text IS NULL OR state = $2) "  # noqa: S608
        "ORDER BY created_at DESC, reversal_id LIMIT $3",
        school_id,
        state,
        limit,
    )
    return [_stored(r) for r in rows]


async def open_on(db: Executor, school_id: str, day: date) -> dict[str, int]:
    """Per account, how many open reversals of the day: money the bank took back that no credit answers for yet."""
    found = await db.fetch(
        "SELECT account_number, count(*) AS n FROM bank_reversals "
        "WHERE school_id = $1 AND value_date = $2 AND state = 'open' GROUP BY account_number",
        school_id,
        day,
    )
    return {r["account_number"]: r["n"] for r in found}
