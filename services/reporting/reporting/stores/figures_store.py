"""The figures read from the projections for a scope: totals, groups, fee types, exemptions, schools."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from reporting.domain.figures import Figures
from reporting.domain.scope import Scope
from shared.db import Executor

GROUPS = {"school": "school_id", "grade": "grade", "class": "class_name", "period": "period"}


def _filters(scope: Scope, *, district: str, school: str, period: str) -> tuple[list[str], list[Any]]:
    """The scope's conditions on the given columns, every value a bound parameter."""
    args: list[Any] = []
    where = []
    for value, column in ((scope.district, district), (scope.school, school), (scope.period, period)):
        if value:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    return where, args


def _scope_sql(scope: Scope, today: date) -> tuple[str, list[Any]]:
    """`per_inv`: one row per invoice of the scope with its figures (for the fee type, when one is asked).

    Built from constant fragments; every value is a bound parameter. Filters use the projection's indexes
    (district or school, then month, quarter or school year). The last argument is `today`."""
    filters, args = _filters(scope, district="i.district_code", school="i.school_id", period=f"i.{scope.period_kind}")
    where = ["NOT i.cancelled", *filters]
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


def _figures(row: asyncpg.Record) -> Figures:
    return Figures(
        invoiced=row["invoiced"] or 0,
        collected=row["collected"] or 0,
        cashless=row["cashless"] or 0,
        overdue=row["overdue"] or 0,
        students=row["students"] or 0,
        students_fully_paid=row["students_fully_paid"] or 0,
        payments=row["payments"] or 0,
        cashless_payments=row["cashless_payments"] or 0,
        invoices=row["invoices"] or 0,
    )


async def totals(db: Executor, scope: Scope, today: date) -> Figures:
    sql, args = _scope_sql(scope, today)
    row = await db.fetchrow(sql + f"SELECT {_agg(len(args))} FROM per_inv", *args)
    return _figures(row)


async def grouped(db: Executor, scope: Scope, today: date, by: str) -> list[tuple[str, Figures]]:
    key = GROUPS[by]
    sql, args = _scope_sql(scope, today)
    rows = await db.fetch(sql + f"SELECT {key} AS key, {_agg(len(args))} FROM per_inv GROUP BY 1 ORDER BY 1", *args)
    return [(r["key"], _figures(r)) for r in rows]


async def by_fee_type(db: Executor, scope: Scope, today: date) -> list[asyncpg.Record]:
    """Per fee category of the scope's invoices (only the scope's fee type, when one is asked)."""
    sql, args = _scope_sql(Scope(scope.district, scope.school, scope.period), today)
    today_param = len(args)
    fee_filter = ""
    if scope.fee_type:
        args.append(scope.fee_type)
        fee_filter = f"WHERE f.category = ${len(args)}"
    return await db.fetch(
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


async def exemptions(db: Executor, scope: Scope, today: date) -> list[asyncpg.Record]:
    sql, args = _scope_sql(scope, today)
    args.pop()  # no due date here
    return await db.fetch(
        sql
        + """SELECT r.policy_category, r.category, count(DISTINCT per_inv.student_id) AS students,
                    sum(r.reduction)::bigint AS reduction
                 FROM per_inv JOIN invoice_reductions r USING (invoice_id) GROUP BY 1, 2 ORDER BY 1, 2""",
        *args,
    )


# Schools with their latest roster count (none yet: 0 pupils).
_SCHOOLS = (
    "SELECT s.*, coalesce(r.students, 0) AS students_enrolled, coalesce(r.with_personal_id, 0) "
    "AS students_with_personal_id FROM schools s LEFT JOIN rosters r USING (school_id) WHERE "
)


async def schools_of(db: Executor, district: str) -> dict[str, asyncpg.Record]:
    """The district's schools, each with its latest roster count (none yet: 0 pupils)."""
    rows = await db.fetch(
        _SCHOOLS + "district_code = $1",
        district,
    )
    return {r["school_id"]: r for r in rows}


async def refunds(db: Executor, scope: Scope) -> tuple[int, int]:
    """(number, amount) of the refunds recorded in the scope (its schools, the month/quarter/year of recording)."""
    month = {"period": "month"}.get(scope.period_kind, scope.period_kind)  # refunds go by the month recorded
    filters, args = _filters(scope, district="s.district_code", school="r.school_id", period=f"r.{month}")
    where = ["true", *filters]
    row = await db.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(r.amount), 0)::bigint AS amount FROM refunds r "
        f"LEFT JOIN schools s USING (school_id) WHERE {' AND '.join(where)}",
        *args,
    )
    return int(row["n"]), int(row["amount"])


async def school(db: Executor, school_id: str) -> asyncpg.Record | None:
    """The school with its latest roster count, like `schools_of`."""
    return await db.fetchrow(
        _SCHOOLS + "s.school_id = $1",
        school_id,
    )


async def projection_version(db: Executor) -> int:
    return int(await db.fetchval("SELECT version FROM projection_version"))


async def logged_envelopes(db: Executor, school_id: str) -> list[bytes]:
    """The school's events as the projection received them, in order."""
    rows = await db.fetch("SELECT envelope FROM event_log WHERE school_id = $1 ORDER BY seq", school_id)
    return [bytes(r["envelope"]) for r in rows]
