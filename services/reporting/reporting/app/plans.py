"""The district plans' targets: what a district office sets, and what it reads back."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from reporting.domain.targets import INDICATORS, NATIONAL, Plan, Target
from reporting.stores import figures_store, plans_store
from shared.errors import Invalid


def target_of(*, indicator: str, school_year: str, target_pct: Decimal, source: str, school_id: str | None) -> Target:
    first, last = (int(y) for y in school_year.split("-"))
    if last != first + 1:
        raise Invalid(f"Năm học phải là hai năm liền nhau, ví dụ 2025-2026 (nhận được {school_year!r}).")
    return Target(
        indicator=indicator,
        school_year=school_year,
        target_bp=int(target_pct * 100),
        source=" ".join(source.split()),
        school_id=school_id or "",
    )


@dataclass(frozen=True, kw_only=True)
class TargetShown:
    """A target as the district reads it back; the national one has no school year (it holds where nothing
    is set) and no school."""

    indicator: str
    school_year: str | None
    target_pct: float
    source: str
    school_id: str | None


async def set_targets(pool: asyncpg.Pool, district: str, targets: list[Target], *, by: str) -> list[TargetShown]:
    """Set the district's targets (one target per school year and indicator; a school's own overrides the
    district's). A school named must be one of the district's."""
    schools = await figures_store.schools_of(pool, district)
    for t in targets:
        if t.school_id and t.school_id not in schools:
            raise Invalid(f"Trường {t.school_id!r} không thuộc {district}.")
    await plans_store.set_targets(pool, district, targets, set_by=by)
    return await targets_of(pool, district)


async def targets_of(pool: asyncpg.Pool, district: str) -> list[TargetShown]:
    """The targets set (in the plan's order), and the national one for each indicator (what holds where
    nothing is set)."""
    set_ = [
        TargetShown(
            indicator=t.indicator,
            school_year=t.school_year,
            target_pct=t.pct,
            source=t.source,
            school_id=t.school_id or None,
        )
        for t in Plan(await plans_store.targets_of(pool, district)).targets
    ]
    national = [
        TargetShown(indicator=k, school_year=None, target_pct=bp / 100, source=NATIONAL, school_id=None)
        for k, (_, bp) in INDICATORS.items()
    ]
    return set_ + national
