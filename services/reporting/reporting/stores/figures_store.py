"""The figures read from the projections for a scope: totals, groups, fee types, exemptions, schools."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from reporting.domain.figures import Figures
from reporting.domain.scope import Scope
from reporting.domain.views import Exemption, PersonalIds
from shared import rows as mapped
from shared.db import Executor

# What a figure can be grouped by, and the roll-ups' column for it (pupils' counts of a month are kept under
# the scope kind `period`, so a group by month reads them by `scope`; grades and classes are in `class_figures`).
GROUPS = {"school": "school_id", "grade": "grade", "class": "class_name", "period": "period"}


class _Args(list[Any]):
    """Bound parameters: `add` appends a value and names its placeholder."""

    def add(self, value: Any) -> str:
        self.append(value)
        return f"${len(self)}"


def _where(scope: Scope, args: _Args, *, district: str, school: str) -> list[str]:
    """The scope's district or school, every value a bound parameter."""
    where = [f"{district} = {args.add(scope.district)}"] if scope.district else []
    return where + ([f"{school} = {args.add(scope.school)}"] if scope.school else [])


def _money_sql(scope: Scope, args: _Args, *, policies: bool = False, each: bool = False, by_class: bool = False) -> str:
    """`FROM school_figures WHERE …` for the scope: its district or school, its period (a month, quarter, school
    year or calendar year), the whole invoices or the scope's fee type (`each`: every fee type, or the scope's),
    the money (no policy) or the reductions (`policies`); `by_class`: from `class_figures`, which has them."""
    where = _where(scope, args, district="district_code", school="school_id")
    if scope.period:
        where.append(f"{scope.period_kind} = {args.add(scope.period)}")
    where.append("category <> ''" if each and not scope.fee_type else f"category = {args.add(scope.fee_type or '')}")
    where.append("policy <> ''" if policies else "policy = ''")
    return f"FROM {'class_figures' if by_class else 'school_figures'} WHERE {' AND '.join(where)}"


def _pupils_sql(scope: Scope, args: _Args, *, by_month: bool = False, policies: bool = False) -> str:
    """`FROM student_counts WHERE …` for the scope, like `_money_sql`; `by_month`: the counts of each month of
    the scope's period (kind `period`), not those of the period as a whole."""
    where = _where(scope, args, district="district_code", school="school_id")
    if by_month:
        where.append(f"kind = 'period' AND scope IN (SELECT DISTINCT period {_money_sql(scope, args)})")
    else:
        kind = args.add("all" if scope.period is None else scope.period_kind)
        where.append(f"kind = {kind} AND scope = {args.add(scope.period or '')}")
    if policies:
        where.append("policy <> ''" + (f" AND category = {args.add(scope.fee_type)}" if scope.fee_type else ""))
    else:
        where.append(f"category = {args.add(scope.fee_type or '')} AND policy = ''")
    return f"FROM student_counts WHERE {' AND '.join(where)}"


_MONEY = """sum(invoiced)::bigint AS invoiced, sum(collected)::bigint AS collected, sum(cashless)::bigint AS cashless,
  coalesce(sum(invoiced - collected) FILTER (WHERE due_date < {today}), 0)::bigint AS overdue,
  sum(invoices)::bigint AS invoices, sum(payments)::bigint AS payments,
  sum(cashless_payments)::bigint AS cashless_payments"""


@dataclass(frozen=True, kw_only=True)
class School:
    """A school as the projection knows it, with its latest roster count (none yet: 0 pupils)."""

    school_id: str
    name: str
    district_code: str
    ownership: str
    has_account: bool
    students_enrolled: int
    students_with_personal_id: int

    @property
    def ids(self) -> PersonalIds:
        return PersonalIds(
            students_enrolled=self.students_enrolled, students_with_personal_id=self.students_with_personal_id
        )


def _figures(money: Mapping[str, Any] | None, pupils: Mapping[str, Any] | None) -> Figures:
    def get(row: Mapping[str, Any] | None, name: str) -> int:
        return int(row[name] or 0) if row is not None else 0

    return Figures(
        invoiced=get(money, "invoiced"),
        collected=get(money, "collected"),
        cashless=get(money, "cashless"),
        overdue=get(money, "overdue"),
        students=get(pupils, "students"),
        students_fully_paid=get(pupils, "fully_paid"),
        payments=get(money, "payments"),
        cashless_payments=get(money, "cashless_payments"),
        invoices=get(money, "invoices"),
    )


async def totals(db: Executor, scope: Scope, today: date) -> Figures:
    args, pupil_args = _Args(), _Args()
    money = _money_sql(scope, args)
    m = await db.fetchrow(f"SELECT {_MONEY.format(today=args.add(today))} {money}", *args)
    p = await db.fetchrow(
        f"SELECT sum(students)::bigint AS students, sum(fully_paid)::bigint AS fully_paid "
        f"{_pupils_sql(scope, pupil_args)}",
        *pupil_args,
    )
    return _figures(m, p)


async def grouped(db: Executor, scope: Scope, today: date, by: str) -> list[tuple[str, Figures]]:
    """The scope's figures per school, grade, class or month (groups with no invoice left out)."""
    key = GROUPS[by]
    args, pupil_args = _Args(), _Args()
    money = _money_sql(scope, args, by_class=by in ("grade", "class"))
    m = await db.fetch(
        f"SELECT {key} AS key, {_MONEY.format(today=args.add(today))} {money} GROUP BY 1 HAVING sum(invoices) > 0",
        *args,
    )
    pupils = _pupils_sql(scope, pupil_args, by_month=by == "period")
    p = await db.fetch(
        f"SELECT {'scope' if by == 'period' else key} AS key, sum(students)::bigint AS students, "
        f"sum(fully_paid)::bigint AS fully_paid {pupils} GROUP BY 1",
        *pupil_args,
    )
    counted = {r["key"]: r for r in p}
    return sorted((r["key"], _figures(r, counted.get(r["key"]))) for r in m)


async def by_fee_type(db: Executor, scope: Scope, today: date) -> list[tuple[str, Figures]]:
    """Per fee category of the scope's invoices (only the scope's fee type, when one is asked); payments are not
    counted per fee type."""
    args = _Args()
    money = _money_sql(scope, args, each=True)
    found = await db.fetch(
        f"""SELECT category, sum(invoiced)::bigint AS invoiced, sum(collected)::bigint AS collected,
                   sum(cashless)::bigint AS cashless,
                   coalesce(sum(invoiced - collected) FILTER (WHERE due_date < {args.add(today)}), 0)::bigint AS overdue
              {money} GROUP BY 1 HAVING sum(invoices) > 0 ORDER BY 1""",
        *args,
    )
    return [
        (r["category"], Figures(**{k: r[k] for k in ("invoiced", "collected", "cashless", "overdue")})) for r in found
    ]


async def exemptions(db: Executor, scope: Scope) -> list[Exemption]:
    """Reductions per (policy category, fee type): pupils and amount (on the scope's fee type, when asked)."""
    args, pupil_args = _Args(), _Args()
    money = _money_sql(scope, args, policies=True, each=True)
    m = await db.fetch(
        f"SELECT policy, category, sum(invoiced)::bigint AS reduction {money} "
        "GROUP BY 1, 2 HAVING sum(invoices) > 0 ORDER BY 1, 2",
        *args,
    )
    pupils = _pupils_sql(scope, pupil_args, policies=True)
    p = await db.fetch(
        f"SELECT policy, category, sum(students)::bigint AS students {pupils} GROUP BY 1, 2", *pupil_args
    )
    counted = {(r["policy"], r["category"]): r["students"] for r in p}
    return [
        Exemption(
            policy_category=r["policy"],
            category=r["category"],
            students=int(counted.get((r["policy"], r["category"]), 0)),
            reduction=r["reduction"],
        )
        for r in m
    ]


# Schools with their latest roster count (none yet: 0 pupils).
_SCHOOLS = (
    "SELECT s.*, coalesce(r.students, 0) AS students_enrolled, coalesce(r.with_personal_id, 0) "
    "AS students_with_personal_id FROM schools s LEFT JOIN rosters r USING (school_id) WHERE "
)


async def schools_of(db: Executor, district: str) -> dict[str, School]:
    """The district's schools, each with its latest roster count (none yet: 0 pupils)."""
    found = mapped.rows(School, await db.fetch(_SCHOOLS + "district_code = $1", district))
    return {s.school_id: s for s in found}


async def refunds(db: Executor, scope: Scope) -> tuple[int, int]:
    """(number, amount) of the refunds recorded in the scope (its schools, the month/quarter/year of recording)."""
    month = {"period": "month"}.get(scope.period_kind, scope.period_kind)  # refunds go by the month recorded
    args = _Args()
    where = ["true", *_where(scope, args, district="s.district_code", school="r.school_id")]
    if scope.period:
        where.append(f"r.{month} = {args.add(scope.period)}")
    row = await db.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(r.amount), 0)::bigint AS amount FROM refunds r "
        f"LEFT JOIN schools s USING (school_id) WHERE {' AND '.join(where)}",
        *args,
    )
    return int(row["n"]), int(row["amount"])


async def school(db: Executor, school_id: str) -> School | None:
    """The school with its latest roster count, like `schools_of`."""
    return mapped.maybe(School, await db.fetchrow(_SCHOOLS + "s.school_id = $1", school_id))


async def projection_version(db: Executor) -> int:
    return int(await db.fetchval("SELECT version FROM projection_version"))


async def logged_envelopes(db: Executor, school_id: str) -> list[bytes]:
    """The school's events as the projection received them, in order."""
    rows = await db.fetch("SELECT envelope FROM event_log WHERE school_id = $1 ORDER BY seq", school_id)
    return [bytes(r["envelope"]) for r in rows]
