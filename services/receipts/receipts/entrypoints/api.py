"""HTTP API of the receipts service: series, keys, receipts, and public verification."""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from lxml import etree
from pydantic import BaseModel, Field

from receipts.adapters import keys as key_files
from receipts.adapters import render
from receipts.app import keys, receipts
from receipts.app.verification import KeyList, verify_any
from receipts.domain.receipt import read_fields
from receipts.domain.series import SeriesError, remaining, validate_registration
from receipts.settings import ReceiptsSettings
from shared import exports, qr
from shared.auth import Principal, Role, require, require_school
from shared.service import Runtime, ServiceRuntime

router = APIRouter()
STAFF = (Role.ACCOUNTANT, Role.SERVICE)
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"]))


def _settings(rt: ServiceRuntime) -> ReceiptsSettings:
    assert isinstance(rt.settings, ReceiptsSettings)
    return rt.settings


class SeriesIn(BaseModel):
    form_code: str = Field(examples=["01BLP0-001"], description="ký hiệu mẫu số biên lai")
    series_code: str = Field(examples=["BL26"], description="ký hiệu biên lai; its last two digits are the year")
    year: int = Field(ge=2020, le=2100)
    range_from: int = Field(1, ge=1)
    range_to: int = Field(ge=1)


@router.post(
    "/schools/{school_id}/series",
    tags=["series"],
    status_code=201,
    summary="Register a receipt series and its number range before use",
)
async def register_series(
    school_id: str, body: SeriesIn, rt: Runtime, _: Principal = Depends(require_school(*STAFF))
) -> dict[str, Any]:
    try:
        validate_registration(body.form_code, body.series_code, body.year, body.range_from, body.range_to)
    except SeriesError as exc:
        raise HTTPException(422, detail=str(exc)) from exc
    series_id = uuid.uuid4()
    inserted = await rt.db().fetchval(
        "INSERT INTO receipt_series (series_id, school_id, form_code, series_code, year, range_from, range_to, "
        "next_number) VALUES ($1, $2, $3, $4, $5, $6, $7, $6) ON CONFLICT DO NOTHING RETURNING true",
        series_id,
        school_id,
        body.form_code,
        body.series_code,
        body.year,
        body.range_from,
        body.range_to,
    )
    if not inserted:
        raise HTTPException(409, detail=f"series {body.form_code} {body.series_code} is already registered")
    return {"series_id": str(series_id)}


@router.get("/schools/{school_id}/series", tags=["series"])
async def list_series(
    school_id: str, rt: Runtime, _: Principal = Depends(require_school(*STAFF))
) -> list[dict[str, Any]]:
    rows = await rt.db().fetch(
        "SELECT * FROM receipt_series WHERE school_id = $1 ORDER BY year, registered_at", school_id
    )
    out = []
    for r in rows:
        left = remaining(r["range_from"], r["range_to"], r["next_number"])
        out.append(dict(r) | {"numbers_left": left.left, "running_low": left.low})
    return out


@router.post(
    "/schools/{school_id}/keys",
    tags=["keys"],
    status_code=201,
    summary="Import the school's certificate and key (PKCS#12 from a certification authority)",
)
async def import_key(
    school_id: str,
    rt: Runtime,
    file: UploadFile = File(...),
    password: str = Form(""),
    _: Principal = Depends(require_school(*STAFF)),
) -> dict[str, str]:
    data = await file.read()
    async with rt.db().acquire() as conn, conn.transaction():
        try:
            kid = await keys.import_p12(conn, school_id, data, password, _settings(rt).key_secret.get_secret_value())
        except key_files.KeyError_ as exc:
            raise HTTPException(422, detail=str(exc)) from exc
    return {"kid": kid}


@router.post(
    "/schools/{school_id}/keys/rotate",
    tags=["keys"],
    status_code=201,
    summary="Development: new keys from the local CA; old ones stay published for old receipts",
)
async def rotate(school_id: str, rt: Runtime, _: Principal = Depends(require_school(*STAFF))) -> dict[str, Any]:
    settings = _settings(rt)
    if not settings.provisions:
        raise HTTPException(409, detail="automatic provisioning is off: import a PKCS#12 instead")
    async with rt.db().acquire() as conn, conn.transaction():
        name = await conn.fetchval("SELECT name FROM schools WHERE school_id = $1", school_id) or school_id
        await keys.provision(conn, school_id, name, settings.key_secret.get_secret_value())
    return {"rotated": True}


@router.post("/schools/{school_id}/keys/{kid}/revoke", tags=["keys"], status_code=204)
async def revoke(school_id: str, kid: str, rt: Runtime, _: Principal = Depends(require(Role.SERVICE))) -> None:
    async with rt.db().acquire() as conn:
        if not await keys.revoke(conn, school_id, kid):
            raise HTTPException(404, detail=f"no active or retired key {kid} at school {school_id}")


@router.get("/keys", tags=["verification"], summary="Published key list: JWKS with certificates and trust anchors")
async def key_list(rt: Runtime) -> dict[str, Any]:
    return await keys.published(rt.db())


@router.get("/keys/{kid}.pem", tags=["verification"], response_class=PlainTextResponse)
async def key_pem(kid: str, rt: Runtime) -> str:
    pem = await rt.db().fetchval("SELECT cert_pem FROM signing_keys WHERE kid = $1", kid)
    if pem is None:
        raise HTTPException(404, detail=f"unknown key {kid}")
    return str(pem)


@router.get("/schools/{school_id}/receipts", tags=["receipts"])
async def list_receipts(
    school_id: str,
    rt: Runtime,
    invoice_id: uuid.UUID | None = None,
    limit: int = Query(200, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
    _: Principal = Depends(require_school(*STAFF)),
) -> list[dict[str, Any]]:
    rows = await rt.db().fetch(
        "SELECT r.receipt_id, r.number, s.form_code, s.series_code, r.payment_id, r.invoice_id, r.amount, "
        "r.verification_code, r.issued_at, r.status, r.replaces, r.replaced_by FROM receipts r "
        "JOIN receipt_series s USING (series_id) WHERE r.school_id = $1 AND ($2::uuid IS NULL OR r.invoice_id = $2) "
        "ORDER BY s.year, s.series_code, r.number LIMIT $3 OFFSET $4",
        school_id,
        invoice_id,
        limit,
        offset,
    )
    return [dict(r) for r in rows]


class CancelIn(BaseModel):
    reason: str = Field(min_length=1)
    replace: bool = True


@router.post(
    "/schools/{school_id}/receipts/{receipt_id}/cancel",
    tags=["receipts"],
    summary="Cancel a receipt (it keeps its number); by default a new receipt replaces it",
)
async def cancel(
    school_id: str, receipt_id: uuid.UUID, body: CancelIn, rt: Runtime, _: Principal = Depends(require_school(*STAFF))
) -> dict[str, Any]:
    try:
        return await receipts.cancel(
            rt.db(),
            rt.outbox,
            _settings(rt),
            school_id=school_id,
            receipt_id=receipt_id,
            reason=body.reason,
            replace=body.replace,
        )
    except receipts.ReceiptError as exc:
        raise HTTPException(exc.status, detail=str(exc)) from exc


async def _display(rt: ServiceRuntime, code: str) -> tuple[Any, dict[str, Any]]:
    try:
        row = await receipts.by_code(rt.db(), code)
    except receipts.ReceiptNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    school = await rt.db().fetchrow("SELECT * FROM schools WHERE school_id = $1", row["school_id"])
    invoice = await rt.db().fetchrow("SELECT * FROM invoices WHERE invoice_id = $1", row["invoice_id"])
    return row, receipts.display(row, school, invoice)


# Rendered PDFs by (receipt, status): a receipt's content never changes, its status may (cancelled).
_pdf_cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
PDF_CACHE_ENTRIES = 256


@router.get("/r/{code}.pdf", tags=["receipts"])
async def receipt_pdf(code: str, rt: Runtime) -> Response:
    row, fields = await _display(rt, code)
    key = (str(row["receipt_id"]), str(row["status"]))
    data = _pdf_cache.get(key)
    if data is None:
        data = await asyncio.to_thread(
            render.pdf,
            fields,
            fields["lines"],
            xml=bytes(row["xml"]),
            qr_text=row["compact"],
            verify_url=f"{_settings(rt).public_url}/r/{code}",
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


@router.get("/r/{code}.xml", tags=["receipts"])
async def receipt_xml(code: str, rt: Runtime) -> Response:
    row, _ = await _display(rt, code)
    return Response(
        bytes(row["xml"]),
        media_type="application/xml",
        headers={"Content-Disposition": exports.attachment(f"bienlai-{code}.xml")},
    )


# After /r/{code}.pdf and .xml: Starlette's path parameter would also match "CODE.xml".
@router.get("/r/{code}", response_class=HTMLResponse, tags=["receipts"], summary="The receipt, for the parent")
async def receipt_page(code: str, rt: Runtime) -> HTMLResponse:
    _, fields = await _display(rt, code)
    qr_svg = qr.svg(fields["compact"])
    html = _env.get_template("receipt.html").render(
        r=fields, qr_svg=qr_svg, code=code, money=lambda n: f"{n:,}".replace(",", ".") + " ₫"
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"})


@router.post(
    "/verify",
    tags=["verification"],
    summary="Is this receipt genuine? Body: the XML, the PDF, or the QR text; or a multipart 'file'",
)
async def verify(request: Request, rt: Runtime, file: UploadFile | None = File(None)) -> dict[str, Any]:
    if file is not None:
        data = await file.read()
    elif request.headers.get("content-type", "").startswith(("multipart/", "application/x-www-form-urlencoded")):
        # The form was read (and the body with it) looking for 'file'.
        raise HTTPException(422, detail="a form upload must carry the receipt in a field named 'file'")
    else:
        data = await request.body()
    if not data.strip():
        raise HTTPException(422, detail="send the receipt's XML, PDF or QR text")
    key_list = KeyList(await keys.published(rt.db()))
    # Parsing and checking a stranger's document is CPU work: off the event loop.
    verdict = await asyncio.to_thread(verify_any, data, key_list)
    out = verdict.as_dict()
    if not verdict.valid and data.lstrip().startswith(b"<"):
        out["changed_fields"] = await _changed_fields(rt, data)
    return out


# A stranger's XML: no entity expansion, no network, no file reads.
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


async def _changed_fields(rt: ServiceRuntime, data: bytes) -> list[str]:
    """Online only: which fields differ from the receipt as issued (found by its verification code)."""
    try:
        claimed = read_fields(etree.fromstring(data, parser=_SAFE_XML).find("DLBLai"))
        row = await receipts.by_code(rt.db(), claimed["verification_code"])
    except (etree.XMLSyntaxError, AttributeError, receipts.ReceiptNotFound):
        return []
    issued = read_fields(etree.fromstring(bytes(row["xml"])).find("DLBLai"))
    return sorted(k for k in issued if issued[k] != claimed.get(k))
