"""The figures read from the projections, for any scope: district, school, period, fee type, grade, class."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import asyncpg

from reporting.domain.figures import Figures, percent, school_year_of
from reporting.domain.scope import Scope
from reporting.domain.targets import Plan, judge, school_year_judged
from reporting.stores import figures_store, plans_store


def _judged(f: Figures, plan: Plan, year: str, school_id: str = "", **more: tuple[int, int]) -> dict[str, Any]:
    """The figures with each rate against its own target (the money rates and any `more` indicator)."""
    return f.as_dict() | judge(plan, year, f.measures() | more, school_id)


async def _plan_of(pool: asyncpg.Pool, district: str | None) -> Plan:
    return Plan(await plans_store.targets_of(pool, district) if district else [])


async def by_fee_type(
    pool: asyncpg.Pool, scope: Scope, today: date, plan: Plan, year: str, school_id: str = ""
) -> list[dict[str, Any]]:
    rows = await figures_store.by_fee_type(pool, scope, today)
    out = []
    for r in rows:
        f = Figures(invoiced=r["invoiced"], collected=r["collected"], cashless=r["cashless"], overdue=r["overdue"])
        # Payments are not counted per fee type: its share by number has nothing to measure.
        out.append(dict(r) | _judged(f, plan, year, school_id) | {"category": r["category"]})
    return out


async def exemptions(pool: asyncpg.Pool, scope: Scope) -> list[dict[str, Any]]:
    return await figures_store.exemptions(pool, scope)


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


def _personal_ids(with_id: int, enrolled: int) -> dict[str, Any]:
    return {
        "students_enrolled": enrolled,
        "students_with_personal_id": with_id,
        "personal_id_share_pct": percent(with_id, enrolled),
    }


def _school_row(school: asyncpg.Record, f: Figures, plan: Plan, year: str) -> dict[str, Any]:
    """One school of the district table: its figures, whether it accepts cashless payment (a collection
    account and at least one cashless payment in the period) and its pupils' personal IDs."""
    with_id, enrolled = school["students_with_personal_id"], school["students_enrolled"]
    return {
        "school_id": school["school_id"],
        "name": school["name"],
        "ownership": school["ownership"],
        "has_account": bool(school["has_account"]),
        "accepts_cashless": bool(school["has_account"]) and f.cashless_payments > 0,
        **_personal_ids(with_id, enrolled),
        **_judged(f, plan, year, school["school_id"], personal_id=(with_id, enrolled)),
    }


def _district_totals(rows: list[dict[str, Any]], figures: Figures, plan: Plan, year: str) -> dict[str, Any]:
    """The district's figures and the plans' indicators over its schools."""
    accepting = sum(r["accepts_cashless"] for r in rows)
    with_id = sum(r["students_with_personal_id"] for r in rows)
    enrolled = sum(r["students_enrolled"] for r in rows)
    return {
        "schools": len(rows),
        "schools_accepting_cashless": accepting,
        "schools_accepting_pct": percent(accepting, len(rows)),
        **_personal_ids(with_id, enrolled),
        **_judged(figures, plan, year, schools_accepting=(accepting, len(rows)), personal_id=(with_id, enrolled)),
    }


async def district_view(pool: asyncpg.Pool, scope: Scope, today: date) -> dict[str, Any]:
    """The ranked table: schools by collection rate then cashless share, lowest first to act on."""
    assert scope.district is not None
    schools = await figures_store.schools_of(pool, scope.district)
    plan, year = await _plan_of(pool, scope.district), school_year_judged(scope.period, today)
    figures = dict(await figures_store.grouped(pool, scope, today, "school"))
    rows = [_school_row(s, figures.get(school_id, Figures()), plan, year) for school_id, s in schools.items()]
    rows.sort(
        key=lambda r: (
            r["collection_rate_pct"] is None,
            -(r["collection_rate_pct"] or 0),
            -(r["cashless_share_pct"] or 0),
            r["name"],
        )
    )
    totals = _sum(figures.get(school_id, Figures()) for school_id in schools)
    return {
        "district": scope.district,
        "period": scope.period,
        "fee_type": scope.fee_type,
        "school_year": year,
        "totals": _district_totals(rows, totals, plan, year),
        "schools": rows,
        "trajectory": [t.as_dict() for t in plan.trajectory()],
        "exemptions": await exemptions(pool, scope),
        "refunds": await refunds(pool, scope),
    }


async def refunds(pool: asyncpg.Pool, scope: Scope) -> dict[str, int]:
    """Money sent back to payers (overpayments, transfers not for the school), as reconciliation recorded it."""
    count, amount = await figures_store.refunds(pool, scope)  # a refund has no fee type: it is not filtered on
    return {"count": count, "amount": amount}


async def school_view(pool: asyncpg.Pool, scope: Scope, today: date) -> dict[str, Any]:
    assert scope.school is not None
    school = await figures_store.school(pool, scope.school)
    plan = await _plan_of(pool, school["district_code"] if school else None)
    year = school_year_judged(scope.period, today)
    by_grade = await figures_store.grouped(pool, scope, today, "grade")
    by_class = await figures_store.grouped(pool, scope, today, "class")
    totals = await figures_store.totals(pool, scope, today)
    with_id, enrolled = (school["students_with_personal_id"], school["students_enrolled"]) if school else (0, 0)
    return {
        "school_id": scope.school,
        "name": school["name"] if school else scope.school,
        "period": scope.period,
        "fee_type": scope.fee_type,
        "school_year": year,
        "totals": _personal_ids(with_id, enrolled)
        | _judged(totals, plan, year, scope.school, personal_id=(with_id, enrolled)),
        "by_fee_type": await by_fee_type(pool, scope, today, plan, year, scope.school),
        "by_grade": [{"grade": k, **_judged(f, plan, year, scope.school)} for k, f in by_grade],
        "by_class": [{"class_name": k, **_judged(f, plan, year, scope.school)} for k, f in by_class],
        "trajectory": [t.as_dict() for t in plan.trajectory(scope.school)],
        "exemptions": await exemptions(pool, scope),
        "refunds": await refunds(pool, scope),
    }


async def trend(pool: asyncpg.Pool, scope: Scope, today: date) -> list[dict[str, Any]]:
    """Per billing month, each judged against the target of its own school year."""
    district = scope.district
    if district is None and scope.school:
        school = await figures_store.school(pool, scope.school)
        district = school["district_code"] if school else None
    plan = await _plan_of(pool, district)
    return [
        {"period": k, **_judged(f, plan, school_year_of(k), scope.school or "")}
        for k, f in await figures_store.grouped(pool, scope, today, "period")
    ]


async def projection_version(db: asyncpg.Pool) -> int:
    """Bumped with every applied event: the dashboard's stream tells the browser when to refresh."""
    return await figures_store.projection_version(db)
