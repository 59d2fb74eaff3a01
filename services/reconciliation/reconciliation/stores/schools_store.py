"""Reconciliation's copy of the schools (from invoicing's events) and the per-school write lock."""

from __future__ import annotations

import asyncpg

from shared.db import Executor


async def lock(conn: asyncpg.Connection, school_id: str) -> None:
    """Serialise every write of one school (webhook retries, statements, actions) until the commit."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('reconciliation:' || $1))", school_id)


async def lock_all(conn: asyncpg.Connection, school_ids: list[str]) -> None:
    """`lock` for several schools, always taken in the same order (by lock key), so that two transactions
    locking overlapping sets cannot wait for each other."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtext('reconciliation:' || s) AS k "
        "FROM unnest($1::text[]) AS s ORDER BY k) AS keys",
        school_ids,
    )


async def take_intake_turn(conn: asyncpg.Connection) -> None:
    """Webhook intake writes one batch at a time across the service's processes, each batch taken once its
    turn has come: whatever queued while it waited goes in the same transaction (app/intake/queue.py)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('reconciliation.intake-turn'))")


async def try_lock_all(conn: asyncpg.Connection, school_ids: list[str]) -> set[str]:
    """`lock` of the schools that nobody else holds now; never waits (a statement being matched holds its
    school: the others go on)."""
    rows = await conn.fetch(
        "SELECT s FROM unnest($1::text[]) AS s WHERE pg_try_advisory_xact_lock(hashtext('reconciliation:' || s))",
        school_ids,
    )
    return {r["s"] for r in rows}


async def account_of(db: Executor, school_id: str) -> str | None:
    account = await db.fetchval("SELECT account_number FROM schools WHERE school_id = $1", school_id)
    return None if account is None else str(account)


async def upsert(
    conn: asyncpg.Connection, *, school_id: str, district_code: str, name: str, bank_bin: str, account_number: str
) -> None:
    await conn.execute(
        "INSERT INTO schools VALUES ($1, $2, $3, $4, $5) ON CONFLICT (school_id) DO UPDATE SET district_code = $2, "
        "name = $3, bank_bin = $4, account_number = $5",
        school_id,
        district_code,
        name,
        bank_bin,
        account_number,
    )


async def district_of(db: Executor, school_id: str) -> str | None:
    """The school's district (the scope of a district's token), from this service's own schools table."""
    return await db.fetchval("SELECT district_code FROM schools WHERE school_id = $1", school_id)  # type: ignore[no-any-return]
