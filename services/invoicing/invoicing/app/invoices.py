"""Cancel and adjust invoices (with a reason, history kept), pay a family's invoices with one reference."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import asyncpg

from invoicing.app.issuing import next_references
from invoicing.domain.invoices import Status, outstanding, status_for
from invoicing.stores import invoices_store
from invoicing.stores.invoices_store import FamilyInvoice, Invoice
from shared.errors import Conflict, Invalid, NotFound
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from shared.money import MAX_AMOUNT
from tuition.invoicing.v1.events_pb2 import (
    InvoiceAdjusted,
    InvoiceBalanceChanged,
    InvoiceCancelled,
    PaymentGroupCreated,
)


async def lock_invoice(conn: asyncpg.Connection, school_id: str, invoice_id: uuid.UUID) -> Invoice:
    row = await invoices_store.lock(conn, invoice_id, school_id)
    if row is None:
        raise NotFound(f"Trường {school_id} không có hóa đơn {invoice_id}.")
    return row


def balance_changed(
    invoice: Invoice, *, total: int, paid: int, status: Status, previous_status: str, payment_id: str = ""
) -> InvoiceBalanceChanged:
    return InvoiceBalanceChanged(
        invoice_id=str(invoice.invoice_id),
        school_id=invoice.school_id,
        total=total,
        amount_paid=paid,
        outstanding=outstanding(total, paid),
        status=str(status),
        previous_status=previous_status,
        payment_id=payment_id,
    )


async def emit_balance(
    conn: asyncpg.Connection,
    outbox: Outbox,
    before: Invoice,
    *,
    total: int,
    paid: int,
    status: Status,
    payment_id: str = "",
) -> None:
    await outbox.add(
        conn,
        Topic.INVOICING,
        balance_changed(
            before, total=total, paid=paid, status=status, previous_status=before.status, payment_id=payment_id
        ),
        aggregate_id=str(before.invoice_id),
        school_id=before.school_id,
    )


async def _open_for_change(
    conn: asyncpg.Connection, school_id: str, invoice_id: uuid.UUID, reason: str, change: str
) -> Invoice:
    """The invoice, locked, when it may still change: not cancelled, and the change has its reason."""
    if not reason.strip():
        raise Invalid(f"{change} cần ghi lý do.")
    inv = await lock_invoice(conn, school_id, invoice_id)
    if inv.status == Status.CANCELLED:
        raise Conflict(f"Hóa đơn {invoice_id} đã bị hủy trước đó.")
    return inv


async def cancel_invoice(
    pool: asyncpg.Pool, outbox: Outbox, *, school_id: str, invoice_id: uuid.UUID, reason: str, by: str
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        inv = await _open_for_change(conn, school_id, invoice_id, reason, "Hủy hóa đơn")
        if inv.amount_paid > 0:
            raise Conflict(
                f"Hóa đơn {invoice_id} đã được nộp {inv.amount_paid} đồng: hãy hoàn tiền hoặc chuyển các khoản "
                "đã nộp sang hóa đơn khác ở phần đối soát trước, hoặc điều chỉnh hóa đơn thay vì hủy"
            )
        await invoices_store.cancel(conn, invoice_id, reason=reason.strip(), by=by)
        await outbox.add(
            conn,
            Topic.INVOICING,
            InvoiceCancelled(
                invoice_id=str(invoice_id),
                school_id=school_id,
                reason=reason.strip(),
                cancelled_by=by,
            ),
            aggregate_id=str(invoice_id),
            school_id=school_id,
        )
        await emit_balance(conn, outbox, inv, total=inv.total, paid=0, status=Status.CANCELLED)


async def adjust_invoice(
    pool: asyncpg.Pool, outbox: Outbox, *, school_id: str, invoice_id: uuid.UUID, delta: int, reason: str, by: str
) -> dict[str, int | str]:
    if delta == 0:
        raise Invalid("Điều chỉnh phải làm thay đổi số tiền (delta khác 0).")
    async with pool.acquire() as conn, conn.transaction():
        inv = await _open_for_change(conn, school_id, invoice_id, reason, "Điều chỉnh hóa đơn")
        new_total = inv.total + delta
        if not 0 <= new_total <= MAX_AMOUNT:
            raise Invalid(f"Sau điều chỉnh, số phải nộp sẽ là {new_total} đồng: phải nằm trong khoảng 0…{MAX_AMOUNT}.")
        status = status_for(new_total, inv.amount_paid)
        await invoices_store.adjust(
            conn, invoice_id, delta=delta, new_total=new_total, status=str(status), reason=reason.strip(), by=by
        )
        await outbox.add(
            conn,
            Topic.INVOICING,
            InvoiceAdjusted(
                invoice_id=str(invoice_id),
                school_id=school_id,
                delta=delta,
                new_total=new_total,
                reason=reason.strip(),
                adjusted_by=by,
            ),
            aggregate_id=str(invoice_id),
            school_id=school_id,
        )
        await emit_balance(conn, outbox, inv, total=new_total, paid=inv.amount_paid, status=status)
    return {"total": new_total, "status": str(status)}


async def family_group_for(pool: asyncpg.Pool, outbox: Outbox, token: str) -> str:
    """ "Pay for all my children": the payment group of the family's open invoices (the one already made for
    exactly these invoices, or a new one); returns its public token."""
    invoice_id = await invoices_store.id_by_token(pool, token)
    if invoice_id is None:
        raise NotFound("Đường dẫn thanh toán này không hợp lệ.")
    family = await invoices_store.open_of_family(pool, invoice_id)
    if len(family) < 2:
        raise NotFound("Gia đình không còn hóa đơn nào khác chưa nộp: hãy nộp hóa đơn này bằng mã QR của nó.")
    ids = [r.invoice_id for r in family]
    school_id = family[0].school_id
    group = await create_payment_group(pool, outbox, school_id=school_id, invoice_ids=ids, reuse=True)
    return group.public_token


@dataclass(frozen=True, kw_only=True)
class GroupMade:
    """A family's payment group: its link, its invoices; the rest when it was made now (not reused)."""

    public_token: str
    invoice_ids: list[uuid.UUID]
    group_id: uuid.UUID | None = None
    payment_reference: str | None = None
    total: int | None = None


def _one_family_owing(rows: list[FamilyInvoice], invoice_ids: list[uuid.UUID], school_id: str) -> None:
    """The invoices of a payment group: all found, of this school, of one family, each still owing."""
    found = {r.invoice_id for r in rows}
    missing = [str(i) for i in invoice_ids if i not in found]
    if missing:
        raise NotFound(f"Không có các hóa đơn: {', '.join(missing)}.")
    if {r.school_id for r in rows} != {school_id}:
        raise Invalid("Mọi hóa đơn của một nhóm nộp chung phải thuộc trường này.")
    if len({r.family_key for r in rows}) != 1:
        raise Invalid("Các hóa đơn thuộc các gia đình khác nhau (khác phụ huynh): không gộp được.")
    closed = [
        str(r.invoice_id) for r in rows if outstanding(r.total, r.amount_paid) == 0 or r.status == Status.CANCELLED
    ]
    if closed:
        raise Conflict(f"Các hóa đơn này không còn gì phải nộp: {', '.join(closed)}.")


async def create_payment_group(
    pool: asyncpg.Pool, outbox: Outbox, *, school_id: str, invoice_ids: list[uuid.UUID], reuse: bool = False
) -> GroupMade:
    """One reference (and one QR) for several open invoices of one family. With `reuse`, the group already
    made for exactly these invoices is the answer: looked up once their rows are locked, so that parents
    pressing "pay for all" at once get one group, not one each."""
    if len(set(invoice_ids)) < 2:
        raise Invalid("Một nhóm nộp chung cần ít nhất hai hóa đơn khác nhau.")
    async with pool.acquire() as conn, conn.transaction():
        rows = await invoices_store.lock_with_families(conn, list(set(invoice_ids)))
        _one_family_owing(rows, invoice_ids, school_id)
        if reuse and (existing := await invoices_store.group_of_exactly(conn, school_id, [r.invoice_id for r in rows])):
            return GroupMade(public_token=existing, invoice_ids=[r.invoice_id for r in rows])
        total = sum(outstanding(r.total, r.amount_paid) for r in rows)
        group_id = uuid.uuid4()
        (reference,) = await next_references(conn, 1, kind="GD")
        token = secrets.token_urlsafe(18)
        await invoices_store.add_group(
            conn,
            group_id=group_id,
            school_id=school_id,
            reference=reference,
            token=token,
            total=total,
            invoice_ids=[r.invoice_id for r in rows],
        )
        await outbox.add(
            conn,
            Topic.INVOICING,
            PaymentGroupCreated(
                group_id=str(group_id),
                school_id=school_id,
                payment_reference=reference,
                invoice_ids=[str(r.invoice_id) for r in rows],
                total=total,
            ),
            aggregate_id=str(group_id),
            school_id=school_id,
        )
    return GroupMade(
        group_id=group_id,
        payment_reference=reference,
        total=total,
        public_token=token,
        invoice_ids=[r.invoice_id for r in rows],
    )
