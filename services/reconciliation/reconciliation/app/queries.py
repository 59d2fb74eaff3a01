"""Read side: credits, the exceptions queue with candidates, an audit trail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime

from reconciliation.domain import suggestions
from reconciliation.domain.labels import REASON_VI, STATE_VI
from reconciliation.domain.memo import read_memo
from reconciliation.stores import credits_store, invoices_store
from reconciliation.stores.credits_store import CreditDetail, ShownCredit
from reconciliation.stores.invoices_store import Candidate
from shared.db import Executor
from shared.errors import Invalid, NotFound


async def list_credits(
    db: Executor, school_id: str, *, state: str | None, day: date | None, limit: int, offset: int
) -> list[ShownCredit]:
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
            r.booked_at,
            "Quỹ tiền mặt" if r.account_number.startswith("CASH:") else r.account_number,
            r.amount,
            r.memo,
            r.payer_name,
            "Tiền mặt" if r.channel == "CASH" else "Chuyển khoản",
            STATE_VI.get(r.state, r.state),
            REASON_VI.get(r.reason_code, r.reason_code),
            r.allocated,
            r.refunded,
            r.ignored,
            r.unallocated,
            r.refund_references or "",
            r.reasons or "",
        ]
        for r in rows
    ]


# A page of the queue: what an accountant reads at once, and a bound on what one request costs.
PAGE = 100
MAX_PAGE = 500


def _cursor(text: str | None) -> tuple[datetime, uuid.UUID] | None:
    """`after` is the last credit of the previous page: "<booked_at ISO>_<credit_id>"."""
    if not text:
        return None
    try:
        when, credit_id = text.rsplit("_", 1)
        return datetime.fromisoformat(when), uuid.UUID(credit_id)
    except ValueError as exc:
        raise Invalid(f"«after» {text[:80]!r} không phải vị trí trang của hàng đợi này (booked_at_creditid).") from exc


def next_cursor(items: list[ShownCredit], limit: int) -> str | None:
    if len(items) < limit:
        return None
    last = items[-1]
    return f"{last.booked_at.isoformat()}_{last.credit_id}"


async def exceptions_queue(
    db: Executor, school_id: str, *, limit: int = PAGE, after: str | None = None
) -> list[ShownCredit]:
    """A page of the credits waiting for the accountant, each with its candidate invoices (one read for the
    page's candidates)."""
    items = await credits_store.in_exceptions(db, school_id, limit=min(limit, MAX_PAGE), after=_cursor(after))
    wanted = {uuid.UUID(str(i)) for item in items for i in item.candidates}
    found = {c.invoice_id: c for c in await invoices_store.candidates(db, list(wanted))}
    items = [
        replace(item, candidates=[found[i] for i in (uuid.UUID(str(x)) for x in item.candidates) if i in found])
        for item in items
    ]
    without = [i for i in items if not i.candidates]
    suggested = await _suggest(db, school_id, without)
    return [replace(i, suggestions=list(suggested.get(i.credit_id, []))) for i in items]


@dataclass(frozen=True, kw_only=True)
class Suggested(Candidate):
    """An open invoice a memo may mean: why (its pupil's name, or its reference one character off) and what
    was read."""

    why: str
    read: str


async def _suggest(db: Executor, school_id: str, items: list[ShownCredit]) -> dict[uuid.UUID, list[Suggested]]:
    """For credits without a candidate: the pupils their memo names, the references one character off
    (domain/suggestions.py), each with what is owed; the school's open invoices read once for the page."""
    if not items:
        return {}
    rows = await invoices_store.open_for_suggestions(db, school_id)
    directory = suggestions.Directory(
        suggestions.Pupil(
            invoice_id=str(r.invoice_id),
            student_code=r.student_code,
            student_name=r.student_name,
            class_name=r.class_name,
            payment_reference=r.payment_reference,
        )
        for r in rows
    )
    by_id = {str(r.invoice_id): r for r in rows}
    return {
        item.credit_id: [
            Suggested(**vars(by_id[s.invoice_id]), why=s.why, read=s.read)
            for s in directory.suggest(read_memo(item.memo))
        ]
        for item in items
    }


async def exceptions_count(db: Executor, school_id: str) -> int:
    return await credits_store.count_in_exceptions(db, school_id)


async def credit_detail(db: Executor, school_id: str, credit_id: uuid.UUID) -> CreditDetail:
    detail = await credits_store.detail(db, school_id, credit_id)
    if detail is None:
        raise NotFound(f"Không có khoản tiền về {credit_id} ở trường này.")
    return detail
