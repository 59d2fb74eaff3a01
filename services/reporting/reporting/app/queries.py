"""The figures read from the projections, for any scope: district, school, period, fee type, grade, class."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from datetime import date

import asyncpg

from reporting.domain.figures import Figures, school_year_of
from reporting.domain.scope import Scope
from reporting.domain.targets import Plan, school_year_judged
from reporting.domain.views import (
    DistrictTotals,
    DistrictView,
    Exemption,
    Grouped,
    PersonalIds,
    Refunds,
    SchoolFigures,
    SchoolView,
    Step,
    Totals,
    judged,
)
from reporting.stores import figures_store, plans_store
from reporting.stores.figures_store import School


async def _plan_of(pool: asyncpg.Pool, district: str | None) -> Plan:
    return Plan(await plans_store.targets_of(pool, district) if district else [])


def _grouped(groups: list[tuple[str, Figures]], plan: Plan, year: str, school_id: str = "") -> list[Grouped]:
    return [Grouped(**vars(judged(f, plan, year, school_id)), key=k) for k, f in groups]


async def exemptions(pool: asyncpg.Pool, scope: Scope) -> list[Exemption]:
    return await figures_store.exemptions(pool, scope)


def _sum(parts: Iterable[Figures]) -> Figures:
    """District totals from the per-school rows: exact, since a pupil belongs to one school."""
    total = Figures()
    for f in parts:
        for x in fields(Figures):
            setattr(total, x.name, getattr(total, x.name) + getattr(f, x.name))
    return total


def _school_row(school: School, f: Figures, plan: Plan, year: str) -> SchoolFigures:
    """One school of the district table: its figures, whether it accepts cashless payment (a collection
    account and at least one cashless payment in the period) and its pupils' personal IDs."""
    ids = school.ids
    return SchoolFigures(
        **vars(judged(f, plan, year, school.school_id, personal_id=ids.measured)),
        school_id=school.school_id,
        name=school.name,
        ownership=school.ownership,
        has_account=bool(school.has_account),
        accepts_cashless=bool(school.has_account) and f.cashless_payments > 0,
        ids=ids,
    )


def _district_totals(rows: list[SchoolFigures], figures: Figures, plan: Plan, year: str) -> DistrictTotals:
    """The district's figures and the plans' indicators over its schools."""
    accepting = sum(r.accepts_cashless for r in rows)
    ids = PersonalIds(
        students_enrolled=sum(r.students_enrolled for r in rows),
        students_with_personal_id=sum(r.students_with_personal_id for r in rows),
    )
    verdict = judged(figures, plan, year, schools_accepting=(accepting, len(rows)), personal_id=ids.measured)
    return DistrictTotals(**vars(verdict), ids=ids, schools=len(rows), schools_accepting_cashless=accepting)


async def district_view(pool: asyncpg.Pool, scope: Scope, today: date) -> DistrictView:
    """The ranked table: schools by collection rate then cashless share, lowest first to act on."""
    assert scope.district is not None
    schools = await figures_store.schools_of(pool, scope.district)
    plan, year = await _plan_of(pool, scope.district), school_year_judged(scope.period, today)
    figures = dict(await figures_store.grouped(pool, scope, today, "school"))
    rows = [_school_row(s, figures.get(school_id, Figures()), plan, year) for school_id, s in schools.items()]
    rows.sort(
        key=lambda r: (
            r.collection_rate_pct is None,
            -(r.collection_rate_pct or 0),
            -(r.cashless_share_pct or 0),
            r.name,
        )
    )
    totals = _sum(figures.get(school_id, Figures()) for school_id in schools)
    return DistrictView(
        district=scope.district,
        period=scope.period,
        fee_type=scope.fee_type,
        school_year=year,
        totals=_district_totals(rows, totals, plan, year),
        schools=rows,
        trajectory=[Step(target=t) for t in plan.trajectory()],
        exemptions=await exemptions(pool, scope),
        refunds=await refunds(pool, scope),
    )


async def refunds(pool: asyncpg.Pool, scope: Scope) -> Refunds:
    """Money sent back to payers (overpayments, transfers not for the school), as reconciliation recorded it."""
    count, amount = await figures_store.refunds(pool, scope)  # a refund has no fee type: it is not filtered on
    return Refunds(count=count, amount=amount)


async def school_view(pool: asyncpg.Pool, scope: Scope, today: date) -> SchoolView:
    assert scope.school is not None
    school = await figures_store.school(pool, scope.school)
    plan = await _plan_of(pool, school.district_code if school else None)
    year = school_year_judged(scope.period, today)
    totals = await figures_store.totals(pool, scope, today)
    ids = school.ids if school else PersonalIds(students_enrolled=0, students_with_personal_id=0)
    # Payments are not counted per fee type: its share by number has nothing to measure.
    by_fee_type = await figures_store.by_fee_type(pool, scope, today)
    return SchoolView(
        school_id=scope.school,
        name=school.name if school else scope.school,
        period=scope.period,
        fee_type=scope.fee_type,
        school_year=year,
        totals=Totals(**vars(judged(totals, plan, year, scope.school, personal_id=ids.measured)), ids=ids),
        by_fee_type=_grouped(by_fee_type, plan, year, scope.school),
        by_grade=_grouped(await figures_store.grouped(pool, scope, today, "grade"), plan, year, scope.school),
        by_class=_grouped(await figures_store.grouped(pool, scope, today, "class"), plan, year, scope.school),
        trajectory=[Step(target=t) for t in plan.trajectory(scope.school)],
        exemptions=await exemptions(pool, scope),
        refunds=await refunds(pool, scope),
    )


async def trend(pool: asyncpg.Pool, scope: Scope, today: date) -> list[Grouped]:
    """Per billing month, each judged against the target of its own school year."""
    district = scope.district
    if district is None and scope.school:
        school = await figures_store.school(pool, scope.school)
        district = school.district_code if school else None
    plan = await _plan_of(pool, district)
    return [
        Grouped(**vars(judged(f, plan, school_year_of(k), scope.school or "")), key=k)
        for k, f in await figures_store.grouped(pool, scope, today, "period")
    ]


async def projection_version(db: asyncpg.Pool) -> int:
    """Bumped with every applied event: the dashboard's stream tells the browser when to refresh."""
    return await figures_store.projection_version(db)
