"""HTTP API of the reconciliation service: each route parses, calls one app handler, returns its answer."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from reconciliation.adapters import payos_api, statements
from reconciliation.app import actions, close, credits_in, metrics, queries
from reconciliation.settings import ReconciliationSettings
from shared import exports
from shared.auth import SchoolPrincipal, SchoolReader, SchoolStaff
from shared.errors import DomainError, Invalid
from shared.money import PositiveAmount
from shared.schemas import Out, Row
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


class Credit(Row):
    credit_id: uuid.UUID
    school_id: str
    account_number: str
    amount: int
    booked_at: datetime
    value_date: date
    memo: str
    channel: str
    state: str
    reason_code: str
    allocated: int
    refunded: int
    ignored: int
    unallocated: int
    memo_read: dict[str, Any]
    candidates: list[Any]
    suggestions: list[Any] = Field(
        default=[],
        description="the queue only, for a credit without candidates: open invoices whose pupil the memo names, "
        "or whose reference is one character from one in the memo (why: name | reference_one_off)",
    )


class CreditDetail(Credit):
    allocations: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    identifiers: list[str]
    actions: list[dict[str, Any]]


class ActionResult(Out):
    action_id: uuid.UUID
    state: str
    reason_code: str
    allocated: int
    refunded: int
    ignored: int
    handled: int = Field(description="the money this action moved (matched, refunded, ignored, kept, taken back)")
    replayed: bool = Field(description="true when the same request was answered before: nothing more was done")


class AccountClose(Row):
    account_number: str
    credits: int
    received: int
    matched: int
    refunded: int
    ignored: int
    withdrawn: int = Field(description="cash entries withdrawn as mistakes (counted in ignored)")
    held: int = Field(description="kept as families' credit balances, not yet applied or refunded")
    statement_closing_balance: int | None = Field(
        default=None, description="the bank's closing balance of the day, from an uploaded camt.053 or MT940"
    )
    in_exceptions: int
    exception_credits: int
    open_reversals: int = Field(description="the bank's reversals of the day that no credit answers for yet")
    statement_received: bool = Field(description="a bank statement covers the day: it confirms the webhooks")
    unconfirmed_by_bank: int = Field(
        description="webhook credits the day's statement does not contain (forged, or failed at the bank)"
    )
    unconfirmed_amount: int
    not_announced_by_webhook: int = Field(description="statement credits no aggregator's webhook announced")
    difference: int
    balanced: bool


class CloseApproval(Out):
    approved_at: datetime
    approved_by: str = Field(description="the principal's account")
    note: str
    still_holds: bool = Field(description="the day's figures are still those approved (false: changed since)")


class DailyClose(Out):
    school_id: str
    date: date
    accounts: list[AccountClose]
    open_reversals: int
    balanced: bool
    approval: CloseApproval | None = Field(description="the principal's latest approval of the day, if any")


class ApprovalIn(BaseModel):
    day: date = Field(alias="date", description="the day approved (Vietnam's date)")
    note: str = Field("", max_length=300)


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
    await credits_in.configure_webhook(
        rt.db(),
        settings.sealer(),
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
    return [WebhookConfig.model_validate(c) for c in await credits_in.webhook_configs(rt.db(), school_id)]


@router.post(
    "/webhooks/{provider}/{school_id}",
    tags=["credits"],
    summary="Bank-transaction webhook of SePay, Casso (v2) or payOS; signature checked before anything",
    response_model=WebhookAck,
)
async def webhook(provider: Provider, school_id: str, request: Request, rt: Runtime, settings: Settings) -> Response:
    headers = dict(request.headers.items())  # names lower-cased
    call = credits_in.WebhookCall(provider=provider, school_id=school_id, headers=headers, raw=await request.body())
    try:
        confirmation = credits_in.Confirmation(payos_url=settings.payos_api_url, timeout_s=settings.payos_api_timeout_s)
        ack = WebhookAck(**await credits_in.receive_webhook(rt.db(), rt.outbox, settings.sealer(), call, confirmation))
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
    f = credits_in.StatementFile(
        school_id=school_id,
        filename=file.filename or "",
        data=await file.read(),
        layout=layout,
        mapping=mapping,
        uploaded_by=p.subject,
        preview=preview,
    )
    return StatementUpload(**await credits_in.upload_statement(rt.db(), rt.outbox, f))


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
    cash = credits_in.Cash(school_id=school_id, recorded_by=p.subject, **body.model_dump())
    return CashRecorded(**await credits_in.record_cash(rt.db(), rt.outbox, cash))


@router.get("/schools/{school_id}/credits", tags=["credits"])
async def list_credits(
    school_id: str,
    rt: Runtime,
    _: SchoolStaff,
    state: str | None = None,
    day: date | None = Query(None, alias="date"),
    limit: int = Query(200, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> list[Credit]:
    rows = await queries.list_credits(rt.db(), school_id, state=state, day=day, limit=limit, offset=offset)
    return [Credit(**r) for r in rows]


@router.get("/schools/{school_id}/credits/{credit_id}", tags=["credits"])
async def credit_detail(school_id: str, credit_id: uuid.UUID, rt: Runtime, _: SchoolStaff) -> CreditDetail:
    return CreditDetail(**await queries.credit_detail(rt.db(), school_id, credit_id))


@router.get(
    "/schools/{school_id}/exceptions",
    tags=["exceptions"],
    summary="Credits the machine could not place, with what it read and the candidate invoices, oldest first, a "
    "page at a time (X-Next-Cursor names the next page's `after`)",
)
async def exceptions(
    school_id: str,
    rt: Runtime,
    _: SchoolStaff,
    response: Response,
    limit: int = Query(queries.PAGE, ge=1, le=queries.MAX_PAGE),
    after: str | None = Query(None, max_length=100, description="the previous page's X-Next-Cursor"),
) -> list[Credit]:
    items = await queries.exceptions_queue(rt.db(), school_id, limit=limit, after=after)
    cursor = queries.next_cursor(items, limit)
    if cursor:
        response.headers["X-Next-Cursor"] = cursor
    return [Credit(**r) for r in items]


class QueueCount(Out):
    open: int = Field(description="credits waiting for the accountant")


@router.get("/schools/{school_id}/exceptions/count", tags=["exceptions"], summary="How many credits are waiting")
async def exceptions_count(school_id: str, rt: Runtime, _: SchoolStaff) -> QueueCount:
    return QueueCount(open=await queries.exceptions_count(rt.db(), school_id))


class AllocationIn(BaseModel):
    invoice_id: uuid.UUID
    amount: PositiveAmount | None = None


class ActionIn(BaseModel):
    kind: Literal["match", "split", "refund", "ignore", "keep", "unmatch", "withdraw"] = Field(
        description="keep: what is left becomes the family's credit balance, applied to its next invoice (the "
        "family of the credit's invoice, or of `allocations[0]`); unmatch: reverse every payment of the credit (a "
        "wrong match); withdraw: a cash entry made by mistake, or a webhook credit the bank's statement never "
        "confirmed. unmatch and withdraw need a reason; all can be undone."
    )
    allocations: list[AllocationIn] = []
    amount: PositiveAmount | None = None
    bank_reference: str = ""
    reason: str = ""
    idempotency_key: str | None = Field(
        default=None,
        max_length=100,
        description="one per intended action: the same key again gets the first answer and does nothing more. "
        "Without one, the same request by the same person within 30 s is taken as the same.",
    )


@router.post(
    "/schools/{school_id}/credits/{credit_id}/actions",
    tags=["exceptions"],
    summary="Resolve a credit: match, split across a family, refund, ignore; reverse a match; withdraw cash",
)
async def act(school_id: str, credit_id: uuid.UUID, body: ActionIn, rt: Runtime, p: SchoolStaff) -> ActionResult:
    action = actions.Action(
        kind=body.kind,
        allocations=tuple((a.invoice_id, a.amount) for a in body.allocations),
        amount=body.amount,
        bank_reference=body.bank_reference,
        reason=body.reason,
        idempotency_key=body.idempotency_key,
    )
    result = await actions.act(
        rt.db(), rt.outbox, school_id=school_id, credit_id=credit_id, action=action, actor=p.subject
    )
    return ActionResult(**result)


@router.post("/schools/{school_id}/actions/{action_id}/undo", tags=["exceptions"])
async def undo(school_id: str, action_id: uuid.UUID, rt: Runtime, p: SchoolStaff) -> ActionResult:
    return ActionResult(
        **await actions.undo(rt.db(), rt.outbox, school_id=school_id, action_id=action_id, actor=p.subject)
    )


@router.get(
    "/schools/{school_id}/exports/credits.{fmt}",
    tags=["close"],
    summary="Credits of a date range as CSV or formatted Excel: all, or those that needed the accountant",
    response_class=Response,
    responses=exports.TABLE_FILES,
)
async def credits_export(
    school_id: str,
    fmt: exports.TableFormat,
    days: exports.DateRange,
    rt: Runtime,
    _: SchoolStaff,
    kind: Literal["all", "exceptions"] = Query("all", description="exceptions: refunds, ignored, corrected, open"),
) -> Response:
    first, last = days
    rows = await queries.credits_export(rt.db(), school_id, first, last, needed_a_person=kind == "exceptions")
    name = f"{'ngoai-le' if kind == 'exceptions' else 'tien-ve'}-{school_id}-{first}-{last}"
    return await exports.table_download(
        queries.CREDITS_HEADER, rows, filename=name, fmt=fmt, title="Tien ve", money=queries.CREDITS_MONEY
    )


@router.get(
    "/schools/{school_id}/close",
    tags=["close"],
    summary="Daily close per account: received = matched + in exceptions + refunded + ignored + held",
)
async def daily_close(school_id: str, rt: Runtime, _: SchoolReader, day: date = Query(alias="date")) -> DailyClose:
    return DailyClose(**await close.daily_close(rt.db(), school_id, day))


@router.post(
    "/schools/{school_id}/close/approval",
    tags=["close"],
    summary="The principal approves a balanced day's close (refused while it does not balance)",
)
async def approve_close(school_id: str, body: ApprovalIn, rt: Runtime, p: SchoolPrincipal) -> DailyClose:
    return DailyClose(**await close.approve(rt.db(), school_id, body.day, by=p.subject, note=body.note.strip()))
