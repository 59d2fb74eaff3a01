"""Receipts: a school's list and register, cancelling one, and each receipt as PDF, XML and the parent's page."""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from receipts.adapters import render
from receipts.app import receipts
from receipts.entrypoints.common import Settings, templates
from receipts.stores import receipts_store
from shared import exports, pages, qr
from shared.auth import SchoolStaff
from shared.errors import NotFound
from shared.formatting import format_vnd
from shared.schemas import Row, files, model_of
from shared.service import Runtime

router = APIRouter()


class Receipt(model_of(receipts_store.Listed, base=Row)):  # type: ignore[misc]
    """A receipt of the school's list."""


class Cancelled(model_of(receipts.Cancelled)):  # type: ignore[misc]
    """A receipt cancelled (it keeps its number), and the one replacing it, if any."""


@router.get("/schools/{school_id}/receipts", tags=["receipts"])
async def list_receipts(
    school_id: str,
    rt: Runtime,
    _: SchoolStaff,
    invoice_id: uuid.UUID | None = None,
    limit: int = Query(200, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> list[Receipt]:
    rows = await receipts.list_receipts(rt.db(), school_id, invoice_id=invoice_id, limit=limit, offset=offset)
    return [Receipt.model_validate(r, from_attributes=True) for r in rows]


@router.get(
    "/schools/{school_id}/exports/receipts.{fmt}",
    tags=["receipts"],
    summary="The receipts register of a date range (series, number, pupil, amount, status) as CSV or Excel",
    response_class=Response,
    responses=exports.TABLE_FILES,
)
async def receipts_register(
    school_id: str, fmt: exports.TableFormat, days: exports.DateRange, rt: Runtime, _: SchoolStaff
) -> Response:
    first, last = days
    rows = await receipts.register(rt.db(), school_id, first, last)
    return await exports.table_download(
        receipts.REGISTER_HEADER,
        rows,
        filename=f"so-bien-lai-{school_id}-{first}-{last}",
        fmt=fmt,
        title="So bien lai",
        money=receipts.REGISTER_MONEY,
    )


class CancelIn(BaseModel):
    reason: str = Field(min_length=1, max_length=300)
    replace: bool = True


@router.post(
    "/schools/{school_id}/receipts/{receipt_id}/cancel",
    tags=["receipts"],
    summary="Cancel a receipt (it keeps its number); by default a new receipt replaces it",
)
async def cancel(
    school_id: str, receipt_id: uuid.UUID, body: CancelIn, rt: Runtime, settings: Settings, p: SchoolStaff
) -> Cancelled:
    result = await receipts.cancel(
        rt.db(),
        rt.outbox,
        settings,
        school_id=school_id,
        receipt_id=receipt_id,
        reason=body.reason,
        replace=body.replace,
        by=p.subject,
    )
    return Cancelled.model_validate(result, from_attributes=True)


_pdf_cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()


PDF_CACHE_ENTRIES = 256


@router.get(
    "/r/{code}.pdf",
    tags=["receipts"],
    summary="The receipt as PDF",
    response_class=Response,
    responses=files("application/pdf", description="the receipt, printable"),
)
async def receipt_pdf(code: str, rt: Runtime, settings: Settings) -> Response:
    row, shown = await receipts.for_display(rt.db(), code)
    key = (str(row.receipt_id), row.status)
    data = _pdf_cache.get(key)
    if data is None:
        data = await asyncio.to_thread(
            render.pdf,
            shown.page(),
            shown.lines,
            xml=bytes(row.xml),
            qr_text=row.compact,
            verify_url=f"{settings.public_url}/r/{code}",
        )
        _pdf_cache[key] = data
        if len(_pdf_cache) > PDF_CACHE_ENTRIES:
            _pdf_cache.popitem(last=False)
    else:
        _pdf_cache.move_to_end(key)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": exports.attachment(f"bienlai-{code}.pdf", "inline")},
    )


@router.get(
    "/r/{code}.xml",
    tags=["receipts"],
    summary="The signed receipt document (XML-DSig)",
    response_class=Response,
    responses=files("application/xml", description="the signed XML, verifiable offline"),
)
async def receipt_xml(code: str, rt: Runtime) -> Response:
    row, _ = await receipts.for_display(rt.db(), code)
    return Response(
        bytes(row.xml),
        media_type="application/xml",
        headers={"Content-Disposition": exports.attachment(f"bienlai-{code}.xml")},
    )


@router.get("/r/{code}", response_class=HTMLResponse, tags=["receipts"], summary="The receipt, for the parent")
async def receipt_page(code: str, rt: Runtime) -> HTMLResponse:
    try:
        _, shown = await receipts.for_display(rt.db(), code)
    except NotFound:  # a person opened a wrong link: a page saying so, not an API's answer
        return pages.page(templates.get_template("receipt_missing.html").render(code=code[:40]), status_code=404)
    qr_svg = qr.svg(shown.compact)
    html = templates.get_template("receipt.html").render(r=shown.page(), qr_svg=qr_svg, code=code, money=format_vnd)
    return pages.page(html)
