"""HTTP API of the reconciliation service."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from pydantic import BaseModel, Field

from reconciliation.adapters import statements, webhooks
from reconciliation.app import actions, close, ingest, queries
from reconciliation.domain.credits import BankCredit, CreditFormatError
from reconciliation.settings import ReconciliationSettings
from shared.auth import Principal, Role, require_school
from shared.logging import get_logger
from shared.money import PositiveAmount
from shared.service import Runtime, ServiceRuntime

log = get_logger(__name__)
router = APIRouter()
STAFF = (Role.ACCOUNTANT, Role.SERVICE)
READERS = (Role.ACCOUNTANT, Role.DISTRICT, Role.SERVICE)


async def _school_account(rt: ServiceRuntime, school_id: str) -> str:
    account = await rt.db().fetchval("SELECT account_number FROM schools WHERE school_id = $1", school_id)
    if account is None:
        raise HTTPException(409, detail=f"school {school_id} is not known to reconciliation yet (retry shortly)")
    return str(account)


def _outcomes(result: list[ingest.Outcome]) -> list[dict[str, Any]]:
    return [
        {"credit_id": str(o.credit_id), "new": o.new, "state": o.state, "reason_code": o.reason_code} for o in result
    ]


_UNKNOWN_SECRET = secrets.token_hex(32)


def _settings(rt: ServiceRuntime) -> ReconciliationSettings:
    assert isinstance(rt.settings, ReconciliationSettings)
    return rt.settings


class WebhookConfigIn(BaseModel):
    scheme: Literal["apikey", "hmac", "checksum"]
    secret: str = Field(min_length=8)


@router.put(
    "/schools/{school_id}/webhooks/{provider}",
    tags=["credits"],
    status_code=204,
    summary="How this school's aggregator signs its webhooks (the secret is never shown again)",
)
async def put_webhook_config(
    school_id: str,
    provider: Literal["sepay", "casso", "payos"],
    body: WebhookConfigIn,
    rt: Runtime,
    _: Principal = Depends(require_school(*STAFF)),
) -> None:
    await rt.db().execute(
        "INSERT INTO webhook_configs VALUES ($1, $2, $3, $4) ON CONFLICT (school_id, provider) "
        "DO UPDATE SET scheme = $3, secret = $4",
        school_id,
        provider,
        body.scheme,
        _settings(rt).sealer().seal(body.secret),
    )


@router.post(
    "/webhooks/{provider}/{school_id}",
    tags=["credits"],
    summary="Bank-transaction webhook of SePay, Casso (v2) or payOS; signature checked before anything",
)
async def webhook(
    provider: Literal["sepay", "casso", "payos"], school_id: str, request: Request, rt: Runtime
) -> dict[str, Any]:
    config = await rt.db().fetchrow(
        "SELECT scheme, secret FROM webhook_configs WHERE school_id = $1 AND provider = $2", school_id, provider
    )
    raw = await request.body()
    try:
        body = webhooks.parse_body(raw)
    except webhooks.MalformedBody as exc:
        log.warning("reconciliation.webhook.malformed", provider=provider, school_id=school_id)
        raise HTTPException(400, detail=f"{provider} webhook: {exc}") from exc
    headers = {k.lower(): v for k, v in request.headers.items()}
    handler = webhooks.PROVIDERS[provider]
    # A school without a configuration is checked against a random secret: refused like a wrong signature.
    scheme, secret = (
        (config["scheme"], _settings(rt).sealer().open(config["secret"]))
        if config
        else (handler.scheme_for_unknown(headers), _UNKNOWN_SECRET)
    )
    try:
        handler.verify(headers, raw, body, scheme, secret)
        credit = handler.parse(body)
    except webhooks.WebhookRejected as exc:
        log.warning("reconciliation.webhook.refused", provider=provider, school_id=school_id, reason=str(exc))
        raise HTTPException(401, detail=f"webhook refused: {exc}") from exc
    except CreditFormatError as exc:
        raise HTTPException(422, detail=f"{provider} webhook: {exc}") from exc
    if credit is None:
        return {"success": True, "ignored": "not a credit"}
    account = await _school_account(rt, school_id)
    if credit.account_number != account:
        raise HTTPException(422, detail=f"credit to account {credit.account_number}, not school {school_id}'s account")
    result = await ingest.ingest(rt.db(), rt.outbox, school_id, [credit])
    return {"success": True, **_outcomes(result)[0]}


@router.post(
    "/schools/{school_id}/statements",
    tags=["credits"],
    summary="Upload a statement: camt.053, camt.054, MT940, or a CSV/.xlsx export (layout or mapping)",
)
async def upload_statement(
    school_id: str,
    rt: Runtime,
    file: UploadFile = File(...),
    layout: str | None = Form(None, description="csv/xlsx layout: " + ", ".join(statements.LAYOUTS)),
    mapping: str | None = Form(
        None, description='JSON: {"date","credit","memo","reference","date_format"} column names'
    ),
    p: Principal = Depends(require_school(*STAFF)),
) -> dict[str, Any]:
    data = await file.read()
    digest = hashlib.sha256(data).hexdigest()
    previous = await rt.db().fetchrow(
        "SELECT * FROM statements WHERE school_id = $1 AND sha256 = $2", school_id, digest
    )
    if previous is not None:
        return {
            "statement_id": str(previous["statement_id"]),
            "already_uploaded": True,
            "credits": previous["credits"],
            "new_credits": 0,
            "outcomes": [],
        }
    account = await _school_account(rt, school_id)
    try:
        # Parsing a file is CPU work, bounded by the upload size and the parsers' row limits: off the loop.
        parsed = await asyncio.to_thread(
            statements.parse_statement, file.filename or "", data, account=account, layout=layout, mapping=mapping
        )
    except CreditFormatError as exc:
        raise HTTPException(422, detail=f"{file.filename}: {exc}") from exc
    if parsed.account_number and parsed.account_number != account:
        raise HTTPException(
            422,
            detail=f"{file.filename} is a statement of account {parsed.account_number}, "
            f"not of school {school_id}'s account",
        )
    result = await ingest.ingest(rt.db(), rt.outbox, school_id, parsed.credits, bulk=True)
    new = sum(o.new for o in result)
    statement_id = uuid.uuid4()
    await rt.db().execute(
        "INSERT INTO statements VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        statement_id,
        school_id,
        parsed.format,
        digest,
        file.filename or "",
        len(result),
        new,
        p.subject,
    )
    return {
        "statement_id": str(statement_id),
        "already_uploaded": False,
        "format": parsed.format,
        "credits": len(result),
        "new_credits": new,
        "outcomes": _outcomes(result),
    }


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
async def record_cash(
    school_id: str, body: CashIn, rt: Runtime, p: Principal = Depends(require_school(*STAFF))
) -> dict[str, Any]:
    ref = await rt.db().fetchval(
        "SELECT payment_reference FROM invoices WHERE invoice_id = $1 AND school_id = $2", body.invoice_id, school_id
    )
    if ref is None:
        raise HTTPException(404, detail=f"no invoice {body.invoice_id} at school {school_id}")
    when = body.received_at or datetime.now(UTC)
    if when.tzinfo is None:
        raise HTTPException(422, detail="received_at needs a time zone")
    credit = BankCredit(
        f"CASH:{school_id}",
        body.amount,
        when,
        f"{ref} TIEN MAT",
        "cash",
        (f"cash:{body.idempotency_key or uuid.uuid4()}",),
        body.payer_name or p.subject,
        "",
        "",
    )
    result = await ingest.ingest(rt.db(), rt.outbox, school_id, [credit])
    log.info("reconciliation.cash.recorded", school_id=school_id, recorded_by=p.subject)
    return _outcomes(result)[0] | {"recorded_by": p.subject}


@router.get("/schools/{school_id}/credits", tags=["credits"])
async def list_credits(
    school_id: str,
    rt: Runtime,
    state: str | None = None,
    day: date | None = Query(None, alias="date"),
    limit: int = Query(200, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=10_000_000),
    _: Principal = Depends(require_school(*STAFF)),
) -> list[dict[str, Any]]:
    return await queries.list_credits(rt.db(), school_id, state=state, day=day, limit=limit, offset=offset)


@router.get("/schools/{school_id}/credits/{credit_id}", tags=["credits"])
async def credit_detail(
    school_id: str, credit_id: uuid.UUID, rt: Runtime, _: Principal = Depends(require_school(*STAFF))
) -> dict[str, Any]:
    detail = await queries.credit_detail(rt.db(), school_id, credit_id)
    if detail is None:
        raise HTTPException(404, detail=f"no credit {credit_id}")
    return detail


@router.get(
    "/schools/{school_id}/exceptions",
    tags=["exceptions"],
    summary="Credits the machine could not place, with what it read and the candidate invoices",
)
async def exceptions(
    school_id: str, rt: Runtime, _: Principal = Depends(require_school(*STAFF))
) -> list[dict[str, Any]]:
    return await queries.exceptions_queue(rt.db(), school_id)


class AllocationIn(BaseModel):
    invoice_id: uuid.UUID
    amount: PositiveAmount | None = None


class ActionIn(BaseModel):
    kind: Literal["match", "split", "refund", "ignore"]
    allocations: list[AllocationIn] = []
    amount: PositiveAmount | None = None
    bank_reference: str = ""
    reason: str = ""


@router.post(
    "/schools/{school_id}/credits/{credit_id}/actions",
    tags=["exceptions"],
    summary="Resolve a credit: match, split across a family, refund, or ignore with a reason",
)
async def act(
    school_id: str, credit_id: uuid.UUID, body: ActionIn, rt: Runtime, p: Principal = Depends(require_school(*STAFF))
) -> dict[str, Any]:
    action = actions.Action(
        body.kind,
        tuple((a.invoice_id, a.amount) for a in body.allocations),
        body.amount,
        body.bank_reference,
        body.reason,
    )
    try:
        return await actions.act(
            rt.db(), rt.outbox, school_id=school_id, credit_id=credit_id, action=action, actor=p.subject
        )
    except actions.ActionError as exc:
        raise HTTPException(exc.status, detail=str(exc)) from exc


@router.post("/schools/{school_id}/actions/{action_id}/undo", tags=["exceptions"])
async def undo(
    school_id: str, action_id: uuid.UUID, rt: Runtime, p: Principal = Depends(require_school(*STAFF))
) -> dict[str, Any]:
    try:
        return await actions.undo(rt.db(), rt.outbox, school_id=school_id, action_id=action_id, actor=p.subject)
    except actions.ActionError as exc:
        raise HTTPException(exc.status, detail=str(exc)) from exc


@router.get(
    "/schools/{school_id}/close",
    tags=["close"],
    summary="Daily close per account: received = matched + in exceptions + refunded + ignored",
)
async def daily_close(
    school_id: str, rt: Runtime, day: date = Query(alias="date"), _: Principal = Depends(require_school(*READERS))
) -> dict[str, Any]:
    return await close.daily_close(rt.db(), school_id, day)
