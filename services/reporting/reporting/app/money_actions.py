"""The district's audit of money actions: who issued, adjusted, cancelled, recorded cash, acted on bank credits
and cancelled receipts, by day range (Vietnam's days) and school."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

from reporting.stores import money_actions_store
from reporting.stores.money_actions_store import LoggedAction
from shared.db import Executor
from shared.formatting import VN

# What an export holds at most (a district's busiest year is far below); the page lists the newest first.
MAX_EXPORTED = 50_000

COLUMNS = [
    ("occurred_at", "Thời điểm"),
    ("school_name", "Trường"),
    ("label", "Thao tác"),
    ("actor", "Tài khoản"),
    ("amount", "Số tiền (đồng)"),
    ("items", "Số hoá đơn"),
    ("subject", "Đối tượng"),
    ("reason", "Lý do"),
]
MONEY = {"Số tiền (đồng)"}


async def of_district(
    db: Executor, district: str, first: date, last: date, *, school_id: str | None, limit: int
) -> list[LoggedAction]:
    """The actions of the days [first, last] (Vietnam's days), at their time in Vietnam, newest first."""
    since = datetime.combine(first, time(), VN)
    until = datetime.combine(last + timedelta(days=1), time(), VN)
    found = await money_actions_store.of_district(
        db, district, since=since, until=until, school_id=school_id, limit=limit
    )
    return [replace(a, occurred_at=a.occurred_at.astimezone(VN)) for a in found]


def table(actions: list[LoggedAction]) -> tuple[list[str], list[list[object]]]:
    header = [name for _, name in COLUMNS]
    rows = [
        [a.occurred_at.strftime("%d/%m/%Y %H:%M:%S") if key == "occurred_at" else getattr(a, key) for key, _ in COLUMNS]
        for a in actions
    ]
    return header, rows
