"""Schools and their collection account."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from invoicing.domain.banks import BankAccountError, validate_account
from invoicing.domain.errors import Invalid, NotFound
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from tuition.invoicing.v1.events_pb2 import SchoolRegistered


@dataclass(frozen=True)
class RegisterSchool:
    school_id: str
    name: str
    district_code: str
    ownership: str
    bank_bin: str
    account_number: str
    account_name: str
    tax_code: str = ""
    address: str = ""


async def register_school(pool: asyncpg.Pool, outbox: Outbox, cmd: RegisterSchool) -> dict[str, object]:
    """Create or update a school; an event only when something changed."""
    try:
        bin_, account, holder = validate_account(cmd.bank_bin, cmd.account_number, cmd.account_name)
    except BankAccountError as exc:
        raise Invalid(str(exc)) from exc
    if cmd.ownership not in ("public", "private"):
        raise Invalid(f"ownership must be public or private, got {cmd.ownership!r}")
    row = (
        cmd.school_id,
        cmd.school_id,
        cmd.name.strip(),
        cmd.district_code,
        cmd.ownership,
        bin_,
        account,
        holder,
        cmd.tax_code,
        cmd.address,
    )
    async with pool.acquire() as conn, conn.transaction():
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
        if changed:
            await outbox.add(
                conn,
                Topic.INVOICING,
                SchoolRegistered(
                    school_id=cmd.school_id,
                    code=cmd.school_id,
                    name=row[2],
                    district_code=cmd.district_code,
                    bank_bin=bin_,
                    account_number=account,
                    account_name=holder,
                    ownership=cmd.ownership,
                    tax_code=cmd.tax_code,
                    address=cmd.address,
                ),
                aggregate_id=cmd.school_id,
                school_id=cmd.school_id,
            )
    return await get_school(pool, cmd.school_id)


async def get_school(pool: asyncpg.Pool | asyncpg.Connection, school_id: str) -> dict[str, object]:
    row = await pool.fetchrow("SELECT * FROM schools WHERE school_id = $1", school_id)
    if row is None:
        raise NotFound(f"unknown school {school_id!r}")
    return dict(row)
