"""The district's audit of money actions: who issued, adjusted, cancelled, recorded cash, acted on bank credits
and cancelled receipts, by day range (Vietnam's days) and school."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from reporting.domain.money_actions import label
from reporting.stores import money_actions_store
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
) -> list[dict[str, Any]]:
    since = datetime.combine(first, time(), VN)
    until = datetime.combine(last + timedelta(days=1), time(), VN)
    rows = await money_actions_store.of_district(
        db, district, since=since, until=until, school_id=school_id, limit=limit
    )
    return [
        {
            "occurred_at": r["occurred_at"].astimezone(VN),
            "school_id": r["school_id"],
            "school_name": r["school_name"],
            "kind": r["kind"],
            "label": label(r["kind"]),
            "actor": r["actor"],
            "amount": r["amount"],
            "items": r["items"],
            "subject": r["subject"],
            "reason": r["reason"],
        }
        for r in rows
    ]


def table(actions: list[dict[str, Any]]) -> tuple[list[str], list[list[object]]]:
    header = [name for _, name in COLUMNS]
    rows = [
        [a[key].strftime("%d/%m/%Y %H:%M:%S") if key == "occurred_at" else a[key] for key, _ in COLUMNS]
        for a in actions
    ]
    return header, rows
