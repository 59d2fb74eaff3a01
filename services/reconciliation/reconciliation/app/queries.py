"""Read side: credits, the exceptions queue with candidates, an audit trail."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from reconciliation.domain.labels import REASON_VI, STATE_VI
from reconciliation.stores import credits_store, invoices_store
from shared.db import Executor
from shared.errors import NotFound


async def list_credits(
    db: Executor, school_id: str, *, state: str | None, day: date | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    return await credits_store.list_for_school(db, school_id, state=state, day=day, limit=limit, offset=offset)


CREDITS_HEADER = [
    "Thời điểm",
    "Tài khoản",
    "Số tiền (đồng)",
    "Nội dung chuyển khoản",
    "Người chuyển",
    "Kênh",
    "Trạng thái",
    "Lý do",
    "Đã khớp (đồng)",
    "Đã hoàn (đồng)",
    "Bỏ qua (đồng)",
    "Chưa xử lý (đồng)",
    "Tham chiếu hoàn tiền",
    "Ghi chú của kế toán",
]
CREDITS_MONEY = ("Số tiền (đồng)", "Đã khớp (đồng)", "Đã hoàn (đồng)", "Bỏ qua (đồng)", "Chưa xử lý (đồng)")
EXPORT_ROWS = 100_000


async def credits_export(
    db: Executor, school_id: str, first: date, last: date, *, needed_a_person: bool
) -> list[list[object]]:
    """The credits of a range (all, or those that needed the accountant: exceptions, refunds, corrections)."""
    rows = await credits_store.for_export(
        db, school_id, first, last, needed_a_person=needed_a_person, limit=EXPORT_ROWS
    )
    return [
        [
            r["booked_at"],
            "Quỹ tiền mặt" if r["account_number"].startswith("CASH:") else r["account_number"],
            r["amount"],
            r["memo"],
            r["payer_name"],
            "Tiền mặt" if r["channel"] == "CASH" else "Chuyển khoản",
            STATE_VI.get(r["state"], r["state"]),
            REASON_VI.get(r["reason_code"], r["reason_code"]),
            r["allocated"],
            r["refunded"],
            r["ignored"],
            r["unallocated"],
            r["refund_references"] or "",
            r["reasons"] or "",
        ]
        for r in rows
    ]


async def exceptions_queue(db: Executor, school_id: str) -> list[dict[str, Any]]:
    items = await credits_store.in_exceptions(db, school_id)
    for item in items:
        item["candidates"] = await invoices_store.candidates(db, [uuid.UUID(i) for i in item["candidates"]])
    return items


async def credit_detail(db: Executor, school_id: str, credit_id: uuid.UUID) -> dict[str, Any]:
    detail = await credits_store.detail(db, school_id, credit_id)
    if detail is None:
        raise NotFound(f"no credit {credit_id}")
    return detail
