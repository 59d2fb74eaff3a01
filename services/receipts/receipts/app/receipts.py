"""Cancelling and replacing receipts; the receipt's data for display."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import asyncpg
from lxml import etree

from receipts.app.issuing import issue_receipt
from receipts.domain.receipt import read_fields, read_lines
from receipts.settings import ReceiptsSettings
from receipts.stores import copies_store, pending_store, receipts_store
from receipts.stores.copies_store import InvoiceCopy, School
from receipts.stores.receipts_store import Listed, Receipt
from shared.db import Executor
from shared.errors import Conflict, Invalid, NotFound
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from shared.formatting import VN
from tuition.receipts.v1.events_pb2 import ReceiptCancelled
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched, PaymentReversed


@dataclass(frozen=True, kw_only=True)
class Shown:
    """A receipt as the parent's page and the PDF show it: its signed fields and what the book adds."""

    fields: dict[str, str]
    amount: int
    status: str
    cancel_reason: str | None
    tax_code: str
    student_code: str
    class_name: str
    lines: list[tuple[str, int]]
    issued_local: str
    compact: str

    def page(self) -> dict[str, object]:
        """Everything shown, by name: the signed fields, then what the book adds."""
        added = {k: v for k, v in vars(self).items() if k != "fields"}
        return {**self.fields, **added}


@dataclass(frozen=True)
class Cancelled:
    cancelled: uuid.UUID
    replaced_by: uuid.UUID | None


async def by_code(db: Executor, code: str) -> Receipt:
    row = await receipts_store.by_code(db, code)
    if row is None:
        raise NotFound(f"Không có biên lai nào mang mã tra cứu {code}.")
    return row


async def for_display(db: Executor, code: str) -> tuple[Receipt, Shown]:
    """The receipt and its fields as the parent's page and the PDF show them."""
    row = await by_code(db, code)
    school = await copies_store.school(db, row.school_id)
    invoice = await copies_store.invoice(db, row.invoice_id)
    return row, display(row, school, invoice)


async def cancel(
    pool: asyncpg.Pool,
    outbox: Outbox,
    settings: ReceiptsSettings,
    *,
    school_id: str,
    receipt_id: uuid.UUID,
    reason: str,
    replace: bool,
    by: str,
) -> Cancelled:
    """Cancel a receipt; it keeps its number. With `replace`, a new receipt (new number) references it."""
    if not reason.strip():
        raise Invalid("Hủy biên lai cần ghi lý do.")
    async with pool.acquire() as conn, conn.transaction():
        row = await receipts_store.get_for_update(conn, school_id, receipt_id)
        if row is None:
            raise NotFound(f"Không có biên lai {receipt_id} ở trường {school_id}.")
        if row.status == "cancelled":
            raise Conflict(f"Biên lai {receipt_id} đã bị hủy trước đó.")
        replacement = None
        if replace:
            fields = read_fields(etree.fromstring(row.xml).find("DLBLai"))
            payment = PaymentMatched(
                payment_id=row.payment_id or str(row.receipt_id),
                school_id=school_id,
                invoice_id=str(row.invoice_id),
                amount=row.amount,
                bank_reference=fields["bank_reference"],
                channel=_channel(fields["channel"]),
            )
            replacement = await issue_receipt(conn, outbox, settings, payment=payment, replaces=row)
        await mark_cancelled(
            conn,
            outbox,
            receipt_id=receipt_id,
            school_id=school_id,
            invoice_id=str(row.invoice_id),
            reason=reason.strip(),
            amount=row.amount,
            replaced_by=replacement,
            by=by,
        )
    return Cancelled(receipt_id, replacement)


async def mark_cancelled(
    conn: asyncpg.Connection,
    outbox: Outbox,
    *,
    receipt_id: uuid.UUID,
    school_id: str,
    invoice_id: str,
    reason: str,
    amount: int,
    replaced_by: uuid.UUID | None = None,
    by: str = "",
) -> None:
    """The receipt keeps its number; its status, reason and replacement change, and the event says so (with who
    cancelled it: empty when a reversed payment did, whose reversal names who)."""
    await receipts_store.mark_cancelled(conn, receipt_id, reason, replaced_by, by)
    event = ReceiptCancelled(
        receipt_id=str(receipt_id),
        school_id=school_id,
        invoice_id=invoice_id,
        reason=reason,
        replaced_by=str(replaced_by) if replaced_by else "",
        cancelled_by=by,
        amount=amount,
    )
    await outbox.add(conn, Topic.RECEIPTS, event, aggregate_id=invoice_id, school_id=school_id)


async def payment_reversed(conn: asyncpg.Connection, outbox: Outbox, m: PaymentReversed) -> None:
    """A payment taken back: its receipt is cancelled (it keeps its number); nothing replaces it."""
    await pending_store.clear(conn, m.payment_id)
    receipt = await receipts_store.in_force_for_payment(conn, m.payment_id)
    if receipt is not None:
        await mark_cancelled(
            conn,
            outbox,
            receipt_id=receipt,
            school_id=m.school_id,
            invoice_id=m.invoice_id,
            reason=f"Khoản nộp bị hủy: {m.reason}",
            amount=m.amount,
        )


REGISTER_HEADER = [
    "Mẫu số",
    "Ký hiệu",
    "Số",
    "Ngày lập",
    "Mã học sinh",
    "Họ và tên",
    "Lớp",
    "Kỳ thu",
    "Số tiền (đồng)",
    "Trạng thái",
    "Lý do hủy",
    "Mã tra cứu",
]
REGISTER_MONEY = ("Số tiền (đồng)",)
EXPORT_ROWS = 100_000


async def register(db: Executor, school_id: str, first: date, last: date) -> list[list[object]]:
    """The receipts register (sổ theo dõi biên lai) of the days first…last, Vietnam's dates."""
    since = datetime.combine(first, time(0), VN)
    until = datetime.combine(last + timedelta(days=1), time(0), VN)
    rows = await receipts_store.register(db, school_id, since, until, limit=EXPORT_ROWS)
    return [
        [
            r.form_code,
            r.series_code,
            f"{r.number:07d}",
            r.issued_at,
            r.student_code or "",
            r.student_name or "",
            r.class_name or "",
            r.period or "",
            r.amount,
            "Đã hủy" if r.status == "cancelled" else "Đã lập",
            r.cancel_reason or "",
            r.verification_code,
        ]
        for r in rows
    ]


async def list_receipts(
    db: Executor, school_id: str, *, invoice_id: uuid.UUID | None, limit: int, offset: int
) -> list[Listed]:
    return await receipts_store.list_for_school(db, school_id, invoice_id=invoice_id, limit=limit, offset=offset)


# A stranger's XML: no entity expansion, no network, no file reads.
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


async def changed_fields(db: Executor, data: bytes) -> list[str]:
    """Online only: which fields of a claimed receipt differ from the receipt as issued (by its code)."""
    try:
        claimed = read_fields(etree.fromstring(data, parser=_SAFE_XML).find("DLBLai"))
        row = await by_code(db, claimed["verification_code"])
    except (etree.XMLSyntaxError, AttributeError, NotFound):
        return []
    issued = read_fields(etree.fromstring(bytes(row.xml)).find("DLBLai"))
    return sorted(k for k in issued if issued[k] != claimed.get(k))


def _channel(label: str) -> int:
    from receipts.domain.receipt import CHANNEL_VI

    name = next((k for k, v in CHANNEL_VI.items() if v == label), "OTHER")
    return int(Channel.Value(name))


def display(row: Receipt, school: School | None, invoice: InvoiceCopy | None) -> Shown:
    data = etree.fromstring(row.xml).find("DLBLai")
    return Shown(
        fields=read_fields(data),
        amount=row.amount,
        status=row.status,
        cancel_reason=row.cancel_reason,
        tax_code=school.tax_code if school else "",
        student_code=invoice.student_code if invoice else "",
        class_name=invoice.class_name if invoice else "",
        lines=read_lines(data),  # what the receipt says this payment paid, as signed
        issued_local=row.issued_at.astimezone(VN).strftime("%d/%m/%Y %H:%M"),
        compact=row.compact,
    )
