"""Verification for anyone: the published keys and trust anchors, the verification page and its check."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import Field

from receipts.app import receipts, signing_keys
from receipts.app.verification import KeyList, verify_any
from receipts.entrypoints.common import Settings, templates
from shared import pages
from shared.errors import Invalid
from shared.schemas import Row
from shared.service import Runtime

router = APIRouter()


class KeyListOut(Row):
    keys: list[dict[str, Any]] = Field(description="JWKs with x5c certificate chains, status and kind")
    trust_anchors: list[str] = Field(description="PEM certificates of the certification authorities")
    generated_at: str = Field(description="ISO 8601, UTC")


class Verdict(Row):
    valid: bool
    reason: str
    format: str = Field(description="xml, pdf or qr")
    fields: dict[str, Any]
    kid: str


@router.get("/keys", tags=["verification"], summary="Published key list: JWKS with certificates and trust anchors")
async def key_list(rt: Runtime, settings: Settings) -> KeyListOut:
    return KeyListOut.model_validate(await signing_keys.published(rt.db(), settings))


@router.get("/keys/{kid}.pem", tags=["verification"], response_class=PlainTextResponse)
async def key_pem(kid: str, rt: Runtime) -> str:
    return await signing_keys.certificate(rt.db(), kid)


@router.get("/verify", response_class=HTMLResponse, tags=["verification"], summary="The public verification page")
async def verify_page() -> HTMLResponse:
    return pages.page(templates.get_template("verify.html").render())


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
    altered = not verdict.valid and data.lstrip().startswith(b"<")
    changed = {"changed_fields": await receipts.changed_fields(rt.db(), data)} if altered else {}
    return Verdict.model_validate(asdict(verdict) | changed)
