"""Parents are told (issue 31): an invoice issued, a payment receipted, a reminder before and after the due
date, by the school's channels in its order (Zalo ZNS, SMS, email).

- **Exactly one message per event and guardian**: the message is recorded with the event's id as its key
  (`messages.dedup_key`) in the consumer's transaction, beside the inbox; a replayed event finds it there.
  Sending then takes each due message once at a time (claimed, then its outcome recorded); the provider
  receives the message's id as its idempotency key (ZNS `tracking_id`, the SMS gateway's `RequestId`, the
  email's `Message-ID`), so that a send cut short and tried again is not a second message.
- **Retries and fallback**: a temporary error is tried again later (30 s, 1, 2, 4 … minutes); an address the
  channel cannot reach, or a channel that cannot take messages now, goes to the next channel; when none is
  left the message is failed, and the workspace shows it.
- **Quiet hours, cost**: nothing is sent between 21:00 and 07:00 (it waits for the morning); a paid channel is
  passed over once the school's monthly cap would be exceeded.
- **Personal data**: the phone and the email are opened from the roster only to send; the log keeps them
  masked; a guardian who opted out is not written to; no personal ID is in any message.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

import asyncpg

from invoicing.adapters import channels as ch
from invoicing.domain.messages import (
    MAX_TRIES_PER_CHANNEL,
    PRICE,
    QUIET_FROM,
    QUIET_UNTIL,
    STALE_SENDING,
    VN,
    ChannelName,
    Fields,
    Kind,
    after_quiet_hours,
    backoff,
    mask_email,
    mask_phone,
    reminder_due,
)
from invoicing.stores import messages_store
from invoicing.stores.messages_store import (
    ChannelMonth,
    Claimed,
    InvoiceToTell,
    LogFilter,
    Logged,
    MessageSettings,
    NewMessage,
    Outcome,
    Recipient,
    Try,
)
from shared.errors import NotFound
from shared.logging import get_logger
from shared.sealed import Sealer
from tuition.invoicing.v1.events_pb2 import InvoiceIssued
from tuition.receipts.v1.events_pb2 import ReceiptIssued

log = get_logger(__name__)

DEFAULT_CHANNELS = [ChannelName.ZALO, ChannelName.SMS, ChannelName.EMAIL]
DEFAULT_SETTINGS = MessageSettings(
    channels=[str(c) for c in DEFAULT_CHANNELS],
    remind_days_before=3,
    remind_every_days=7,
    max_reminders=3,
    monthly_cap=2_000_000,
    stopped_classes=[],
)
BATCH = 50  # messages taken at once by a sender
BATCHES_PER_RUN = 20  # a month's start: a thousand notices a second at most, then the next run
CONCURRENCY = 16  # messages in flight at once
REMINDER_RUN = 5_000  # invoices looked at per reminder run


@dataclass(frozen=True)
class Wiring:
    """What sending needs: the channels this deployment has (by name), the seal, the payment pages' base."""

    channels: dict[str, ch.Sender]
    sealer: Sealer
    public_url: str
    zalo: ch.ZaloZns | None = None
    zalo_refresh_token: str = ""
    quiet: tuple[time, time] | None = (QUIET_FROM, QUIET_UNTIL)


def _period(text: str) -> str:
    return f"{text[5:7]}/{text[:4]}" if len(text) >= 7 else text


# --- Recording: one message per event and guardian ----------------------------------------------------


async def _reachable(conn: asyncpg.Connection, w: Wiring, who: Recipient) -> tuple[str, str, list[str]]:
    """The guardian's phone and email (opened from the roster) and the school's channels, in its order, that
    this deployment has and that can reach them."""
    return _reachable_with(w, who, await messages_store.settings_of(conn, who.school_id))


def _reachable_with(w: Wiring, who: Recipient, settings: MessageSettings | None) -> tuple[str, str, list[str]]:
    order = list((settings or DEFAULT_SETTINGS).channels)
    phone = _address(w, who, ChannelName.SMS)
    email = _address(w, who, ChannelName.EMAIL)
    return phone, email, [c for c in order if c in w.channels and (email if c == ChannelName.EMAIL else phone)]


OPTED_OUT = "Phụ huynh đã từ chối nhận tin nhắn."
NO_CHANNEL = "Không có kênh nào gửi được: thiếu số điện thoại/email, hoặc kênh chưa được cấu hình."


@dataclass(frozen=True)
class _Tell:
    """One message to write: of which event or run, what kind, about which invoice, for how much."""

    dedup_key: str
    kind: Kind
    invoice: InvoiceToTell
    amount: int
    link: str
    overdue: bool = False


async def _message(
    conn: asyncpg.Connection,
    w: Wiring,
    *,
    dedup_key: str,
    kind: Kind,
    invoice: InvoiceToTell,
    amount: int,
    link: str,
    now: datetime,
    overdue: bool = False,
) -> NewMessage | None:
    [msg] = await _messages(conn, w, [_Tell(dedup_key, kind, invoice, amount, link, overdue)], now)
    return msg


async def _messages(conn: asyncpg.Connection, w: Wiring, tells: list[_Tell], now: datetime) -> list[NewMessage | None]:
    """The messages of many events at once: their guardians and their schools' settings read with one
    statement each; None for a pupil who is gone or erased."""
    guardians = await messages_store.recipients(conn, list({t.invoice.student_id for t in tells}))
    settings = await messages_store.settings_of_many(conn, list({g.school_id for g in guardians.values()}))
    out: list[NewMessage | None] = []
    for t in tells:
        who = guardians.get(t.invoice.student_id)
        if who is None or who.erased_at is not None:
            out.append(None)
            continue
        phone, email, usable = _reachable_with(w, who, settings.get(who.school_id))
        fields = Fields(
            kind=t.kind,
            school=t.invoice.school_name,
            pupil=who.full_name,
            class_name=who.class_name,
            period=_period(t.invoice.period),
            amount=t.amount,
            due=t.invoice.due_date,
            link=t.link,
            reference=t.invoice.payment_reference,
            overdue=t.overdue,
        )
        status, why = "queued", None
        if who.opted_out:
            status, why = "skipped", OPTED_OUT
        elif not usable:
            status, why = "skipped", NO_CHANNEL
        out.append(
            NewMessage(
                message_id=uuid.uuid4(),
                school_id=t.invoice.school_id,
                dedup_key=t.dedup_key,
                kind=str(t.kind),
                student_id=t.invoice.student_id,
                invoice_id=t.invoice.invoice_id,
                channels=usable,
                status=status,
                next_attempt_at=after_quiet_hours(now, w.quiet),
                recipient=" / ".join(
                    x for x in (mask_phone(phone) if phone else "", mask_email(email) if email else "") if x
                ),
                fields=fields,
                last_error=why,
            )
        )
    return out


async def on_invoices_issued(conn: asyncpg.Connection, w: Wiring, items: list[tuple[InvoiceIssued, str]]) -> None:
    """Each guardian is told what the invoice asks, by when, and where to pay (the page with the QR); a batch
    of events (with their ids) read and written with a few statements whatever its size."""
    invoices = await messages_store.invoices_for_messages(conn, list({uuid.UUID(m.invoice_id) for m, _ in items}))
    base = w.public_url.rstrip("/")
    tells = [
        _Tell(f"event:{event_id}", Kind.INVOICE, inv, inv.total, f"{base}/pay/{inv.public_token}")
        for m, event_id in items
        if (inv := invoices.get(uuid.UUID(m.invoice_id))) is not None and inv.total != 0  # nothing to pay: no word
    ]
    await _queue(conn, w, tells)


async def on_receipts_issued(conn: asyncpg.Connection, w: Wiring, items: list[tuple[ReceiptIssued, str]]) -> None:
    """Each guardian is told the payment arrived, what it paid, and where the receipt is (a batch of events,
    with their ids, in a few statements)."""
    invoices = await messages_store.invoices_for_messages(conn, list({uuid.UUID(m.invoice_id) for m, _ in items}))
    tells = [
        _Tell(f"event:{event_id}", Kind.PAYMENT, inv, m.amount, m.url)
        for m, event_id in items
        if (inv := invoices.get(uuid.UUID(m.invoice_id))) is not None
    ]
    await _queue(conn, w, tells)


async def _queue(conn: asyncpg.Connection, w: Wiring, tells: list[_Tell]) -> None:
    if tells:
        made = await _messages(conn, w, tells, datetime.now(UTC))
        await messages_store.queue(conn, [m for m in made if m is not None])


async def queue_code(conn: asyncpg.Connection, w: Wiring, *, student_id: uuid.UUID, school: str, code: str) -> bool:
    """A parent's sign-in code, to the guardian of `student_id` by their school's channels, at once (no quiet
    hours: the parent is waiting for it). False when no channel can reach them."""
    who = await messages_store.recipient(conn, student_id)
    if who is None or who.erased_at is not None:
        return False
    phone, email, usable = await _reachable(conn, w, who)
    if not usable:
        return False
    fields = Fields(
        kind=Kind.CODE, school=school, pupil="", class_name="", period="", amount=0, due=None, link="",
        reference=code,
    )  # fmt: skip
    message = NewMessage(
        message_id=uuid.uuid4(),
        school_id=who.school_id,
        dedup_key=f"code:{uuid.uuid4()}",
        kind=str(Kind.CODE),
        student_id=student_id,
        invoice_id=None,
        channels=usable,
        status="queued",
        next_attempt_at=datetime.now(UTC),
        recipient=mask_phone(phone) if phone else mask_email(email),
        fields=fields,
    )
    return bool(await messages_store.queue(conn, [message]))


async def queue_reminders(pool: asyncpg.Pool, w: Wiring, *, now: datetime | None = None) -> int:
    """Today's reminders: before the due date and every so many days after, at most so many per invoice,
    never for what is paid, not for the classes and pupils the school stopped. Once per invoice and day."""
    now = now or datetime.now(UTC)
    today = now.astimezone(VN).date()
    queued = 0
    async with pool.acquire() as conn:
        for r in await messages_store.reminder_candidates(conn, limit=REMINDER_RUN):
            if r.sent >= r.max_reminders:
                continue
            every, before = r.remind_every_days, r.remind_days_before
            if not reminder_due(today, r.due_date, days_before=before, every_days=every):
                continue
            invoice = await messages_store.invoice_for_message(conn, r.invoice_id)
            if invoice is None:
                continue
            async with conn.transaction():
                msg = await _message(
                    conn, w, dedup_key=f"reminder:{r.invoice_id}:{today.isoformat()}", kind=Kind.REMINDER,
                    invoice=invoice, amount=invoice.total - invoice.amount_paid,
                    link=f"{w.public_url.rstrip('/')}/pay/{invoice.public_token}", now=now,
                    overdue=today > r.due_date,
                )  # fmt: skip
                queued += await messages_store.queue(conn, [msg] if msg else [])
    return queued


# --- Sending --------------------------------------------------------------------------------------------


async def send_due(pool: asyncpg.Pool, w: Wiring) -> int:
    """Send what is due now, a batch at a time (at most BATCHES_PER_RUN), each message on its first channel
    that takes it."""
    sent = 0
    for _ in range(BATCHES_PER_RUN):
        done = await _send_batch(pool, w)
        sent += done
        if done < BATCH:
            break
    return sent


async def _send_batch(pool: asyncpg.Pool, w: Wiring) -> int:
    async with pool.acquire() as conn:
        claimed = await messages_store.claim_due(conn, limit=BATCH, stale=STALE_SENDING)
    if not claimed:
        return 0
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(row: Claimed) -> None:
        async with gate:
            outcome = await _send_one(pool, w, row)
            async with pool.acquire() as conn:
                await messages_store.record(conn, outcome)

    await asyncio.gather(*(one(r) for r in claimed))
    return len(claimed)


async def _send_one(pool: asyncpg.Pool, w: Wiring, row: Claimed) -> Outcome:
    tries = list(row.tries)
    channels = list(row.channels)
    base = Outcome(message_id=row.message_id, status="queued", channel=None, channels=channels, tries=tries)
    now = datetime.now(UTC)
    if row.kind != Kind.CODE and after_quiet_hours(now, w.quiet) > now:  # quiet hours began: the morning
        return replace(base, next_attempt_at=after_quiet_hours(now, w.quiet))
    who = await messages_store.recipient(pool, row.student_id)
    if who is None or who.erased_at is not None or who.opted_out:
        return replace(base, status="skipped", last_error="Phụ huynh đã từ chối nhận tin, hoặc dữ liệu đã bị xóa.")
    fields = row.fields
    cap = (await messages_store.settings_of(pool, row.school_id) or DEFAULT_SETTINGS).monthly_cap
    month = datetime(now.astimezone(VN).year, now.astimezone(VN).month, 1, tzinfo=VN)
    while channels:
        name = channels[0]
        channel = w.channels.get(name)
        to = _address(w, who, name)
        price = PRICE.get(ChannelName(name), 0) if name in {c.value for c in ChannelName} else 0
        if channel is None or not to:
            tries.append(_try(name, "next", "", "Kênh chưa cấu hình hoặc không có địa chỉ."))
            channels = channels[1:]
            continue
        if price and await messages_store.month_cost(pool, row.school_id, month) + price > cap:
            tries.append(_try(name, "next", "cap", "Vượt hạn mức chi phí tin nhắn của tháng."))
            channels = channels[1:]
            continue
        out = ch.Outgoing(message_id=str(row.message_id), to=to, fields=fields)
        try:
            provider_id = await _deliver(pool, w, channel, out)
        except ch.Retry as exc:
            tries.append(_try(name, "retry", exc.code, exc.message))
            on_channel = sum(1 for t in tries if t.channel == name and t.outcome == "retry")
            if on_channel < MAX_TRIES_PER_CHANNEL:
                wait = after_quiet_hours(now + backoff(on_channel), w.quiet)
                return replace(base, channels=channels, tries=tries, last_error=exc.message, next_attempt_at=wait)
            channels = channels[1:]
            continue
        except (ch.NextChannel, ch.Undeliverable) as exc:
            kind = "undeliverable" if isinstance(exc, ch.Undeliverable) else "next"
            tries.append(_try(name, kind, exc.code, exc.message))
            channels = channels[1:]
            continue
        tries.append(_try(name, "sent", "", provider_id))
        log.info("invoicing.message.sent", school_id=row.school_id, kind=row.kind, channel=name)
        return replace(
            base, status="sent", channel=name, channels=channels, cost=price, provider_id=provider_id, tries=tries
        )
    last = tries[-1].detail if tries else "Không còn kênh nào để thử."
    log.warning("invoicing.message.failed", school_id=row.school_id, kind=row.kind)
    return replace(base, status="failed", channels=[], tries=tries, last_error=last)


def _try(channel: str, outcome: str, code: str, detail: str) -> Try:
    return Try(channel=channel, outcome=outcome, code=code, detail=detail, at=datetime.now(UTC).isoformat())


def _address(w: Wiring, who: Recipient, channel: str) -> str:
    if channel == ChannelName.EMAIL:
        return w.sealer.open(who.guardian_email) if who.guardian_email else ""
    return w.sealer.open(who.guardian_phone) if who.guardian_phone else ""


_zalo_lock = asyncio.Lock()


async def _deliver(pool: asyncpg.Pool, w: Wiring, channel: ch.Sender, out: ch.Outgoing) -> str:
    if not isinstance(channel, ch.ZaloZns):
        return await channel.send(out)
    token = await _zalo_token(pool, w, spent=None)
    try:
        return await channel.send_with(token, out)
    except ch.TokenExpired:
        token = await _zalo_token(pool, w, spent=token)
        try:
            return await channel.send_with(token, out)
        except ch.TokenExpired as exc:
            raise ch.NextChannel(exc.code, "Zalo refused a token just renewed") from exc


async def _zalo_token(pool: asyncpg.Pool, w: Wiring, *, spent: str | None) -> str:
    """The Official Account's access token; renewed (once, under a lock: the refresh token is single-use) when
    there is none, it has ended, or it was just refused."""
    assert w.zalo is not None
    async with _zalo_lock, pool.acquire() as conn, conn.transaction():
        row = await messages_store.zalo_tokens_for_update(conn)
        now = datetime.now(UTC)
        if row is not None:
            access = w.sealer.open(row.access_token)
            if access != spent and row.expires_at > now + timedelta(minutes=1):
                return access
        refresh = w.sealer.open(row.refresh_token) if row is not None else w.zalo_refresh_token
        if not refresh:
            raise ch.NextChannel("oauth", "Zalo is not connected: no refresh token")
        tokens = await w.zalo.renew(refresh)
        await messages_store.put_zalo_tokens(
            conn,
            w.sealer.seal(tokens.access_token),
            w.sealer.seal(tokens.refresh_token),
            now + timedelta(seconds=tokens.expires_in_s),
        )
        return tokens.access_token


# --- The accountant's view and choices ------------------------------------------------------------------


async def log_of(pool: asyncpg.Pool, school_id: str, which: LogFilter) -> list[Logged]:
    """The school's messages, newest first (each with its text as the guardian reads it)."""
    return await messages_store.log(pool, school_id, which)


async def settings(pool: asyncpg.Pool, school_id: str) -> MessageSettings:
    return await messages_store.settings_of(pool, school_id) or DEFAULT_SETTINGS


async def save_settings(pool: asyncpg.Pool, school_id: str, values: MessageSettings, *, by: str) -> None:
    await messages_store.put_settings(pool, school_id, values, by=by)


async def stop_reminders(pool: asyncpg.Pool, school_id: str, student_code: str, stopped: bool) -> bool:
    return await messages_store.stop_reminders(pool, school_id, student_code, stopped)


async def opt_out(pool: asyncpg.Pool, school_id: str, student_code: str, *, by: str, source: str) -> None:
    """The guardian of the pupil asked for no more messages: their family (every child at the school) is not
    written to again; messages waiting are skipped when their turn comes."""
    family = await messages_store.family_of(pool, school_id, student_code)
    if family is None:
        raise NotFound(f"Không có học sinh mã {student_code!r} ở trường này.")
    await messages_store.opt_out(pool, school_id, family, by=by, source=source)


@dataclass(frozen=True, kw_only=True)
class MonthSummary:
    """This month's messages sent and their cost, by channel, against the school's cap."""

    month: str
    cap: int
    by_channel: list[ChannelMonth]

    @property
    def messages(self) -> int:
        return sum(c.messages for c in self.by_channel)

    @property
    def cost(self) -> int:
        return sum(c.cost for c in self.by_channel)


async def month_summary(pool: asyncpg.Pool, school_id: str) -> MonthSummary:
    """This month's messages and their cost, against the school's cap."""
    now = datetime.now(UTC).astimezone(VN)
    since = datetime(now.year, now.month, 1, tzinfo=VN)
    by_channel = await messages_store.month_by_channel(pool, school_id, since)
    cap = (await settings(pool, school_id)).monthly_cap
    return MonthSummary(month=f"{now.year}-{now.month:02d}", cap=cap, by_channel=by_channel)


async def consent(pool: asyncpg.Pool, school_id: str, student_code: str, *, by: str, source: str) -> None:
    """The pupil's guardian agreed (on paper, at the school) to be told by the school's channels."""
    family = await messages_store.family_of(pool, school_id, student_code)
    if family is None:
        raise NotFound(f"Không có học sinh mã {student_code!r} ở trường này.")
    await messages_store.consent(pool, school_id, family, by=by, source=source)
