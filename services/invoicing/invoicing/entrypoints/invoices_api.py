"""Invoices: issuing a period (and its preview), listing, detail, cancel, adjust."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from invoicing.app import (
    invoices,
    issuing,
    queries,
)
from invoicing.domain.fees import Period
from invoicing.entrypoints.schemas import ReasonIn
from invoicing.settings import InvoicingSettings
from invoicing.stores import invoices_store, receipts_store
from shared import rows
from shared.auth import SchoolStaff
from shared.money import SignedAmount
from shared.schemas import Out, model_of
from shared.service import Runtime, settings_dependency

router = APIRouter()
Settings = Annotated[InvoicingSettings, Depends(settings_dependency(InvoicingSettings))]


class Issued(Out):
    period: str
    created: int
    already_issued: int
    nothing_billed: int = Field(description="pupils with nothing to pay this period (no invoice)")
    total_invoiced: int


class InvoiceFigures(Out):
    """What every view of an invoice shows: whose, for what period, how much, and where it stands."""

    invoice_id: uuid.UUID
    period: str
    payment_reference: str
    total: int
    amount_paid: int
    outstanding: int
    status: str
    due_date: date
    student_code: str
    full_name: str
    class_name: str


class InvoiceSummary(InvoiceFigures):
    round_code: str = Field(default="", description="empty for the period's invoice; a collection round's code")
    pay_url: str = Field(description="the parent's payment page")


_LINE = model_of(invoices_store.Line)


class InvoiceLine(_LINE):  # type: ignore[misc,valid-type]
    """A line of an invoice."""


_ADJUSTMENT = model_of(invoices_store.Adjustment)


class Adjustment(_ADJUSTMENT):  # type: ignore[misc,valid-type]
    """A change of an invoice's total, with its reason."""


_PAYMENT = model_of(invoices_store.Payment)


class InvoicePayment(_PAYMENT):  # type: ignore[misc,valid-type]
    """A payment on the invoice (reversed: taken back)."""


_RECEIPT = model_of(receipts_store.ReceiptLink)


class InvoiceReceipt(_RECEIPT):  # type: ignore[misc,valid-type]
    """A receipt of the invoice, as the receipts service announced it."""


class InvoiceDetail(InvoiceFigures):
    model_config = ConfigDict(extra="allow")  # the invoice's further columns pass through

    school_id: str
    school_year: str
    lines: list[InvoiceLine]
    adjustments: list[Adjustment]
    payments: list[InvoicePayment]
    receipts: list[InvoiceReceipt]


class Adjusted(Out):
    total: int
    status: str


class IssueIn(BaseModel):
    due_date: date | None = None
    school_days: int | None = Field(default=None, ge=0, le=31)


@router.post(
    "/schools/{school_id}/periods/{period}/invoices",
    tags=["invoices"],
    summary="Issue every invoice of the school for a period (idempotent)",
)
async def issue(
    school_id: str,
    period: str,
    rt: Runtime,
    p: SchoolStaff,
    body: IssueIn | None = None,
) -> Issued:
    body = body or IssueIn()
    cmd = issuing.IssuePeriod(school_id, Period.parse(period), body.due_date, body.school_days, issued_by=p.subject)
    result = await issuing.issue_period(rt.db(), rt.outbox, cmd)
    return Issued.model_validate(result, from_attributes=True)


class ClassTotal(Out):
    class_name: str
    invoices: int
    total: int


class ItemTotal(Out):
    item_code: str
    name: str
    list_amount: int
    reduction: int
    amount: int


class ExemptionTotal(Out):
    policy_category: str
    students: int
    reduction: int


class IssuePreview(Out):
    period: str
    invoices: int = Field(description="invoices issuing would create now")
    already_issued: int
    nothing_billed: int
    total: int
    by_class: list[ClassTotal]
    by_item: list[ItemTotal]
    exemptions: list[ExemptionTotal]


@router.get(
    "/schools/{school_id}/periods/{period}/invoices/preview",
    tags=["invoices"],
    summary="What issuing the period would create (totals per class, fee item and exemption); nothing is written",
)
async def issue_preview(
    school_id: str,
    period: str,
    rt: Runtime,
    _: SchoolStaff,
    school_days: int | None = Query(None, ge=0, le=31),
) -> IssuePreview:
    cmd = issuing.IssuePeriod(school_id, Period.parse(period), None, school_days)
    return IssuePreview.model_validate(await issuing.preview_period(rt.db(), cmd))


@router.get("/schools/{school_id}/invoices", tags=["invoices"])
async def list_invoices(
    school_id: str,
    rt: Runtime,
    settings: Settings,
    _: SchoolStaff,
    period: str | None = None,
    status: str | None = None,
    limit: int = Query(200, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=10_000_000),
    class_name: str | None = Query(None, max_length=40),
    student: str | None = Query(
        None,
        min_length=1,
        max_length=80,
        description='a pupil\'s code, or part of a name with or without its marks ("duong dieu yen")',
    ),
    owing: bool = Query(False, description="only the invoices still to pay (open or partly paid)"),
) -> list[InvoiceSummary]:
    rows = await queries.list_invoices(
        rt.db(),
        school_id,
        period=period,
        status=status,
        limit=limit,
        offset=offset,
        public_url=settings.public_url,
        class_name=class_name,
        student=student,
        owing=owing,
    )
    return [InvoiceSummary.model_validate(r, from_attributes=True) for r in rows]


@router.get("/schools/{school_id}/invoices/{invoice_id}", tags=["invoices"])
async def get_invoice(school_id: str, invoice_id: uuid.UUID, rt: Runtime, _: SchoolStaff) -> InvoiceDetail:
    detail = await queries.invoice_detail(rt.db(), invoice_id, school_id)
    return InvoiceDetail.model_validate(rows.as_dict(detail))  # its further columns pass through


@router.post("/schools/{school_id}/invoices/{invoice_id}/cancel", tags=["invoices"], status_code=204)
async def cancel(school_id: str, invoice_id: uuid.UUID, body: ReasonIn, rt: Runtime, p: SchoolStaff) -> None:
    await invoices.cancel_invoice(
        rt.db(), rt.outbox, school_id=school_id, invoice_id=invoice_id, reason=body.reason, by=p.subject
    )


class AdjustIn(BaseModel):
    delta: SignedAmount = Field(description="đồng added to (positive) or taken from (negative) the total")
    reason: str = Field(min_length=1)


@router.post("/schools/{school_id}/invoices/{invoice_id}/adjustments", tags=["invoices"])
async def adjust(school_id: str, invoice_id: uuid.UUID, body: AdjustIn, rt: Runtime, p: SchoolStaff) -> Adjusted:
    adjusted = await invoices.adjust_invoice(
        rt.db(),
        rt.outbox,
        school_id=school_id,
        invoice_id=invoice_id,
        delta=body.delta,
        reason=body.reason,
        by=p.subject,
    )
    return Adjusted.model_validate(adjusted)
