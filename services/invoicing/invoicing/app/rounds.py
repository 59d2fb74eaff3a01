"""Collection rounds (đợt thu): uniforms, insurance, a trip… for a class, a grade or the whole school.

A round has its own fee items (billed once, in its period) and its own invoices, one per pupil in scope,
each with its own payment reference and QR; exemptions of the items' categories apply as for any invoice.
Opening a round creates and issues it in one transaction; a round's code is used once per school.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

from invoicing.app.issuing import IssuePeriod, IssueResult, issue_in
from invoicing.app.schools import get_school
from invoicing.domain.fees import Cadence, FeeCategory, FeeItem, Period, Rate
from invoicing.stores import rounds_store
from invoicing.stores.rounds_store import Round, RoundLine
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
        raise Invalid(f"Mã đợt thu gồm 2–12 chữ in hoa hoặc chữ số, đang ghi {cmd.code!r}.")
    if not cmd.name.strip():
        raise Invalid("Đợt thu cần có tên (ví dụ: Đồng phục năm học 2026–2027).")
    if not 1 <= len(cmd.items) <= MAX_ITEMS:
        raise Invalid(f"Một đợt thu có từ 1 đến {MAX_ITEMS} khoản.")
    for item in cmd.items:
        if not item.name.strip() or not 0 < item.amount <= MAX_AMOUNT:
            raise Invalid(f"Khoản {item.name!r}: cần tên và số tiền từ 1 đến {MAX_AMOUNT} đồng.")
    if cmd.class_name and cmd.grade:
        raise Invalid("Một đợt thu dành cho một lớp, một khối hoặc cả trường: không chọn cùng lúc lớp và khối.")


@dataclass(frozen=True, kw_only=True)
class RoundOpened:
    code: str
    period: str
    invoices: int
    total: int


async def open_round(pool: asyncpg.Pool, outbox: Outbox, cmd: OpenRound) -> RoundOpened:
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
            items=[RoundLine(name=i.name, category=str(i.category), amount=i.amount) for i in cmd.items],
            created_by=cmd.opened_by,
        )
        if not added:
            raise Conflict(f"Trường {cmd.school_id} đã có đợt thu {cmd.code}.")
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
    return RoundOpened(code=cmd.code, period=cmd.period.code, invoices=result.created, total=result.total_invoiced)


async def list_rounds(pool: asyncpg.Pool, school_id: str) -> list[Round]:
    return await rounds_store.of_school(pool, school_id)
