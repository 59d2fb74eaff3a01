"""The figures read from the projections, for any scope: district, school, period, fee type, grade, class."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from reporting.domain.figures import Figures
from shared.errors import Invalid


class ScopeError(Invalid, ValueError):
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


def _period_column(period: str) -> str:
    if re.fullmatch(r"\d{4}-\d{2}", period):
        return "period"
    return "quarter" if "Q" in period else "school_year"


def _scope_sql(scope: Scope, today: date) -> tuple[str, list[Any]]:
    """`per_inv`: one row per invoice of the scope with its figures (for the fee type, when one is asked).

    Built from constant fragments; every value is a bound parameter. Filters use the projection's indexes
    (district or school, then month, quarter or school year)."""
    args: list[Any] = []
    where = ["NOT i.cancelled"]
    if scope.district:
        args.append(scope.district)
        where.append(f"i.district_code = ${len(args)}")
    if scope.school:
        args.append(scope.school)
        where.append(f"i.school_id = ${len(args)}")
    if scope.period:
        args.append(scope.period)
        where.append(f"i.{_period_column(scope.period)} = ${len(args)}")
    if scope.fee_type:
        args.append(scope.fee_type)
        n = len(args)
        source = (
            f"SELECT i.invoice_id, i.school_id, i.student_id, i.grade, i.class_name, i.period, i.due_date, "
            f"f.amount AS invoiced, coalesce(c.collected, 0) AS collected, coalesce(c.cashless, 0) AS cashless, "
            f"i.paid_up, i.payments, i.cashless_payments FROM invoices i "
            f"JOIN invoice_fees f ON f.invoice_id = i.invoice_id AND f.category = ${n} "
            f"LEFT JOIN invoice_collected c ON c.invoice_id = i.invoice_id AND c.category = ${n}"
        )
    else:
        source = (
            "SELECT i.invoice_id, i.school_id, i.student_id, i.grade, i.class_name, i.period, i.due_date, "
            "i.invoiced, i.collected, i.cashless, i.paid_up, i.payments, i.cashless_payments FROM invoices i"
        )
    args.append(today)
    return f"WITH per_inv AS ({source} WHERE {' AND '.join(where)}) ", args


def _agg(today_param: int) -> str:
    return f"""sum(invoiced)::bigint AS invoiced, sum(collected)::bigint AS collected,
  sum(cashless)::bigint AS cashless,
  coalesce(sum(invoiced - collected) FILTER (WHERE due_date < ${today_param}), 0)::bigint AS overdue,
  count(*) AS invoices, count(DISTINCT student_id) AS students,
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


async def totals(pool: asyncpg.Pool, scope: Scope, today: date) -> Figures:
    sql, args = _scope_sql(scope, today)
    row = await pool.fetchrow(sql + f"SELECT {_agg(len(args))} FROM per_inv", *args)
    return _figures(row)


async def grouped(pool: asyncpg.Pool, scope: Scope, today: date, by: str) -> list[tuple[str, Figures]]:
    key = GROUPS[by]
    sql, args = _scope_sql(scope, today)
    rows = await pool.fetch(sql + f"SELECT {key} AS key, {_agg(len(args))} FROM per_inv GROUP BY 1 ORDER BY 1", *args)
    return [(r["key"], _figures(r)) for r in rows]


async def by_fee_type(pool: asyncpg.Pool, scope: Scope, today: date) -> list[dict[str, Any]]:
    sql, args = _scope_sql(Scope(scope.district, scope.school, scope.period), today)
    today_param = len(args)
    fee_filter = ""
    if scope.fee_type:
        args.append(scope.fee_type)
        fee_filter = f"WHERE f.category = ${len(args)}"
    rows = await pool.fetch(
        sql
        + f"""SELECT f.category, sum(f.amount)::bigint AS invoiced, coalesce(sum(c.collected), 0)::bigint AS collected,
                    coalesce(sum(c.cashless), 0)::bigint AS cashless,
                    coalesce(sum(f.amount - coalesce(c.collected, 0))
                             FILTER (WHERE per_inv.due_date < ${today_param}), 0)::bigint AS overdue
                 FROM per_inv JOIN invoice_fees f USING (invoice_id)
                 LEFT JOIN invoice_collected c ON c.invoice_id = f.invoice_id AND c.category = f.category
                 {fee_filter} GROUP BY 1 ORDER BY 1""",
        *args,
    )
    return [
        dict(r)
        | Figures(r["invoiced"], r["collected"], r["cashless"], r["overdue"]).as_dict()
        | {"category": r["category"]}
        for r in rows
    ]


async def exemptions(pool: asyncpg.Pool, scope: Scope, today: date) -> list[dict[str, Any]]:
    sql, args = _scope_sql(scope, today)
    args.pop()  # no due date here
    rows = await pool.fetch(
        sql
        + """SELECT r.policy_category, r.category, count(DISTINCT per_inv.student_id) AS students,
                    sum(r.reduction)::bigint AS reduction
                 FROM per_inv JOIN invoice_reductions r USING (invoice_id) GROUP BY 1, 2 ORDER BY 1, 2""",
        *args,
    )
    return [dict(r) for r in rows]


async def schools_of(pool: asyncpg.Pool, district: str) -> dict[str, asyncpg.Record]:
    rows = await pool.fetch(
        "SELECT s.*, EXISTS (SELECT 1 FROM payments p WHERE p.school_id = s.school_id AND p.cashless "
        "AND NOT p.reversed) AS cashless_received FROM schools s WHERE district_code = $1",
        district,
    )
    return {r["school_id"]: r for r in rows}


def _sum(parts: Iterable[Figures]) -> Figures:
    """District totals from the per-school rows: exact, since a pupil belongs to one school."""
    total = Figures()
    for f in parts:
        for name in (
            "invoiced",
            "collected",
            "cashless",
            "overdue",
            "students",
            "students_fully_paid",
            "payments",
            "cashless_payments",
            "invoices",
        ):
            setattr(total, name, getattr(total, name) + getattr(f, name))
    return total


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
        "totals": _sum(figures.get(school_id, Figures()) for school_id in schools).as_dict(),
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


async def projection_version(db: asyncpg.Pool) -> int:
    """Bumped with every applied event: the dashboard's stream tells the browser when to refresh."""
    return int(await db.fetchval("SELECT version FROM projection_version"))
