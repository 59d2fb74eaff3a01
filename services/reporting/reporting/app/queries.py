"""The figures read from the projections, for any scope: district, school, period, fee type, grade, class."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from reporting.domain.figures import Figures


class ScopeError(ValueError):
    pass


@dataclass(frozen=True)
class Scope:
    district: str | None = None
    school: str | None = None
    period: str | None = None  # YYYY-MM, YYYY-Qn, or school year YYYY-YYYY
    fee_type: str | None = None

    def __post_init__(self) -> None:
        if self.period and not re.fullmatch(r"\d{4}-(\d{2}|Q[1-4]|\d{4})", self.period):
            raise ScopeError(f"period must be YYYY-MM, YYYY-Qn or a school year YYYY-YYYY, got {self.period!r}")


_SCOPE = """
  WITH inv AS (
    SELECT i.* FROM invoices i JOIN schools s USING (school_id)
    WHERE NOT i.cancelled AND ($1::text IS NULL OR s.district_code = $1) AND ($2::text IS NULL OR i.school_id = $2)
      AND ($3::text IS NULL OR i.period = $3 OR i.quarter = $3 OR i.school_year = $3)),
  per_inv AS (
    SELECT inv.*, coalesce(f.invoiced, 0) AS invoiced, coalesce(c.collected, 0) AS collected,
           coalesce(c.cashless, 0) AS cashless, coalesce(c.all_collected, 0) >= inv.total AS paid_up,
           coalesce(p.payments, 0) AS payments, coalesce(p.cashless_payments, 0) AS cashless_payments
    FROM inv
    LEFT JOIN (SELECT invoice_id, sum(amount) FILTER (WHERE $4::text IS NULL OR category = $4) AS invoiced
               FROM invoice_fees WHERE invoice_id IN (SELECT invoice_id FROM inv) GROUP BY 1) f USING (invoice_id)
    LEFT JOIN (SELECT invoice_id, sum(collected) FILTER (WHERE $4::text IS NULL OR category = $4) AS collected,
                      sum(cashless) FILTER (WHERE $4::text IS NULL OR category = $4) AS cashless,
                      sum(collected) AS all_collected
               FROM invoice_collected WHERE invoice_id IN (SELECT invoice_id FROM inv) GROUP BY 1) c USING (invoice_id)
    LEFT JOIN (SELECT invoice_id, count(*) AS payments, count(*) FILTER (WHERE cashless) AS cashless_payments
               FROM payments WHERE NOT reversed AND invoice_id IN (SELECT invoice_id FROM inv) GROUP BY 1) p
           USING (invoice_id))
"""

_AGG = """sum(invoiced)::bigint AS invoiced, sum(collected)::bigint AS collected, sum(cashless)::bigint AS cashless,
  coalesce(sum(invoiced - collected) FILTER (WHERE due_date < $5), 0)::bigint AS overdue, count(*) AS invoices,
  count(DISTINCT student_id) AS students,
  count(DISTINCT student_id) - count(DISTINCT student_id) FILTER (WHERE NOT paid_up) AS students_fully_paid,
  sum(payments)::bigint AS payments, sum(cashless_payments)::bigint AS cashless_payments"""

GROUPS = {"school": "school_id", "grade": "grade", "class": "class_name", "period": "period"}


def _figures(row: asyncpg.Record) -> Figures:
    return Figures(
        row["invoiced"] or 0,
        row["collected"] or 0,
        row["cashless"] or 0,
        row["overdue"] or 0,
        row["students"] or 0,
        row["students_fully_paid"] or 0,
        row["payments"] or 0,
        row["cashless_payments"] or 0,
        row["invoices"] or 0,
    )


def _args(scope: Scope, today: date) -> tuple[Any, ...]:
    return (scope.district, scope.school, scope.period, scope.fee_type, today)


async def totals(pool: asyncpg.Pool, scope: Scope, today: date) -> Figures:
    row = await pool.fetchrow(_SCOPE + f"SELECT {_AGG} FROM per_inv", *_args(scope, today))
    return _figures(row)


async def grouped(pool: asyncpg.Pool, scope: Scope, today: date, by: str) -> list[tuple[str, Figures]]:
    key = GROUPS[by]
    rows = await pool.fetch(
        _SCOPE + f"SELECT {key} AS key, {_AGG} FROM per_inv GROUP BY 1 ORDER BY 1",
        *_args(scope, today),
    )
    return [(r["key"], _figures(r)) for r in rows]


async def by_fee_type(pool: asyncpg.Pool, scope: Scope, today: date) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        _SCOPE
        + """SELECT f.category, sum(f.amount)::bigint AS invoiced, coalesce(sum(c.collected), 0)::bigint AS collected,
                    coalesce(sum(c.cashless), 0)::bigint AS cashless,
                    coalesce(sum(f.amount - coalesce(c.collected, 0)) FILTER (WHERE per_inv.due_date < $5), 0)::bigint
                        AS overdue
                 FROM per_inv JOIN invoice_fees f USING (invoice_id)
                 LEFT JOIN invoice_collected c ON c.invoice_id = f.invoice_id AND c.category = f.category
                 WHERE $4::text IS NULL OR f.category = $4
                 GROUP BY 1 ORDER BY 1""",
        *_args(scope, today),
    )
    return [
        dict(r)
        | Figures(r["invoiced"], r["collected"], r["cashless"], r["overdue"]).as_dict()
        | {"category": r["category"]}
        for r in rows
    ]


async def exemptions(pool: asyncpg.Pool, scope: Scope, today: date) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        _SCOPE
        + """SELECT r.policy_category, r.category, count(DISTINCT per_inv.student_id) AS students,
                    sum(r.reduction)::bigint AS reduction
                 FROM per_inv JOIN invoice_reductions r USING (invoice_id) GROUP BY 1, 2 ORDER BY 1, 2""",
        *_args(scope, today)[:4],
    )  # no due-date parameter in this one
    return [dict(r) for r in rows]


async def schools_of(pool: asyncpg.Pool, district: str) -> dict[str, asyncpg.Record]:
    rows = await pool.fetch(
        "SELECT s.*, EXISTS (SELECT 1 FROM payments p WHERE p.school_id = s.school_id AND p.cashless "
        "AND NOT p.reversed) AS cashless_received FROM schools s WHERE district_code = $1",
        district,
    )
    return {r["school_id"]: r for r in rows}


async def district_view(pool: asyncpg.Pool, scope: Scope, today: date) -> dict[str, Any]:
    """The ranked table: schools by collection rate then cashless share, lowest first to act on."""
    assert scope.district is not None
    schools = await schools_of(pool, scope.district)
    rows = []
    figures = dict(await grouped(pool, scope, today, "school"))
    for school_id, s in schools.items():
        f = figures.get(school_id, Figures())
        rows.append(
            {
                "school_id": school_id,
                "name": s["name"],
                "ownership": s["ownership"],
                "accepts_cashless": bool(s["has_account"]),
                "cashless_received": bool(s["cashless_received"]),
                **f.as_dict(),
            }
        )
    rows.sort(
        key=lambda r: (
            r["collection_rate_pct"] is None,
            -(r["collection_rate_pct"] or 0),
            -(r["cashless_share_pct"] or 0),
            r["name"],
        )
    )
    return {
        "district": scope.district,
        "period": scope.period,
        "fee_type": scope.fee_type,
        "totals": (await totals(pool, scope, today)).as_dict(),
        "schools": rows,
        "exemptions": await exemptions(pool, scope, today),
    }


async def school_view(pool: asyncpg.Pool, scope: Scope, today: date) -> dict[str, Any]:
    assert scope.school is not None
    school = await pool.fetchrow("SELECT * FROM schools WHERE school_id = $1", scope.school)
    return {
        "school_id": scope.school,
        "name": school["name"] if school else scope.school,
        "period": scope.period,
        "fee_type": scope.fee_type,
        "totals": (await totals(pool, scope, today)).as_dict(),
        "by_fee_type": await by_fee_type(pool, scope, today),
        "by_grade": [{"grade": k, **f.as_dict()} for k, f in await grouped(pool, scope, today, "grade")],
        "by_class": [{"class_name": k, **f.as_dict()} for k, f in await grouped(pool, scope, today, "class")],
        "exemptions": await exemptions(pool, scope, today),
    }


async def trend(pool: asyncpg.Pool, scope: Scope, today: date) -> list[dict[str, Any]]:
    return [{"period": k, **f.as_dict()} for k, f in await grouped(pool, scope, today, "period")]
