"""Read side of the invoicing service: lists, details, the parent page, the reimbursement report."""

from __future__ import annotations

import asyncio
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date

import asyncpg

from invoicing.adapters import notices as notices_pdf
from invoicing.adapters import unpaid_lists, vietqr
from invoicing.app import payment_links
from invoicing.domain.banks import bank_name, deep_links
from invoicing.domain.fees import STATE_FUNDED
from invoicing.domain.invoices import STATUS_VI, Status, outstanding, qr_purpose
from invoicing.stores import invoices_store, receipts_store, schools_store
from invoicing.stores.invoices_store import Adjustment, FamilyOpen, InvoiceShown, Line, Listed, Payment, Reduction
from invoicing.stores.receipts_store import ReceiptLink
from shared.errors import NotFound


@dataclass(frozen=True, kw_only=True)
class ListedInvoice(Listed):
    """An invoice of the school's list, with what is owed and the parent's link."""

    pay_url: str
    outstanding: int


@dataclass(frozen=True, kw_only=True)
class InvoiceDetail(InvoiceShown):
    """An invoice with its lines, adjustments, payments and receipts."""

    lines: list[Line]
    adjustments: list[Adjustment]
    payments: list[Payment]
    receipts: list[ReceiptLink]
    outstanding: int

    @property
    def pay_to(self) -> str:
        """The account a transfer goes to: the pupil's virtual account where there is one, else the school's."""
        return self.virtual_account or self.account_number


@dataclass(frozen=True, kw_only=True)
class PaymentPage:
    """What a parent's link shows: one invoice (with the family's other open ones), or a family's group."""

    kind: str  # invoice | group
    invoices: list[InvoiceDetail]
    qr_payload: str | None
    amount_due: int
    reference: str
    bank_name: str | None
    account_number: str
    account_name: str
    school_name: str
    memo: str
    apps: list[tuple[str, str]]
    family_others: list[FamilyOpen] = field(default_factory=list)


async def list_invoices(
    pool: asyncpg.Pool,
    school_id: str,
    *,
    period: str | None,
    status: str | None,
    limit: int,
    offset: int,
    public_url: str = "",
    class_name: str | None = None,
    student: str | None = None,
    owing: bool = False,
) -> list[ListedInvoice]:
    rows = await invoices_store.school_list(
        pool,
        school_id,
        period=period,
        status=status,
        limit=limit,
        offset=offset,
        class_name=class_name,
        # As typed on any keyboard (some compose Vietnamese letters from marks): NFC, as names are stored.
        student=unicodedata.normalize("NFC", student.strip()) if student else None,
        owing=owing,
    )
    return [
        ListedInvoice(
            **vars(r), pay_url=f"{public_url}/pay/{r.public_token}", outstanding=outstanding(r.total, r.amount_paid)
        )
        for r in rows
    ]


COLLECTION_HEADER = [
    "Mã học sinh",
    "Họ và tên",
    "Lớp",
    "Kỳ thu",
    "Mã thanh toán",
    "Phải nộp (đồng)",
    "Đã nộp (đồng)",
    "Còn lại (đồng)",
    "Trạng thái",
    "Hạn nộp",
]
COLLECTION_MONEY = ("Phải nộp (đồng)", "Đã nộp (đồng)", "Còn lại (đồng)")
EXPORT_ROWS = 100_000


async def collection_list(
    pool: asyncpg.Pool, school_id: str, *, period: str | None, class_name: str | None
) -> list[list[object]]:
    """The month's collection list as the accountant files it: one row per invoice, by class and pupil."""
    rows = await invoices_store.school_list(
        pool, school_id, period=period, status=None, limit=EXPORT_ROWS, offset=0, class_name=class_name
    )
    return [
        [
            r.student_code,
            r.full_name,
            r.class_name,
            r.period,
            r.payment_reference,
            r.total,
            r.amount_paid,
            0 if r.status == Status.CANCELLED else outstanding(r.total, r.amount_paid),
            STATUS_VI.get(r.status, r.status),
            r.due_date,
        ]
        for r in rows
    ]


async def unpaid_list(pool: asyncpg.Pool, school_id: str, *, period: str, class_name: str | None, today: date) -> bytes:
    """The printable list of pupils who still owe for the period, one class per page (PDF)."""
    school = await schools_store.get(pool, school_id)
    if school is None:
        raise NotFound(f"Không có trường {school_id!r}.")
    rows = await invoices_store.school_list(
        pool, school_id, period=period, status=None, limit=EXPORT_ROWS, offset=0, class_name=class_name
    )
    owing = [
        unpaid_lists.Owing(
            class_name=r.class_name,
            student_code=r.student_code,
            full_name=r.full_name,
            total=r.total,
            outstanding=outstanding(r.total, r.amount_paid),
            payment_reference=r.payment_reference,
        )
        for r in rows
        if r.status != Status.CANCELLED and outstanding(r.total, r.amount_paid) > 0
    ]
    return await asyncio.to_thread(unpaid_lists.unpaid_pdf, school.name, period, owing, today)


async def payment_notices(
    pool: asyncpg.Pool, school_id: str, *, period: str, class_name: str | None, public_url: str
) -> bytes:
    """Printed payment notices of the invoices still owed for the period (a class, or the school), two per A4
    page, each with its QR (the pupil's virtual account's where there is one)."""
    school = await schools_store.get(pool, school_id)
    if school is None:
        raise NotFound(f"Không có trường {school_id!r}.")
    rows = await invoices_store.school_list(
        pool, school_id, period=period, status=None, limit=EXPORT_ROWS, offset=0, class_name=class_name, owing=True
    )
    notices = []
    for r in rows:
        detail = await invoice_detail(pool, r.invoice_id, school_id)
        notices.append(
            notices_pdf.Notice(
                class_name=r.class_name,
                student_code=r.student_code,
                full_name=r.full_name,
                period=f"{r.period[5:7]}/{r.period[:4]}",
                outstanding=detail.outstanding,
                due=r.due_date,
                payment_reference=r.payment_reference,
                memo=qr_purpose(r.payment_reference, r.period),
                qr_payload=invoice_qr_payload(detail),
                pay_url=f"{public_url.rstrip('/')}/pay/{r.public_token}",
            )
        )
    account = school.account_number
    bank = bank_name(school.bank_bin) or school.bank_bin
    return await asyncio.to_thread(notices_pdf.notices_pdf, school.name, bank, account, school.account_name, notices)


async def invoice_detail(pool: asyncpg.Pool, invoice_id: uuid.UUID, school_id: str | None = None) -> InvoiceDetail:
    row = await invoices_store.with_pupil_and_school(pool, invoice_id, school_id)
    if row is None:
        raise NotFound(f"Không có hóa đơn {invoice_id}.")
    return InvoiceDetail(
        **vars(row),
        lines=await invoices_store.lines(pool, invoice_id),
        adjustments=await invoices_store.adjustments(pool, invoice_id),
        payments=await invoices_store.payments(pool, invoice_id),
        receipts=await receipts_store.for_invoice(pool, invoice_id),
        outstanding=outstanding(row.total, row.amount_paid),
    )


def invoice_qr_payload(detail: InvoiceDetail) -> str:
    """The VietQR of what is still owed; a per-student virtual account replaces the school's account."""
    if detail.status == Status.CANCELLED or detail.outstanding == 0:
        raise NotFound("Hóa đơn này không còn phải nộp: không có mã QR thanh toán.")
    return vietqr.encode(
        bin=detail.bank_bin,
        account=detail.pay_to,
        amount=detail.outstanding,
        purpose=qr_purpose(detail.payment_reference, detail.period),
    )


async def payment_page(pool: asyncpg.Pool, token: str) -> PaymentPage:
    """What the parent's link shows: one invoice, or a family's group of invoices. Nothing else."""
    invoice_id = await invoices_store.id_by_token(pool, token)
    if invoice_id is not None:
        return await _invoice_page(pool, invoice_id)
    return await _group_page(pool, token)


async def _invoice_page(pool: asyncpg.Pool, invoice_id: uuid.UUID) -> PaymentPage:
    detail = await invoice_detail(pool, invoice_id)
    payload = None if detail.outstanding == 0 or detail.status == Status.CANCELLED else invoice_qr_payload(detail)
    family = await invoices_store.open_of_family(pool, invoice_id) if payload else []
    memo = qr_purpose(detail.payment_reference, detail.period)
    return PaymentPage(
        kind="invoice",
        family_others=[r for r in family if r.invoice_id != invoice_id],
        invoices=[detail],
        qr_payload=payload,
        amount_due=detail.outstanding,
        reference=detail.payment_reference,
        bank_name=bank_name(detail.bank_bin),
        account_number=detail.pay_to,
        account_name=detail.account_name,
        school_name=detail.school_name,
        memo=memo,
        apps=deep_links(detail.bank_bin, detail.pay_to, detail.outstanding, memo, detail.account_name)
        if payload
        else [],
    )


async def _group_page(pool: asyncpg.Pool, token: str) -> PaymentPage:
    group = await invoices_store.group_by_token(pool, token)
    if group is None:
        raise await payment_links.why_not(pool, token)
    ids = await invoices_store.group_invoice_ids(pool, group.group_id)
    details = [await invoice_detail(pool, i) for i in ids]
    due = sum(d.outstanding for d in details if d.status != Status.CANCELLED)
    first = details[0]
    memo = f"{group.payment_reference} GIA DINH"
    payload = (
        vietqr.encode(bin=first.bank_bin, account=first.account_number, amount=due, purpose=memo) if due > 0 else None
    )
    return PaymentPage(
        kind="group",
        invoices=details,
        qr_payload=payload,
        amount_due=due,
        reference=group.payment_reference,
        bank_name=bank_name(first.bank_bin),
        account_number=first.account_number,
        account_name=first.account_name,
        school_name=first.school_name,
        memo=memo,
        apps=deep_links(first.bank_bin, first.account_number, due, memo, first.account_name) if payload else [],
    )


async def reimbursement_report(
    pool: asyncpg.Pool, school_id: str, *, school_year: str | None, period: str | None
) -> list[Reduction]:
    """Exempted/reduced amounts per policy category and fee category: what a public school claims from the
    state budget (STATE_FUNDED: the state-funded tuition of every pupil)."""
    rows = await invoices_store.reductions_by_policy(
        pool, school_id, school_year=school_year, period=period, state_funded=STATE_FUNDED
    )
    return rows
