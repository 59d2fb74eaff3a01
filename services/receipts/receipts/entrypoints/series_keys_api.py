"""A school's receipt series and signing keys: registering a series, importing, listing, rotating and revoking keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field

from receipts.app import issuing, series, signing_keys
from receipts.entrypoints.common import Settings
from receipts.stores import series_store
from shared.auth import SchoolStaff, ServiceCaller
from shared.errors import Conflict
from shared.schemas import Out, Row, model_of
from shared.service import Runtime

router = APIRouter()


class SeriesIn(BaseModel):
    form_code: str = Field(examples=["01BLP0-001"], description="ký hiệu mẫu số biên lai")
    series_code: str = Field(examples=["BL26"], description="ký hiệu biên lai; its last two digits are the year")
    year: int = Field(ge=2020, le=2100)
    range_from: int = Field(1, ge=1)
    range_to: int = Field(ge=1)


class SeriesCreated(Out):
    series_id: uuid.UUID
    released: int = Field(default=0, description="parked payments receipted now that the series is registered")


class Series(model_of(series_store.Series, base=Row, more={"numbers_left": int, "running_low": bool})):  # type: ignore[misc]
    """A registered series, with the numbers left and whether they run low."""


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
    return [Series.model_validate(r, from_attributes=True) for r in await series.list_series(rt.db(), school_id)]


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
    return [SchoolKey.model_validate(k, from_attributes=True) for k in await signing_keys.of_school(rt.db(), school_id)]


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
