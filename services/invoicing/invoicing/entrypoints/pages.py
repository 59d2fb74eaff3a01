"""The parent payment page: an unguessable link per invoice (or family group), no login, nothing else reachable."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import Field

from invoicing.app import invoices, queries
from invoicing.app.payment_links import LinkEnded
from invoicing.domain.invoices import STATUS_VI
from invoicing.entrypoints.payment_api import qr_response
from shared import pages, qr
from shared.errors import NotFound
from shared.formatting import FEE_CATEGORY_VI, format_vnd, local_date
from shared.schemas import Out, files
from shared.service import Runtime

router = APIRouter()
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"]))
_env.filters["vnd"] = format_vnd
_env.filters["local_date"] = local_date


@router.get("/pay/{token}", response_class=HTMLResponse, tags=["parents"], summary="The parent's payment page")
async def pay_page(token: str, request: Request, rt: Runtime) -> HTMLResponse:
    try:
        page = await queries.payment_page(rt.db(), token)
    except LinkEnded as ended:
        html = _env.get_template("link_ended.html").render(message=ended.message, school_name=ended.school_name)
        return pages.page(html, status_code=410)
    except NotFound:
        return pages.page(_env.get_template("not_found.html").render(), status_code=404)
    qr_svg = qr.svg(page.qr_payload) if page.qr_payload else None
    html = _env.get_template("pay.html").render(
        page=page,
        token=token,
        qr_svg=qr_svg,
        status_vi=STATUS_VI,
        category_vi=FEE_CATEGORY_VI,
        state=_state(page),
        children=len({i.student_code for i in page.invoices}),
    )
    return pages.page(html, forms=True)  # the "pay for all my children" form posts to this page's origin


class PayState(Out):
    state: str = Field(description="changes when a payment or a receipt arrives: the page then redraws itself")
    amount_due: int


def _state(page: queries.PaymentPage) -> str:
    return ";".join(f"{i.status}:{i.amount_paid}:{len(i.receipts)}" for i in page.invoices)


@router.get("/pay/{token}/status", tags=["parents"], summary="The payment page's state, polled by the page itself")
async def pay_status(token: str, rt: Runtime) -> PayState:
    page = await queries.payment_page(rt.db(), token)
    return PayState(state=_state(page), amount_due=page.amount_due)


@router.post(
    "/pay/{token}/family",
    tags=["parents"],
    status_code=303,
    summary="Pay for all my children: one QR for the family's open invoices (redirects to its payment page)",
    response_class=RedirectResponse,
    responses={303: {"description": "the family's payment page (Location)"}},
)
async def pay_family(token: str, rt: Runtime) -> RedirectResponse:
    group_token = await invoices.family_group_for(rt.db(), rt.outbox, token)
    return RedirectResponse(f"/pay/{group_token}", status_code=303)


@router.get(
    "/pay/{token}/qr.{fmt}",
    tags=["parents"],
    summary="The QR of the payment page, as PNG or SVG",
    response_class=Response,
    responses=files("text/plain", "image/png", "image/svg+xml", description="the VietQR payload or its image"),
)
async def pay_qr(token: str, fmt: Literal["png", "svg", "txt"], rt: Runtime) -> Response:
    page = await queries.payment_page(rt.db(), token)
    if not page.qr_payload:
        raise NotFound("Không còn khoản phải nộp: không có mã QR thanh toán.")
    return qr_response(page.qr_payload, fmt)
