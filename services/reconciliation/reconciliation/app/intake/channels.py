"""The channels credits come in by: an aggregator's webhook, an uploaded statement, cash at the school's desk.

Each checks what its channel must prove (a signature, the school's own account, an invoice of the school)
before anything is stored, then takes the credits in (`take_in`): a statement in its own transaction, with
the file recorded; a webhook and cash through the process's queue (`queue.GroupCommit`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from reconciliation.adapters import payos_api, statements, webhooks
from reconciliation.app.intake.queue import GroupCommit
from reconciliation.app.intake.take_in import Outcome, take_in
from reconciliation.app.intake.webhook_secrets import WebhookSecrets
from reconciliation.app.reversals import ReversalsTaken, take_reversals
from reconciliation.domain.credits import BankCredit, CreditFormatError
from reconciliation.stores import invoices_store, schools_store, statements_store, webhooks_store
from shared.batching import BatchWindow
from shared.db import Executor
from shared.errors import Conflict, Invalid, Malformed, NotFound, Unauthorized, Unavailable
from shared.events.outbox import Outbox
from shared.logging import get_logger
from shared.sealed import Sealer

log = get_logger(__name__)

# A school without a webhook configuration is checked against a random secret: refused like a wrong signature.
_UNKNOWN_SECRET = secrets.token_hex(32)


async def school_account(db: Executor, school_id: str) -> str:
    return _known(school_id, await schools_store.account_of(db, school_id))


def _known(school_id: str, account: str | None) -> str:
    """The school's account; a school whose registration has not arrived yet is a conflict to retry."""
    if account is None:
        raise Conflict(f"Trường {school_id} chưa có trong sổ đối soát (thử lại sau ít phút).")
    return account


@dataclass
class Intake:
    """The pipeline's one entry point, one per service runtime: it owns the process's queue and the webhook
    secrets it keeps."""

    pool: asyncpg.Pool
    outbox: Outbox
    sealer: Sealer
    window_s: float = 0.0  # the group commit's window (the service's batch window)
    queue: GroupCommit = field(init=False)
    secrets: WebhookSecrets = field(default_factory=WebhookSecrets)

    def __post_init__(self) -> None:
        self.queue = GroupCommit(self.pool, self.outbox, BatchWindow(self.window_s))


async def configure_webhook(
    intake: Intake,
    *,
    school_id: str,
    provider: str,
    scheme: str,
    secret: str,
    api: payos_api.Credentials | None = None,
) -> None:
    if api is not None and provider != "payos":
        raise Invalid("Chỉ payOS có API xác nhận giao dịch: chỉ nhập khóa API cho payOS.")
    sealer = intake.sealer
    sealed_api = (api.client_id, sealer.seal(api.api_key)) if api else None
    await webhooks_store.put_config(intake.pool, school_id, provider, scheme, sealer.seal(secret), sealed_api)
    intake.secrets.forget()  # committed: this process stops accepting the old secret now


@dataclass(frozen=True)
class WebhookConfig:
    """A configured aggregator and the path it must call (the secret is never shown again)."""

    provider: str
    scheme: str
    path: str


async def webhook_configs(db: Executor, school_id: str) -> list[WebhookConfig]:
    """The school's configured aggregators with the path each must call; secrets are never shown again."""
    return [
        WebhookConfig(r.provider, r.scheme, f"/webhooks/{r.provider}/{school_id}")
        for r in await webhooks_store.configured(db, school_id)
    ]


@dataclass(frozen=True, kw_only=True)
class WebhookCall:
    provider: str
    school_id: str
    headers: dict[str, str]  # names lower-cased
    raw: bytes


@dataclass(frozen=True, kw_only=True)
class Confirmation:
    """Where the aggregators' APIs are, for the credits a school asks to be confirmed before booking."""

    payos_url: str
    timeout_s: float


@dataclass(frozen=True)
class WebhookReceived:
    """A webhook's answer: the credit's outcome, or why nothing was recorded (a debit, say)."""

    outcome: Outcome | None
    ignored: str | None = None
    success: bool = True

    @property
    def credit_id(self) -> uuid.UUID | None:
        return self.outcome.credit_id if self.outcome else None

    @property
    def new(self) -> bool | None:
        return self.outcome.new if self.outcome else None

    @property
    def state(self) -> str | None:
        return self.outcome.state if self.outcome else None

    @property
    def reason_code(self) -> str | None:
        return self.outcome.reason_code if self.outcome else None


async def _confirmed(
    call: WebhookCall, api: payos_api.Credentials, body: Mapping[str, object], where: Confirmation
) -> None:
    """Outside any transaction: payOS lists the payment, or nothing is booked (422); payOS silent, retry (503)."""
    try:
        await payos_api.confirm(where.payos_url, api, body["data"], timeout_s=where.timeout_s)
    except payos_api.NotConfirmed as exc:
        log.warning("reconciliation.webhook.not_confirmed", provider=call.provider, school_id=call.school_id)
        raise Invalid(f"payos webhook: payOS does not confirm this payment ({exc})") from exc
    except payos_api.Unreachable as exc:
        log.warning("reconciliation.webhook.confirmation_unavailable", school_id=call.school_id, reason=str(exc))
        raise Unavailable("payOS could not confirm the payment now: send the webhook again later") from exc


async def receive_webhook(intake: Intake, call: WebhookCall, confirmation: Confirmation) -> WebhookReceived:
    """Verify the aggregator's signature before anything, then ingest the credit it reports."""
    try:
        body = webhooks.parse_body(call.raw)
    except webhooks.MalformedBody as exc:
        log.warning("reconciliation.webhook.malformed", provider=call.provider, school_id=call.school_id)
        raise Malformed(f"{call.provider} webhook: {exc}") from exc
    provider = webhooks.PROVIDERS[call.provider]
    target = await intake.secrets.of(intake.pool, intake.sealer, call.school_id, call.provider)
    scheme, secret = (
        (target.scheme, target.secret or "")
        if target.scheme
        else (provider.scheme_for_unknown(call.headers), _UNKNOWN_SECRET)
    )
    try:
        provider.verify(call.headers, call.raw, body, scheme, secret)
        credit = provider.parse(body)
    except webhooks.WebhookRejected as exc:
        log.warning(
            "reconciliation.webhook.refused", provider=call.provider, school_id=call.school_id, reason=exc.reason
        )
        raise Unauthorized(f"webhook refused: {exc}") from exc
    except CreditFormatError as exc:
        raise Invalid(f"{call.provider} webhook: {exc}") from exc
    if credit is None:
        return WebhookReceived(None, ignored="not a credit")
    if credit.account_number != _known(call.school_id, target.account_number):
        raise Invalid(f"webhook credit to account {credit.account_number}, not school {call.school_id}'s account")
    if target.api is not None:
        await _confirmed(call, target.api, body, confirmation)
    return WebhookReceived(await intake.queue.submit(call.school_id, credit))


@dataclass(frozen=True, kw_only=True)
class StatementFile:
    school_id: str
    filename: str
    data: bytes
    layout: str | None
    mapping: str | None
    uploaded_by: str
    preview: bool = False  # what the upload would record, line by line; nothing is stored


@dataclass(frozen=True, kw_only=True)
class StatementLine:
    """A credit line of the file, and what became of it."""

    booked_at: datetime
    amount: int
    memo: str
    new: bool
    state: str
    reason_code: str


@dataclass(frozen=True, kw_only=True)
class StatementRecorded:
    """What an upload recorded (or, previewed, would record); a file already uploaded records nothing."""

    statement_id: uuid.UUID
    already_uploaded: bool
    credits: int
    new_credits: int
    outcomes: list[Outcome]
    preview: bool = False
    format: str | None = None
    lines: list[StatementLine] = field(default_factory=list)
    reversals: ReversalsTaken | None = None
    notes: list[str] = field(default_factory=list)


async def upload_statement(pool: asyncpg.Pool, outbox: Outbox, f: StatementFile) -> StatementRecorded:
    """Parse a statement and take its credits in; the file is recorded in the same transaction (once by
    content)."""
    digest = hashlib.sha256(f.data).hexdigest()
    previous = await statements_store.by_digest(pool, f.school_id, digest)
    if previous is not None:
        return _already_uploaded(previous)
    account = await school_account(pool, f.school_id)
    try:
        # Parsing a file is CPU work, bounded by the upload size and the parsers' row limits: off the loop.
        parsed = await asyncio.to_thread(
            statements.parse_statement, f.filename, f.data, account=account, layout=f.layout, mapping=f.mapping
        )
    except CreditFormatError as exc:
        raise Invalid(f"{f.filename}: {exc}") from exc
    if parsed.account_number and parsed.account_number != account:
        raise Invalid(
            f"{f.filename} là sao kê của tài khoản {parsed.account_number}, không phải tài khoản thu của "
            f"trường {f.school_id}."
        )
    statement_id = uuid.uuid4()
    async with pool.acquire() as conn:
        # A preview runs the very upload (dedup, matching, reversals) and rolls it back: what it shows is what
        # the upload will record, line by line, and nothing of it stays.
        tx = conn.transaction()
        await tx.start()
        try:
            answer = await _record_statement(conn, outbox, f, parsed, account, digest, statement_id)
        except BaseException:
            await tx.rollback()
            raise
        if f.preview:
            await tx.rollback()
        else:
            await tx.commit()
    return answer


async def _record_statement(
    conn: asyncpg.Connection,
    outbox: Outbox,
    f: StatementFile,
    parsed: statements.Statement,
    account: str,
    digest: str,
    statement_id: uuid.UUID,
) -> StatementRecorded:
    # The same file uploaded twice at once: the second waits for the school's lock, then finds the first.
    await schools_store.lock(conn, f.school_id)
    previous = await statements_store.by_digest(conn, f.school_id, digest)
    if previous is not None:
        return _already_uploaded(previous)
    credits = [dataclasses.replace(c, recorded_by=f.uploaded_by) for c in parsed.credits]
    result = (await take_in(conn, outbox, {f.school_id: credits}, whole_books=True))[f.school_id]
    reversals = await take_reversals(
        conn,
        outbox,
        school_id=f.school_id,
        statement_id=statement_id,
        reversals=parsed.reversals,
        actor=f"bank statement {f.filename} (uploaded by {f.uploaded_by})",
    )
    new = sum(o.new for o in result)
    await statements_store.record(
        conn,
        statement_id=statement_id,
        school_id=f.school_id,
        format=parsed.format,
        digest=digest,
        filename=f.filename,
        credits=len(result),
        new_credits=new,
        uploaded_by=f.uploaded_by,
        account_number=account,
        closing=(parsed.closing.day, parsed.closing.balance) if parsed.closing else None,
    )
    lines = [
        StatementLine(
            booked_at=c.booked_at, amount=c.amount, memo=c.memo, new=o.new, state=o.state, reason_code=o.reason_code
        )
        for c, o in zip(credits, result, strict=True)
    ]
    return StatementRecorded(
        statement_id=statement_id,
        already_uploaded=False,
        preview=f.preview,
        format=parsed.format,
        credits=len(result),
        new_credits=new,
        outcomes=result,
        lines=lines,
        reversals=reversals,
        notes=parsed.notes,
    )


def _already_uploaded(previous: statements_store.Uploaded) -> StatementRecorded:
    return StatementRecorded(
        statement_id=previous.statement_id,
        already_uploaded=True,
        credits=previous.credits,
        new_credits=0,
        outcomes=[],
    )


@dataclass(frozen=True, kw_only=True)
class Cash:
    school_id: str
    invoice_id: uuid.UUID
    amount: int
    payer_name: str
    received_at: datetime | None
    idempotency_key: str | None  # the same key again (a double click, a retry) records the cash once
    recorded_by: str


# Cash recorded without the client's key is known by what was asked for this long (a double click, a retry):
# the same entry again within it is the same cash; after it, a new entry.
SAME_CASH_S = 30


def _cash_identifiers(cash: Cash) -> tuple[str, ...]:
    """The client's key; else what was asked, in this window of SAME_CASH_S seconds and the one before (two
    entries share one when they come less than a window apart)."""
    if cash.idempotency_key:
        return (f"cash:{cash.idempotency_key}",)
    asked = [cash.school_id, str(cash.invoice_id), cash.amount, cash.payer_name, cash.recorded_by]
    asked.append(cash.received_at.isoformat() if cash.received_at else "")
    digest = hashlib.sha256(repr(asked).encode()).hexdigest()[:32]
    window = int(time.time()) // SAME_CASH_S
    return (f"cash:asked:{digest}:{window}", f"cash:asked:{digest}:{window - 1}")


@dataclass(frozen=True, kw_only=True)
class CashRecorded(Outcome):
    recorded_by: str


async def record_cash(intake: Intake, cash: Cash) -> CashRecorded:
    """Cash at the school's desk, for one of its invoices: taken in with the webhooks' credits (the queue)."""
    ref = await invoices_store.payment_reference(intake.pool, cash.school_id, cash.invoice_id)
    if ref is None:
        raise NotFound(f"Không có hóa đơn {cash.invoice_id} ở trường {cash.school_id}.")
    when = cash.received_at or datetime.now(UTC)
    if when.tzinfo is None:
        raise Invalid("«received_at» cần có múi giờ.")
    credit = BankCredit(
        account_number=f"CASH:{cash.school_id}",
        amount=cash.amount,
        booked_at=when,
        memo=f"{ref} TIEN MAT",
        source_kind="cash",
        identifiers=_cash_identifiers(cash),
        payer_name=cash.payer_name,  # none written down: the receipt names the guardian
        recorded_by=cash.recorded_by,
    )
    outcome = await intake.queue.submit(cash.school_id, credit)
    log.info("reconciliation.cash.recorded", school_id=cash.school_id, recorded_by=cash.recorded_by)
    return CashRecorded(**vars(outcome), recorded_by=cash.recorded_by)
