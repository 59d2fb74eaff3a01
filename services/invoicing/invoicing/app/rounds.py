"""Collection rounds (đợt thu): uniforms, insurance, a trip… for a class, a grade or the whole school.

A round has its own fee items (billed once, in its period) and its own invoices, one per pupil in scope,
each with its own payment reference and QR; exemptions of the items' categories apply as for any invoice.
Opening a round creates and issues it in one transaction; a round's code is used once per school.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import asyncpg

from invoicing.app.issuing import IssuePeriod, IssueResult, issue_in
from invoicing.app.schools import get_school
from invoicing.domain.fees import Cadence, FeeCategory, FeeItem, Period, Rate
from invoicing.stores import rounds_store
from shared.errors import Conflict, Invalid
from shared.events.outbox import Outbox
from shared.money import MAX_AMOUNT

MAX_ITEMS = 20


@dataclass(frozen=True, kw_only=True)
class RoundItem:
    name: str
    category: FeeCategory
    amount: int


@dataclass(frozen=True, kw_only=True)
class OpenRound:
    school_id: str
    code: str
    name: str
    period: Period
    items: tuple[RoundItem, ...]
    class_name: str | None = None
    grade: str | None = None
    due_date: date | None = None
    opened_by: str = ""


def _checked(cmd: OpenRound) -> None:
    if not re.fullmatch(r"[A-Z0-9]{2,12}", cmd.code):
        raise Invalid(f"a round's code is 2–12 capital letters or digits, got {cmd.code!r}")
    if not cmd.name.strip():
        raise Invalid("a round needs a name (e.g. Đồng phục năm học 2026–2027)")
    if not 1 <= len(cmd.items) <= MAX_ITEMS:
        raise Invalid(f"a round has 1 to {MAX_ITEMS} items")
    for item in cmd.items:
        if not item.name.strip() or not 0 < item.amount <= MAX_AMOUNT:
            raise Invalid(f"item {item.name!r}: a name and an amount between 1 and {MAX_AMOUNT} đồng")
    if cmd.class_name and cmd.grade:
        raise Invalid("a round is for a class, a grade, or the whole school: not both a class and a grade")


async def open_round(pool: asyncpg.Pool, outbox: Outbox, cmd: OpenRound) -> dict[str, Any]:
    _checked(cmd)
    due = cmd.due_date or cmd.period.start + timedelta(days=14)
    items = tuple(
        FeeItem(
            code=f"{cmd.code}-{n}",
            name=item.name.strip(),
            category=item.category,
            cadence=Cadence.ONE_OFF,
            rates=(Rate(item.amount),),
            one_off_period=cmd.period.code,
        )
        for n, item in enumerate(cmd.items, start=1)
    )
    async with pool.acquire() as conn, conn.transaction():
        await get_school(conn, cmd.school_id)
        added = await rounds_store.add(
            conn,
            school_id=cmd.school_id,
            code=cmd.code,
            name=cmd.name.strip(),
            period=cmd.period.code,
            class_name=cmd.class_name,
            grade=cmd.grade,
            due_date=due,
            items=[{"name": i.name, "category": str(i.category), "amount": i.amount} for i in cmd.items],
            created_by=cmd.opened_by,
        )
        if not added:
            raise Conflict(f"school {cmd.school_id} already has a round {cmd.code}")
        issue = IssuePeriod(
            cmd.school_id,
            cmd.period,
            due,
            school_days=0,
            round_code=cmd.code,
            items=items,
            class_name=cmd.class_name,
            grade=cmd.grade,
            issued_by=cmd.opened_by,
        )
        result: IssueResult = await issue_in(conn, outbox, issue)
    return {"code": cmd.code, "period": cmd.period.code, "invoices": result.created, "total": result.total_invoiced}


async def list_rounds(pool: asyncpg.Pool, school_id: str) -> list[dict[str, Any]]:
    return await rounds_store.of_school(pool, school_id)
