"""The figures read from the projections, for any scope: district, school, period, fee type, grade, class."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import asyncpg

from reporting.domain.figures import Figures
from reporting.domain.scope import Scope
from reporting.stores import figures_store


async def by_fee_type(pool: asyncpg.Pool, scope: Scope, today: date) -> list[dict[str, Any]]:
    return [
        dict(r)
        | Figures(
            invoiced=r["invoiced"], collected=r["collected"], cashless=r["cashless"], overdue=r["overdue"]
        ).as_dict()
        | {"category": r["category"]}
        for r in await figures_store.by_fee_type(pool, scope, today)
    ]


async def exemptions(pool: asyncpg.Pool, scope: Scope, today: date) -> list[dict[str, Any]]:
    return [dict(r) for r in await figures_store.exemptions(pool, scope, today)]


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
    schools = await figures_store.schools_of(pool, scope.district)
    rows = []
    figures = dict(await figures_store.grouped(pool, scope, today, "school"))
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
        "refunds": await refunds(pool, scope),
    }


async def refunds(pool: asyncpg.Pool, scope: Scope) -> dict[str, int]:
    """Money sent back to payers (overpayments, transfers not for the school), as reconciliation recorded it."""
    count, amount = await figures_store.refunds(pool, scope)  # a refund has no fee type: it is not filtered on
    return {"count": count, "amount": amount}


async def school_view(pool: asyncpg.Pool, scope: Scope, today: date) -> dict[str, Any]:
    assert scope.school is not None
    school = await figures_store.school(pool, scope.school)
    by_grade = await figures_store.grouped(pool, scope, today, "grade")
    by_class = await figures_store.grouped(pool, scope, today, "class")
    return {
        "school_id": scope.school,
        "name": school["name"] if school else scope.school,
        "period": scope.period,
        "fee_type": scope.fee_type,
        "totals": (await figures_store.totals(pool, scope, today)).as_dict(),
        "by_fee_type": await by_fee_type(pool, scope, today),
        "by_grade": [{"grade": k, **f.as_dict()} for k, f in by_grade],
        "by_class": [{"class_name": k, **f.as_dict()} for k, f in by_class],
        "exemptions": await exemptions(pool, scope, today),
        "refunds": await refunds(pool, scope),
    }


async def trend(pool: asyncpg.Pool, scope: Scope, today: date) -> list[dict[str, Any]]:
    return [{"period": k, **f.as_dict()} for k, f in await figures_store.grouped(pool, scope, today, "period")]


async def projection_version(db: asyncpg.Pool) -> int:
    """Bumped with every applied event: the dashboard's stream tells the browser when to refresh."""
    return await figures_store.projection_version(db)
