"""Money in: the aggregators' webhooks (and each school's webhook keys), bank statements, cash at the desk."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from reconciliation.adapters import payos_api, statements
from reconciliation.app import metrics
from reconciliation.app.intake import channels
from reconciliation.entrypoints.common import intake_of
from reconciliation.settings import ReconciliationSettings
from shared.auth import SchoolStaff
from shared.errors import DomainError, Invalid
from shared.money import PositiveAmount
from shared.schemas import Out
from shared.service import Runtime, settings_dependency

router = APIRouter()


Settings = Annotated[ReconciliationSettings, Depends(settings_dependency(ReconciliationSettings))]


Provider = Literal["sepay", "casso", "payos"]


class Outcome(Out):
    credit_id: uuid.UUID
    new: bool = Field(description="false when the credit was seen before (by any channel)")
    state: str
    reason_code: str


class WebhookAck(Out):
    success: bool
    ignored: str | None = Field(default=None, description="why nothing was recorded (e.g. a debit)")
    credit_id: uuid.UUID | None = None
    new: bool | None = None
    state: str | None = None
    reason_code: str | None = None


class ReversalsTaken(Out):
    applied: int = Field(description="credits the bank took back: their payments reversed")
    open: int = Field(description="reversals no single credit fits: in the exceptions queue")
    already_known: int = Field(description="reversals already read from another file")


class StatementLine(Out):
    booked_at: datetime
    amount: int
    memo: str
    new: bool = Field(description="false: a credit already recorded (by a webhook or an earlier statement)")
    state: str
    reason_code: str


class StatementUpload(Out):
    statement_id: uuid.UUID
    already_uploaded: bool
    preview: bool = Field(default=False, description="true: what the upload would record; nothing was stored")
    format: str | None = None
    credits: int
    new_credits: int
    outcomes: list[Outcome]
    reversals: ReversalsTaken | None = None
    notes: list[str] = Field(default=[], description="lines skipped on purpose (a zero-amount notice line)")
    lines: list[StatementLine] = Field(default=[], description="each credit line, in the file's order")


class CashRecorded(Outcome):
    recorded_by: str


class WebhookConfigIn(BaseModel):
    scheme: Literal["apikey", "hmac", "checksum"]
    secret: str = Field(min_length=8, max_length=500)
    api_client_id: str | None = Field(
        default=None, max_length=200, description="payOS only: the merchant API's client id, to confirm each credit"
    )
    api_key: str | None = Field(default=None, min_length=8, max_length=500, description="payOS only: its API key")


@router.put(
    "/schools/{school_id}/webhooks/{provider}",
    tags=["credits"],
    status_code=204,
    summary="How this school's aggregator signs its webhooks (the secret is never shown again)",
)
async def put_webhook_config(
    school_id: str, provider: Provider, body: WebhookConfigIn, rt: Runtime, settings: Settings, _: SchoolStaff
) -> None:
    if (body.api_client_id is None) != (body.api_key is None):
        raise Invalid("Nhập cả api_client_id và api_key, hoặc để trống cả hai.")
    api = payos_api.Credentials(body.api_client_id, body.api_key) if body.api_client_id and body.api_key else None
    await channels.configure_webhook(
        intake_of(rt),
        school_id=school_id,
        provider=provider,
        scheme=body.scheme,
        secret=body.secret,
        api=api,
    )


class WebhookConfig(Out):
    provider: str
    scheme: str
    path: str = Field(description="where the aggregator posts, on this service")


@router.get(
    "/schools/{school_id}/webhooks",
    tags=["credits"],
    summary="The school's configured aggregators and the address each must call (never the secret)",
)
async def webhook_configs(school_id: str, rt: Runtime, _: SchoolStaff) -> list[WebhookConfig]:
    configs = await channels.webhook_configs(rt.db(), school_id)
    return [WebhookConfig.model_validate(c, from_attributes=True) for c in configs]


@router.post(
    "/webhooks/{provider}/{school_id}",
    tags=["credits"],
    summary="Bank-transaction webhook of SePay, Casso (v2) or payOS; signature checked before anything",
    response_model=WebhookAck,
)
async def webhook(provider: Provider, school_id: str, request: Request, rt: Runtime, settings: Settings) -> Response:
    headers = dict(request.headers.items())  # names lower-cased
    call = channels.WebhookCall(provider=provider, school_id=school_id, headers=headers, raw=await request.body())
    try:
        confirmation = channels.Confirmation(payos_url=settings.payos_api_url, timeout_s=settings.payos_api_timeout_s)
        received = await channels.receive_webhook(intake_of(rt), call, confirmation)
        ack = WebhookAck.model_validate(received, from_attributes=True)
    except DomainError as exc:
        metrics.webhook_refused(rt.metrics, exc)
        raise
    # The month-start hot path: the answer is serialised here, once, not validated again by the framework.
    return Response(ack.model_dump_json(), media_type="application/json")


@router.post(
    "/schools/{school_id}/statements",
    tags=["credits"],
    summary="Upload a statement: camt.053, camt.054, MT940, or a CSV/.xlsx export (layout or mapping)",
)
async def upload_statement(
    school_id: str,
    rt: Runtime,
    p: SchoolStaff,
    file: UploadFile = File(...),
    layout: str | None = Form(None, description="csv/xlsx layout: " + ", ".join(statements.LAYOUTS)),
    mapping: str | None = Form(
        None, description='JSON: {"date","credit","memo","reference","date_format"} column names'
    ),
    preview: bool = Form(False, description="only show what would be recorded (new, duplicates); store nothing"),
) -> StatementUpload:
    f = channels.StatementFile(
        school_id=school_id,
        filename=file.filename or "",
        data=await file.read(),
        layout=layout,
        mapping=mapping,
        uploaded_by=p.subject,
        preview=preview,
    )
    return StatementUpload.model_validate(await channels.upload_statement(rt.db(), rt.outbox, f), from_attributes=True)


class CashIn(BaseModel):
    invoice_id: uuid.UUID
    amount: PositiveAmount
    payer_name: str = Field(default="", max_length=200)
    received_at: datetime | None = None
    # The same key again (a double click, a retry after a lost answer) records the cash once.
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


@router.post(
    "/schools/{school_id}/cash",
    tags=["credits"],
    status_code=201,
    summary="Record cash paid at the school against an invoice (who, when, how much)",
)
async def record_cash(school_id: str, body: CashIn, rt: Runtime, p: SchoolStaff) -> CashRecorded:
    cash = channels.Cash(school_id=school_id, recorded_by=p.subject, **body.model_dump())
    return CashRecorded.model_validate(await channels.record_cash(intake_of(rt), cash), from_attributes=True)
