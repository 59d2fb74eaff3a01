"""Collection rounds (đợt thu): the extra rounds a school opens besides the period's invoice."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime

import asyncpg

from shared import rows
from shared.db import Executor


@dataclass(frozen=True, kw_only=True)
class RoundLine:
    """What a round asks: a name, a fee category, an amount."""

    name: str
    category: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class Round:
    """A collection round, with its invoices' count and totals."""

    school_id: str
    code: str
    name: str
    period: str
    class_name: str | None
    grade: str | None
    due_date: date
    items: list[RoundLine]
    created_by: str
    created_at: datetime
    invoices: int
    invoiced: int
    collected: int


async def add(
    conn: asyncpg.Connection,
    *,
    school_id: str,
    code: str,
    name: str,
    period: str,
    class_name: str | None,
    grade: str | None,
    due_date: date,
    items: Sequence[RoundLine],
    created_by: str,
) -> bool:
    """False when the school already has a round of this code."""
    added = await conn.fetchval(
        "INSERT INTO collection_rounds (school_id, code, name, period, class_name, grade, due_date, items, "
        "created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING true",
        school_id,
        code,
        name,
        period,
        class_name,
        grade,
        due_date,
        json.dumps([asdict(i) for i in items], ensure_ascii=False),
        created_by,
    )
    return bool(added)


async def of_school(db: Executor, school_id: str) -> list[Round]:
    """The school's rounds, newest first, each with its invoices' count and totals."""
    found = await db.fetch(
        """SELECT r.*, count(i.invoice_id) AS invoices, coalesce(sum(i.total), 0)::bigint AS invoiced,
                  coalesce(sum(least(i.amount_paid, i.total)) FILTER (WHERE i.status <> 'cancelled'), 0)::bigint
                      AS collected
           FROM collection_rounds r
           LEFT JOIN invoices i ON i.school_id = r.school_id AND i.round_code = r.code AND i.period = r.period
           WHERE r.school_id = $1 GROUP BY r.school_id, r.code ORDER BY r.created_at DESC""",
        school_id,
    )
    plain = [k for k in rows.columns(Round) if k != "items"]
    return [Round(**{k: r[k] for k in plain}, items=[RoundLine(**i) for i in json.loads(r["items"])]) for r in found]
