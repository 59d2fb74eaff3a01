"""A parent's own page (issue 31 §5): signed in with the phone number on the roster and a one-time code sent
to it by the school's channels; then every child at every school of the suite, what is due, the payments'
receipts and the messages sent.

- The phone is never stored or compared in clear: its keyed hash (the family key, HMAC with the deployment's
  pseudonym secret, as the roster computes it) finds the children.
- A code has 6 digits, lives 10 minutes, takes 5 tries; a family gets at most 3 codes in 15 minutes. The
  answer to "send me a code" is the same whether the number is on a roster or not (nobody learns who is).
- A session is a random token in an HttpOnly, SameSite=Strict cookie, kept hashed, for 12 hours.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg

from invoicing.app import messages
from invoicing.domain.invoices import STATUS_VI
from invoicing.domain.roster import normalise_phone
from invoicing.stores import messages_store, parents_store
from invoicing.stores.messages_store import Preference
from invoicing.stores.parents_store import ChildInvoice, ReceiptSeen
from shared.errors import Invalid, TooManyAttempts, Unauthorized
from shared.logging import get_logger

log = get_logger(__name__)

CODE_LIFETIME = timedelta(minutes=10)
CODE_TRIES = 5
CODES_PER_WINDOW, CODE_WINDOW = 3, timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)


def _told(row: Preference | None) -> str:
    """consented | opted_out | not_asked: what the family chose at this school (the latest choice counts)."""
    if row is None:
        return "not_asked"
    if row.opted_out_at is not None and (row.consented_at is None or row.opted_out_at > row.consented_at):
        return "opted_out"
    return "consented" if row.consented_at is not None else "not_asked"


def family_key(secret: bytes, phone: str) -> str:
    """As the roster keys a guardian's phone (domain/roster.py Student.family_key)."""
    return hmac.new(secret, ("family:" + phone).encode(), hashlib.sha256).hexdigest()[:20]


def _hash(secret: bytes, text: str) -> str:
    return hmac.new(secret, ("parent:" + text).encode(), hashlib.sha256).hexdigest()


def _phone(text: str) -> str:
    phone = normalise_phone(text)
    if phone is None:
        raise Invalid("Số điện thoại di động gồm 10 chữ số, ví dụ 0912345678.")
    return phone


async def request_code(pool: asyncpg.Pool, w: messages.Wiring, secret: bytes, phone_text: str) -> None:
    """A code to the phone's family, if the phone is on a roster (the same answer either way)."""
    key = family_key(secret, _phone(phone_text))
    now = datetime.now(UTC)
    if await parents_store.codes_since(pool, key, now - CODE_WINDOW) >= CODES_PER_WINDOW:
        raise TooManyAttempts("Đã gửi nhiều mã: thử lại sau 15 phút.", retry_after_s=int(CODE_WINDOW.total_seconds()))
    kids = await parents_store.children(pool, key)
    if not kids:
        log.info("invoicing.parent.code_unknown_phone")
        return
    code = f"{secrets.randbelow(10**6):06d}"
    async with pool.acquire() as conn, conn.transaction():
        await parents_store.add_code(conn, key, _hash(secret, code), now + CODE_LIFETIME)
        first = kids[0]
        await messages.queue_code(conn, w, student_id=first.student_id, school=first.school_name, code=code)
    log.info("invoicing.parent.code_sent", children=len(kids))


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: datetime


async def sign_in(pool: asyncpg.Pool, secret: bytes, phone_text: str, code: str) -> Session:
    key = family_key(secret, _phone(phone_text))
    wrong = Unauthorized("Mã không đúng hoặc đã hết hạn: yêu cầu mã mới.")
    async with pool.acquire() as conn, conn.transaction():
        row = await parents_store.latest_code_for_update(conn, key)
        now = datetime.now(UTC)
        if row is None or row.used_at is not None or row.expires_at <= now or row.attempts >= CODE_TRIES:
            raise wrong
        ok = hmac.compare_digest(row.code_hash, _hash(secret, code.strip()))
        await parents_store.count_attempt(conn, row.code_id, used=ok)
    if not ok:
        raise wrong
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + SESSION_LIFETIME
    await parents_store.add_session(pool, _hash(secret, token), key, expires)
    return Session(token, expires)


async def family_of(pool: asyncpg.Pool, secret: bytes, token: str | None) -> str:
    key = await parents_store.session_family(pool, _hash(secret, token)) if token else None
    if key is None:
        raise Unauthorized("Chưa đăng nhập, hoặc phiên đã hết hạn.")
    return key


async def sign_out(pool: asyncpg.Pool, secret: bytes, token: str | None) -> None:
    if token:
        await parents_store.end_session(pool, _hash(secret, token))


PAGE_SOURCE = "Trang phụ huynh (số điện thoại xác thực bằng mã)"


async def choose(pool: asyncpg.Pool, secret: bytes, token: str | None, *, consent: bool) -> None:
    """The signed-in parent agrees to be told, or asks for no more messages, at each school of the family."""
    key = await family_of(pool, secret, token)
    for school_id in {k.school_id for k in await parents_store.children(pool, key)}:
        if consent:
            await messages_store.consent(pool, school_id, key, by="phụ huynh", source=PAGE_SOURCE)
        else:
            await messages_store.opt_out(pool, school_id, key, by="phụ huynh", source=PAGE_SOURCE)


@dataclass(frozen=True, kw_only=True)
class InvoiceShown:
    period: str
    round: str
    total: int
    paid: int
    status: str  # in Vietnamese
    due_date: date
    pay_url: str
    receipts: list[ReceiptSeen]


@dataclass(frozen=True, kw_only=True)
class MessageShown:
    at: datetime
    channel: str | None
    text: str


@dataclass(frozen=True, kw_only=True)
class ChildShown:
    name: str
    class_name: str
    school: str
    told: str  # consented | opted_out | not_asked
    owed: int
    invoices: list[InvoiceShown]
    messages: list[MessageShown]


@dataclass(frozen=True)
class FamilyView:
    children: list[ChildShown]


def _shown(i: ChildInvoice, base: str) -> InvoiceShown:
    return InvoiceShown(
        period=i.period,
        round=i.round_code,
        total=i.total,
        paid=i.amount_paid,
        status=STATUS_VI.get(i.status, i.status),
        due_date=i.due_date,
        pay_url=f"{base}/pay/{i.public_token}",
        receipts=i.receipts,
    )


async def overview(pool: asyncpg.Pool, secret: bytes, token: str | None, public_url: str) -> FamilyView:
    """Every child at every school, each with its invoices (what is due, the receipts) and the messages sent."""
    key = await family_of(pool, secret, token)
    kids = await parents_store.children(pool, key)
    ids = [k.student_id for k in kids]
    invoices = await parents_store.invoices_of(pool, ids)
    sent = await parents_store.messages_of(pool, ids)
    chosen = {r.school_id: r for r in await messages_store.preferences(pool, key)}
    base = public_url.rstrip("/")
    out = []
    for k in kids:
        mine = [i for i in invoices if i.student_id == k.student_id]
        out.append(
            ChildShown(
                name=k.full_name,
                class_name=k.class_name,
                school=k.school_name,
                told=_told(chosen.get(k.school_id)),
                owed=sum(max(i.total - i.amount_paid, 0) for i in mine if i.status != "cancelled"),
                invoices=[_shown(i, base) for i in mine],
                messages=[
                    MessageShown(at=m.sent_at or m.created_at, channel=m.channel, text=m.fields.text())
                    for m in sent
                    if m.student_id == k.student_id
                ],
            )
        )
    return FamilyView(out)
