"""Fee items and their rates, school calendars, exemption policies and their categories."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from invoicing.domain.fees import Cadence, FeeCategory, FeeItem, Policy, Rate, ReductionKind
from shared import rows
from shared.db import Executor


async def put_item(conn: asyncpg.Connection, school_id: str, item: FeeItem) -> None:
    """Create or replace one fee item with its rates (the item is active again if it was not)."""
    fee_item_id = await conn.fetchval(
        """INSERT INTO fee_items (fee_item_id, school_id, code, name, category, cadence, per_day, state_funded,
                                  one_off_period)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (school_id, code) DO UPDATE SET name = $4, category = $5, cadence = $6, per_day = $7,
               state_funded = $8, one_off_period = $9, active = true, updated_at = now()
           RETURNING fee_item_id""",
        uuid.uuid4(),
        school_id,
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


async def deactivate_item(db: Executor, school_id: str, code: str) -> bool:
    done = await db.fetchval(
        "UPDATE fee_items SET active = false, updated_at = now() WHERE school_id = $1 AND code = $2 RETURNING true",
        school_id,
        code,
    )
    return bool(done)


async def active_items(db: Executor, school_id: str) -> list[FeeItem]:
    rows = await db.fetch(
        """SELECT i.code, i.name, i.category, i.cadence, i.per_day, i.state_funded, i.one_off_period,
                  coalesce(array_agg(r.amount ORDER BY r.grade NULLS FIRST, r.class_name NULLS FIRST)
                           FILTER (WHERE r.amount IS NOT NULL), '{}') AS amounts,
                  array_agg(r.grade ORDER BY r.grade NULLS FIRST, r.class_name NULLS FIRST) AS grades,
                  array_agg(r.class_name ORDER BY r.grade NULLS FIRST, r.class_name NULLS FIRST) AS classes
           FROM fee_items i LEFT JOIN fee_rates r USING (fee_item_id)
           WHERE i.school_id = $1 AND i.active GROUP BY i.fee_item_id ORDER BY i.code""",
        school_id,
    )
    return [_item_from_row(r) for r in rows]


def _item_from_row(r: Mapping[str, Any]) -> FeeItem:
    return FeeItem(
        code=r["code"],
        name=r["name"],
        category=FeeCategory(r["category"]),
        cadence=Cadence(r["cadence"]),
        rates=tuple(Rate(a, g, c) for a, g, c in zip(r["amounts"], r["grades"], r["classes"], strict=False)),
        per_day=r["per_day"],
        state_funded=r["state_funded"],
        one_off_period=r["one_off_period"],
    )


async def set_school_days(db: Executor, school_id: str, period: str, days: int) -> None:
    await db.execute(
        "INSERT INTO school_calendar VALUES ($1, $2, $3) "
        "ON CONFLICT (school_id, period) DO UPDATE SET school_days = $3",
        school_id,
        period,
        days,
    )


async def category_exists(db: Executor, code: str) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM policy_categories WHERE code = $1", code))


async def add_policy(db: Executor, school_id: str | None, policy: Policy) -> int:
    policy_id = await db.fetchval(
        """INSERT INTO exemption_policies (school_id, category, fee_category, kind, value, effective_from,
                                            effective_to, legal_basis, everyone, ownership, cap, article)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING policy_id""",
        school_id,
        policy.category,
        str(policy.fee_category),
        str(policy.kind),
        policy.value,
        policy.effective_from,
        policy.effective_to,
        policy.legal_basis,
        policy.everyone,
        policy.ownership,
        policy.cap,
        policy.article,
    )
    return int(policy_id)


async def policies_for(db: Executor, school_id: str) -> list[Policy]:
    """The national rules and the school's own, in the order they were added."""
    rows = await db.fetch(
        "SELECT * FROM exemption_policies WHERE school_id IS NULL OR school_id = $1 ORDER BY policy_id", school_id
    )
    return [
        Policy(
            category=r["category"],
            fee_category=FeeCategory(r["fee_category"]),
            kind=ReductionKind(r["kind"]),
            value=r["value"],
            effective_from=r["effective_from"],
            effective_to=r["effective_to"],
            legal_basis=r["legal_basis"],
            everyone=r["everyone"],
            ownership=r["ownership"],
            cap=r["cap"],
            article=r["article"],
            school_specific=r["school_id"] is not None,
        )
        for r in rows
    ]


@dataclass(frozen=True, kw_only=True)
class Category:
    """A policy category (đối tượng miễn giảm) and its legal basis."""

    code: str
    name: str
    legal_basis: str


@dataclass(frozen=True, kw_only=True)
class Rule:
    """An exemption or reduction rule as stored: national (no school) or a school's own."""

    policy_id: int
    school_id: str | None
    category: str
    fee_category: str
    kind: str
    value: int
    effective_from: date
    effective_to: date | None
    legal_basis: str
    created_at: datetime
    everyone: bool
    ownership: str | None
    cap: int | None
    article: str


async def categories(db: Executor) -> list[Category]:
    return rows.rows(Category, await db.fetch("SELECT code, name, legal_basis FROM policy_categories ORDER BY code"))


async def visible_policies(db: Executor, *, every_school: bool, school: str | None, district: str | None) -> list[Rule]:
    found = await db.fetch(
        "SELECT e.* FROM exemption_policies e LEFT JOIN schools s USING (school_id) "
        "WHERE e.school_id IS NULL OR $1 OR e.school_id = $2 OR s.district_code = $3 ORDER BY policy_id",
        every_school,
        school,
        district,
    )
    return rows.rows(Rule, found)
