"""Fee schedules, school calendars and exemption policies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from invoicing.app.schools import get_school
from invoicing.domain.fees import Cadence, FeeCategory, FeeError, FeeItem, Period, Policy, Rate, ReductionKind
from shared.db import Executor
from shared.errors import Invalid, NotFound


@dataclass(frozen=True)
class UpsertFeeItem:
    school_id: str
    item: FeeItem


async def upsert_fee_item(pool: asyncpg.Pool, cmd: UpsertFeeItem) -> None:
    item = cmd.item
    if not item.rates:
        raise Invalid(f"fee item {item.code}: give at least one rate (school-wide, per grade or per class)")
    scopes = [(r.grade, r.class_name) for r in item.rates]
    if len(set(scopes)) != len(scopes):
        raise Invalid(f"fee item {item.code}: two rates for the same grade/class")
    async with pool.acquire() as conn, conn.transaction():
        await get_school(conn, cmd.school_id)
        fee_item_id = await conn.fetchval(
            """INSERT INTO fee_items (fee_item_id, school_id, code, name, category, cadence, per_day, state_funded,
                                      one_off_period)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (school_id, code) DO UPDATE SET name = $4, category = $5, cadence = $6, per_day = $7,
                   state_funded = $8, one_off_period = $9, active = true, updated_at = now()
               RETURNING fee_item_id""",
            uuid.uuid4(),
            cmd.school_id,
            item.code,
            item.name,
            str(item.category),
            str(item.cadence),
            item.per_day,
            item.state_funded,
            item.one_off_period,
        )
        await conn.execute("DELETE FROM fee_rates WHERE fee_item_id = $1", fee_item_id)
        await conn.executemany(
            "INSERT INTO fee_rates (fee_item_id, grade, class_name, amount) VALUES ($1, $2, $3, $4)",
            [(fee_item_id, r.grade, r.class_name, r.amount) for r in item.rates],
        )


async def deactivate_fee_item(pool: asyncpg.Pool, school_id: str, code: str) -> None:
    done = await pool.fetchval(
        "UPDATE fee_items SET active = false, updated_at = now() WHERE school_id = $1 AND code = $2 RETURNING true",
        school_id,
        code,
    )
    if not done:
        raise NotFound(f"no fee item {code!r} at school {school_id!r}")


async def load_fee_items(conn: asyncpg.Connection | asyncpg.Pool, school_id: str) -> list[FeeItem]:
    rows = await conn.fetch(
        """SELECT i.code, i.name, i.category, i.cadence, i.per_day, i.state_funded, i.one_off_period,
                  coalesce(array_agg(r.amount ORDER BY r.grade NULLS FIRST, r.class_name NULLS FIRST)
                           FILTER (WHERE r.amount IS NOT NULL), '{}') AS amounts,
                  array_agg(r.grade ORDER BY r.grade NULLS FIRST, r.class_name NULLS FIRST) AS grades,
                  array_agg(r.class_name ORDER BY r.grade NULLS FIRST, r.class_name NULLS FIRST) AS classes
           FROM fee_items i LEFT JOIN fee_rates r USING (fee_item_id)
           WHERE i.school_id = $1 AND i.active GROUP BY i.fee_item_id ORDER BY i.code""",
        school_id,
    )
    return [
        FeeItem(
            r["code"],
            r["name"],
            FeeCategory(r["category"]),
            Cadence(r["cadence"]),
            tuple(Rate(a, g, c) for a, g, c in zip(r["amounts"], r["grades"], r["classes"], strict=False)),
            r["per_day"],
            r["state_funded"],
            r["one_off_period"],
        )
        for r in rows
    ]


async def set_school_days(pool: asyncpg.Pool, school_id: str, period: Period, days: int) -> None:
    if not 0 <= days <= 31:
        raise Invalid(f"school days must be between 0 and 31, got {days}")
    async with pool.acquire() as conn:
        await get_school(conn, school_id)
        await conn.execute(
            "INSERT INTO school_calendar VALUES ($1, $2, $3) "
            "ON CONFLICT (school_id, period) DO UPDATE SET school_days = $3",
            school_id,
            period.code,
            days,
        )


@dataclass(frozen=True)
class AddPolicy:
    school_id: str | None  # None: a national rule for every school
    category: str
    fee_category: str
    kind: str
    value: int
    effective_from: date
    effective_to: date | None = None
    legal_basis: str = ""


async def add_policy(pool: asyncpg.Pool, cmd: AddPolicy) -> int:
    try:
        Policy(
            cmd.category,
            FeeCategory(cmd.fee_category),
            ReductionKind(cmd.kind),
            cmd.value,
            cmd.effective_from,
            cmd.effective_to,
            cmd.legal_basis,
        )
    except (FeeError, ValueError) as exc:
        raise Invalid(str(exc)) from exc
    if cmd.effective_to is not None and cmd.effective_to < cmd.effective_from:
        raise Invalid("effective_to is before effective_from")
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT 1 FROM policy_categories WHERE code = $1", cmd.category):
            raise Invalid(f"unknown policy category {cmd.category!r}")
        return await conn.fetchval(  # type: ignore[no-any-return]
            """INSERT INTO exemption_policies (school_id, category, fee_category, kind, value, effective_from,
                                                effective_to, legal_basis)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING policy_id""",
            cmd.school_id,
            cmd.category,
            cmd.fee_category,
            cmd.kind,
            cmd.value,
            cmd.effective_from,
            cmd.effective_to,
            cmd.legal_basis,
        )


async def load_policies(conn: asyncpg.Connection | asyncpg.Pool, school_id: str) -> list[Policy]:
    rows = await conn.fetch(
        "SELECT * FROM exemption_policies WHERE school_id IS NULL OR school_id = $1 ORDER BY policy_id", school_id
    )
    return [
        Policy(
            r["category"],
            FeeCategory(r["fee_category"]),
            ReductionKind(r["kind"]),
            r["value"],
            r["effective_from"],
            r["effective_to"],
            r["legal_basis"],
        )
        for r in rows
    ]


async def visible_policies(
    db: Executor, *, every_school: bool, school: str | None, district: str | None
) -> dict[str, Any]:
    """The national rules, and the schools' own rules the caller may see: an accountant its school's, a
    district its schools', a service all."""
    cats = await db.fetch("SELECT code, name, legal_basis FROM policy_categories ORDER BY code")
    rules = await db.fetch(
        "SELECT e.* FROM exemption_policies e LEFT JOIN schools s USING (school_id) "
        "WHERE e.school_id IS NULL OR $1 OR e.school_id = $2 OR s.district_code = $3 ORDER BY policy_id",
        every_school,
        school,
        district,
    )
    return {"categories": [dict(r) for r in cats], "policies": [dict(r) for r in rules]}
