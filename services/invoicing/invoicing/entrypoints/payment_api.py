"""How a family pays: the payment link (replaced, ended), the QR of an invoice, payment groups, printed notices."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from invoicing.app import (
    invoices,
    payment_links,
    queries,
)
from invoicing.settings import InvoicingSettings
from shared import exports, qr
from shared.auth import SchoolStaff
from shared.formatting import VN
from shared.schemas import Out, files
from shared.service import Runtime, settings_dependency

router = APIRouter()
Settings = Annotated[InvoicingSettings, Depends(settings_dependency(InvoicingSettings))]


class PaymentGroup(Out):
    group_id: uuid.UUID
    payment_reference: str
    total: int
    public_token: str
    invoice_ids: list[uuid.UUID]


class PaymentLink(Out):
    pay_url: str = Field(description="the new link to send the family; the old one says it was replaced")


@router.post(
    "/schools/{school_id}/invoices/{invoice_id}/payment-link",
    tags=["parents"],
    summary="Replace the parents' link of an invoice (and of the family groups holding it)",
)
async def replace_payment_link(
    school_id: str, invoice_id: uuid.UUID, rt: Runtime, settings: Settings, p: SchoolStaff
) -> PaymentLink:
    url = await payment_links.replace(
        rt.db(), school_id=school_id, invoice_id=invoice_id, by=p.subject, public_url=settings.public_url
    )
    return PaymentLink(pay_url=url)


class LinkEndIn(BaseModel):
    expires_on: date = Field(description="the last day the period's links open (Asia/Ho_Chi_Minh)")


@router.put(
    "/schools/{school_id}/payment-links/{period}",
    tags=["parents"],
    summary="The day the parents' links of a billing period end (120 days after issue unless set)",
)
async def set_payment_links_end(
    school_id: str, period: str, body: LinkEndIn, rt: Runtime, p: SchoolStaff
) -> dict[str, int]:
    today = datetime.now(VN).date()
    count = await payment_links.set_period_end(
        rt.db(), school_id=school_id, period=period, expires_on=body.expires_on, today=today
    )
    return {"invoices": count}


@router.get(
    "/schools/{school_id}/invoices/{invoice_id}/qr.{fmt}",
    tags=["invoices"],
    summary="The invoice's VietQR: txt (payload), png or svg",
    response_class=Response,
    responses=files("text/plain", "image/png", "image/svg+xml", description="the VietQR payload or its image"),
)
async def invoice_qr(
    school_id: str,
    invoice_id: uuid.UUID,
    fmt: Literal["txt", "png", "svg"],
    rt: Runtime,
    _: SchoolStaff,
) -> Response:
    return qr_response(queries.invoice_qr_payload(await queries.invoice_detail(rt.db(), invoice_id, school_id)), fmt)


def qr_response(payload: str, fmt: str) -> Response:
    if fmt == "png":
        return Response(qr.png(payload), media_type="image/png")
    if fmt == "svg":
        return Response(qr.svg(payload), media_type="image/svg+xml")
    return PlainTextResponse(payload)


class GroupIn(BaseModel):
    invoice_ids: list[uuid.UUID] = Field(min_length=2)


@router.post(
    "/schools/{school_id}/payment-groups",
    tags=["invoices"],
    status_code=201,
    summary="One reference and QR for several open invoices of one family",
)
async def payment_group(school_id: str, body: GroupIn, rt: Runtime, _: SchoolStaff) -> PaymentGroup:
    group = await invoices.create_payment_group(rt.db(), rt.outbox, school_id=school_id, invoice_ids=body.invoice_ids)
    return PaymentGroup.model_validate(group, from_attributes=True)


@router.get(
    "/schools/{school_id}/exports/notices.pdf",
    tags=["parents"],
    summary="Printed payment notices (two per A4 page, with the QR) of what is owed for a period, for a class",
    response_class=Response,
    responses=files("application/pdf", description="A4, two A5 notices per page"),
)
async def notices_pdf(
    school_id: str,
    rt: Runtime,
    settings: Settings,
    _: SchoolStaff,
    period: str = Query(pattern=r"^\d{4}-\d{2}$"),
    class_name: str | None = Query(None, max_length=40),
) -> Response:
    data = await queries.payment_notices(
        rt.db(), school_id, period=period, class_name=class_name, public_url=settings.public_url
    )
    name = f"giay-bao-{school_id}-{period}" + (f"-{class_name}" if class_name else "")
    return Response(
        data, media_type="application/pdf", headers={"Content-Disposition": exports.attachment(name + ".pdf")}
    )
