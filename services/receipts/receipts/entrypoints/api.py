"""HTTP API of the receipts service: series, keys, receipts, and public verification."""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field

from receipts.adapters import render
from receipts.app import issuing, receipts, series, signing_keys
from receipts.app.verification import KeyList, verify_any
from receipts.settings import ReceiptsSettings
from shared import exports, pages, qr
from shared.auth import SchoolStaff, ServiceCaller
from shared.errors import Conflict, Invalid, NotFound
from shared.formatting import format_vnd
from shared.schemas import Out, Row, files
from shared.service import Runtime, settings_dependency

router = APIRouter()
Settings = Annotated[ReceiptsSettings, Depends(settings_dependency(ReceiptsSettings))]
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"]))


class SeriesIn(BaseModel):
    form_code: str = Field(examples=["01BLP0-001"], description="ký hiệu mẫu số biên lai")
    series_code: str = Field(examples=["BL26"], description="ký hiệu biên lai; its last two digits are the year")
    year: int = Field(ge=2020, le=2100)
    range_from: int = Field(1, ge=1)
    range_to: int = Field(ge=1)


class SeriesCreated(Out):
    series_id: uuid.UUID
    released: int = Field(default=0, description="parked payments receipted now that the series is registered")


class Series(Row):
    series_id: uuid.UUID
    school_id: str
    form_code: str
    series_code: str
    year: int
    range_from: int
    range_to: int
    next_number: int
    numbers_left: int
    running_low: bool


class KeyImported(Out):
    kid: str
    released: int = Field(default=0, description="parked payments receipted now that the key is imported")


class SchoolKey(Out):
    kid: str
    kind: str = Field(description="xml: signs the receipt's XML; compact: signs the QR verified offline")
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    status: str = Field(description="active (signs new receipts), retired (old receipts only) or revoked")
    revoked_at: datetime | None
    receipts: int = Field(description="receipts this key signed")


class Rotated(Out):
    rotated: bool


class KeyListOut(Row):
    keys: list[dict[str, Any]] = Field(description="JWKs with x5c certificate chains, status and kind")
    trust_anchors: list[str] = Field(description="PEM certificates of the certification authorities")
    generated_at: str = Field(description="ISO 8601, UTC")


class Receipt(Row):
    receipt_id: uuid.UUID
    number: int
    form_code: str
    series_code: str
    payment_id: str | None
    invoice_id: uuid.UUID
    amount: int
    verification_code: str
    issued_at: datetime
    status: str
    replaces: uuid.UUID | None
    replaced_by: uuid.UUID | None


class Cancelled(Out):
    cancelled: uuid.UUID
    replaced_by: uuid.UUID | None


class Verdict(Row):
    valid: bool
    reason: str
    format: str = Field(description="xml, pdf or qr")
    fields: dict[str, Any]
    kid: str


@router.post(
    "/schools/{school_id}/series",
    tags=["series"],
    status_code=201,
    summary="Register a receipt series and its number range before use",
)
async def register_series(
    school_id: str, body: SeriesIn, rt: Runtime, settings: Settings, _: SchoolStaff
) -> SeriesCreated:
    series_id = await series.register(rt.db(), school_id=school_id, **body.model_dump())
    released = await issuing.release_parked(rt.db(), rt.outbox, settings, school_id)
    return SeriesCreated(series_id=series_id, released=released)


@router.get("/schools/{school_id}/series", tags=["series"])
async def list_series(school_id: str, rt: Runtime, _: SchoolStaff) -> list[Series]:
    return [Series(**r) for r in await series.list_series(rt.db(), school_id)]


@router.post(
    "/schools/{school_id}/keys",
    tags=["keys"],
    status_code=201,
    summary="Import the school's certificate and key (PKCS#12 from a certification authority)",
)
async def import_key(
    school_id: str,
    rt: Runtime,
    settings: Settings,
    _: SchoolStaff,
    file: UploadFile = File(...),
    password: str = Form(""),
) -> KeyImported:
    data = await file.read()
    kid = await signing_keys.import_key(rt.db(), school_id, data, password, settings)
    released = await issuing.release_parked(rt.db(), rt.outbox, settings, school_id)
    return KeyImported(kid=kid, released=released)


@router.get(
    "/schools/{school_id}/keys",
    tags=["keys"],
    summary="The school's certificates: whose, valid when, what each signs and how many receipts it signed",
)
async def school_keys(school_id: str, rt: Runtime, _: SchoolStaff) -> list[SchoolKey]:
    return [SchoolKey(**k) for k in await signing_keys.of_school(rt.db(), school_id)]


@router.post(
    "/schools/{school_id}/keys/rotate",
    tags=["keys"],
    status_code=201,
    summary="Development: new keys from the local CA; old ones stay published for old receipts",
)
async def rotate(school_id: str, rt: Runtime, settings: Settings, _: SchoolStaff) -> Rotated:
    if not settings.provisions:
        raise Conflict("Không tự cấp khóa ở đây: nhập tệp chứng thư (.p12) của trường.")
    await signing_keys.rotate(rt.db(), school_id, settings.key_secret.get_secret_value())
    return Rotated(rotated=True)


@router.post("/schools/{school_id}/keys/{kid}/revoke", tags=["keys"], status_code=204)
async def revoke(school_id: str, kid: str, rt: Runtime, _: ServiceCaller) -> None:
    await signing_keys.revoke(rt.db(), school_id, kid)


@router.get("/keys", tags=["verification"], summary="Published key list: JWKS with certificates and trust anchors")
async def key_list(rt: Runtime, settings: Settings) -> KeyListOut:
    return KeyListOut(**await signing_keys.published(rt.db(), settings))


@router.get("/keys/{kid}.pem", tags=["verification"], response_class=PlainTextResponse)
async def key_pem(kid: str, rt: Runtime) -> str:
    return await signing_keys.certificate(rt.db(), kid)


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
    return [Receipt(**r) for r in rows]


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
    return Cancelled(**result)


# Rendered PDFs by (receipt, status): a receipt's content never changes, its status may (cancelled).
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
    row, fields = await receipts.for_display(rt.db(), code)
    key = (str(row["receipt_id"]), str(row["status"]))
    data = _pdf_cache.get(key)
    if data is None:
        data = await asyncio.to_thread(
            render.pdf,
            fields,
            fields["lines"],
            xml=bytes(row["xml"]),
            qr_text=row["compact"],
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
        bytes(row["xml"]),
        media_type="application/xml",
        headers={"Content-Disposition": exports.attachment(f"bienlai-{code}.xml")},
    )


# After /r/{code}.pdf and .xml: Starlette's path parameter would also match "CODE.xml".
@router.get("/r/{code}", response_class=HTMLResponse, tags=["receipts"], summary="The receipt, for the parent")
async def receipt_page(code: str, rt: Runtime) -> HTMLResponse:
    try:
        _, fields = await receipts.for_display(rt.db(), code)
    except NotFound:  # a person opened a wrong link: a page saying so, not an API's answer
        return pages.page(_env.get_template("receipt_missing.html").render(code=code[:40]), status_code=404)
    qr_svg = qr.svg(fields["compact"])
    html = _env.get_template("receipt.html").render(r=fields, qr_svg=qr_svg, code=code, money=format_vnd)
    return pages.page(html)


@router.get("/verify", response_class=HTMLResponse, tags=["verification"], summary="The public verification page")
async def verify_page() -> HTMLResponse:
    return pages.page(_env.get_template("verify.html").render())


@router.post(
    "/verify",
    tags=["verification"],
    summary="Is this receipt genuine? Body: the XML, the PDF, or the QR text; or a multipart 'file'",
)
async def verify(request: Request, rt: Runtime, settings: Settings, file: UploadFile | None = File(None)) -> Verdict:
    if file is not None:
        data = await file.read()
    elif request.headers.get("content-type", "").startswith(("multipart/", "application/x-www-form-urlencoded")):
        # The form was read (and the body with it) looking for 'file'.
        raise Invalid("Tệp biên lai phải được gửi trong trường «file» của biểu mẫu.")
    else:
        data = await request.body()
    if not data.strip():
        raise Invalid("Gửi tệp XML, PDF của biên lai, hoặc nội dung mã QR.")
    key_list = KeyList(await signing_keys.published(rt.db(), settings))
    # Parsing and checking a stranger's document is CPU work: off the event loop.
    verdict = await asyncio.to_thread(verify_any, data, key_list)
    out = verdict.as_dict()
    if not verdict.valid and data.lstrip().startswith(b"<"):
        out["changed_fields"] = await receipts.changed_fields(rt.db(), data)
    return Verdict(**out)
