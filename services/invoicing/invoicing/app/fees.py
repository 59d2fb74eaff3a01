"""Fee schedules, school calendars and exemption policies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from invoicing.app.schools import get_school
from invoicing.domain.fees import FeeCategory, FeeError, FeeItem, Period, Policy, ReductionKind
from invoicing.stores import fees_store
from shared.db import Executor
from shared.errors import Invalid, NotFound


@dataclass(frozen=True)
class UpsertFeeItem:
    school_id: str
    item: FeeItem


async def upsert_fee_item(pool: asyncpg.Pool, cmd: UpsertFeeItem) -> None:
    item = cmd.item
    if not item.rates:
        raise Invalid(f"Khoản thu {item.code}: cần ít nhất một mức thu (cả trường, theo khối hoặc theo lớp).")
    scopes = [(r.grade, r.class_name) for r in item.rates]
    if len(set(scopes)) != len(scopes):
        raise Invalid(f"Khoản thu {item.code}: có hai mức thu cho cùng một khối/lớp.")
    async with pool.acquire() as conn, conn.transaction():
        await get_school(conn, cmd.school_id)
        await fees_store.put_item(conn, cmd.school_id, item)


async def deactivate_fee_item(pool: asyncpg.Pool, school_id: str, code: str) -> None:
    if not await fees_store.deactivate_item(pool, school_id, code):
        raise NotFound(f"Trường không có khoản thu {code!r}.")


async def load_fee_items(db: Executor, school_id: str) -> list[FeeItem]:
    return await fees_store.active_items(db, school_id)


async def set_school_days(pool: asyncpg.Pool, school_id: str, period: Period, days: int) -> None:
    if not 0 <= days <= 31:
        raise Invalid(f"Số ngày học phải từ 0 đến 31 (nhận được {days}).")
    async with pool.acquire() as conn:
        await get_school(conn, school_id)
        await fees_store.set_school_days(conn, school_id, period.code, days)


@dataclass(frozen=True, kw_only=True)
class AddPolicy:
    school_id: str | None  # None: a national rule for every school
    category: str
    fee_category: str
    kind: str
    value: int
    effective_from: date
    effective_to: date | None = None
    legal_basis: str = ""
    everyone: bool = False
    ownership: str | None = None
    cap: int | None = None
    article: str = ""


async def add_policy(pool: asyncpg.Pool, cmd: AddPolicy) -> int:
    try:
        policy = Policy(
            category=cmd.category,
            fee_category=FeeCategory(cmd.fee_category),
            kind=ReductionKind(cmd.kind),
            value=cmd.value,
            effective_from=cmd.effective_from,
            effective_to=cmd.effective_to,
            legal_basis=cmd.legal_basis,
            everyone=cmd.everyone,
            ownership=cmd.ownership,
            cap=cmd.cap,
            article=cmd.article,
            school_specific=cmd.school_id is not None,
        )
    except (FeeError, ValueError) as exc:
        raise Invalid(str(exc)) from exc
    if cmd.effective_to is not None and cmd.effective_to < cmd.effective_from:
        raise Invalid("Ngày hết hiệu lực đứng trước ngày bắt đầu hiệu lực.")
    async with pool.acquire() as conn:
        if not await fees_store.category_exists(conn, cmd.category):
            raise Invalid(f"Không có đối tượng miễn giảm {cmd.category!r}.")
        return await fees_store.add_policy(conn, cmd.school_id, policy)


async def load_policies(db: Executor, school_id: str) -> list[Policy]:
    return await fees_store.policies_for(db, school_id)


@dataclass(frozen=True)
class Policies:
    categories: list[fees_store.Category]
    policies: list[fees_store.Rule]


async def visible_policies(db: Executor, *, every_school: bool, school: str | None, district: str | None) -> Policies:
    """The national rules, and the schools' own rules the caller may see: an accountant its school's, a
    district its schools', a service all."""
    cats = await fees_store.categories(db)
    rules = await fees_store.visible_policies(db, every_school=every_school, school=school, district=district)
    return Policies(cats, rules)
