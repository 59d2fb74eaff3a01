"""Schools and their collection accounts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from invoicing.domain.schools import SchoolDetails
from shared import rows
from shared.db import Executor


@dataclass(frozen=True, kw_only=True)
class School(SchoolDetails):
    """A school and its collection account, as registered."""

    code: str
    created_at: datetime


async def get_for_update(conn: asyncpg.Connection, school_id: str) -> School | None:
    """The row lock orders concurrent registrations of one school, so the audit sees each change once."""
    return rows.maybe(School, await conn.fetchrow("SELECT * FROM schools WHERE school_id = $1 FOR UPDATE", school_id))


async def upsert_if_changed(conn: asyncpg.Connection, row: tuple[object, ...]) -> bool:
    """(school_id, code, name, district, ownership, bin, account, holder, tax code, address); True if it changed."""
    changed = await conn.fetchval(
        """INSERT INTO schools (school_id, code, name, district_code, ownership, bank_bin, account_number,
                                account_name, tax_code, address)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (school_id) DO UPDATE SET name = $3, district_code = $4, ownership = $5, bank_bin = $6,
               account_number = $7, account_name = $8, tax_code = $9, address = $10
           WHERE (schools.name, schools.district_code, schools.ownership, schools.bank_bin,
                  schools.account_number, schools.account_name, schools.tax_code, schools.address)
                 IS DISTINCT FROM ($3, $4, $5, $6, $7, $8, $9, $10)
           RETURNING true""",
        *row,
    )
    return bool(changed)


async def get(db: Executor, school_id: str) -> School | None:
    return rows.maybe(School, await db.fetchrow("SELECT * FROM schools WHERE school_id = $1", school_id))


async def record_change(
    conn: asyncpg.Connection, school_id: str, *, by: str, before: dict[str, str], after: dict[str, str]
) -> None:
    await conn.execute(
        "INSERT INTO school_changes (school_id, changed_by, before, after) VALUES ($1, $2, $3, $4)",
        school_id,
        by,
        json.dumps(before),
        json.dumps(after),
    )


async def changes(db: Executor, school_id: str) -> list[dict[str, object]]:
    rows = await db.fetch(
        "SELECT changed_by, changed_at, before, after FROM school_changes WHERE school_id = $1 ORDER BY change_id",
        school_id,
    )
    return [
        {
            "changed_by": r["changed_by"],
            "changed_at": r["changed_at"],
            "before": json.loads(r["before"]),
            "after": json.loads(r["after"]),
        }
        for r in rows
    ]


async def district_of(db: Executor, school_id: str) -> str | None:
    """The school's district (the scope of a district's token), from this service's own schools table."""
    return await db.fetchval("SELECT district_code FROM schools WHERE school_id = $1", school_id)  # type: ignore[no-any-return]
