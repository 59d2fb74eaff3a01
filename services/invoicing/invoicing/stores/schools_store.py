"""Schools and their collection accounts."""

from __future__ import annotations

import asyncpg


async def get_for_update(conn: asyncpg.Connection, school_id: str) -> asyncpg.Record | None:
    """The row lock orders concurrent registrations of one school, so the audit sees each change once."""
    return await conn.fetchrow("SELECT * FROM schools WHERE school_id = $1 FOR UPDATE", school_id)


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
