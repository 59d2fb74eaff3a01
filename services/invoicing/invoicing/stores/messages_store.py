"""Messages to parents: the ledger (one row per event and guardian), their tries, the schools' choices, the
guardians' opt-outs, and Zalo's tokens."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from invoicing.domain.messages import Fields, Kind
from shared import rows
from shared.db import Executor


@dataclass(frozen=True, kw_only=True)
class Try:
    """One try of a message on a channel, kept in its history."""

    channel: str
    outcome: str  # sent | retry | next | undeliverable
    code: str
    detail: str
    at: str  # ISO 8601, UTC


def _stored(f: Fields) -> str:
    """A message's fields as the ledger keeps them (JSON)."""
    return json.dumps(
        {
            "kind": str(f.kind),
            "school": f.school,
            "pupil": f.pupil,
            "class_name": f.class_name,
            "period": f.period,
            "amount": f.amount,
            "due": f.due.isoformat() if f.due else None,
            "link": f.link,
            "reference": f.reference,
            "overdue": f.overdue,
        },
        ensure_ascii=False,
    )


def fields_of(raw: str | Mapping[str, Any]) -> Fields:
    """A message's fields from the ledger (a jsonb column as asyncpg gives it: text, with no codec set)."""
    stored = json.loads(raw) if isinstance(raw, str) else raw
    return Fields(
        kind=Kind(stored["kind"]),
        school=stored["school"],
        pupil=stored["pupil"],
        class_name=stored["class_name"],
        period=stored["period"],
        amount=int(stored["amount"]),
        due=date.fromisoformat(stored["due"]) if stored.get("due") else None,
        link=stored["link"],
        reference=stored.get("reference", ""),
        overdue=bool(stored.get("overdue")),
    )


def _tries(raw: str | list[Any] | None) -> list[Try]:
    stored = json.loads(raw) if isinstance(raw, str) else raw
    return [Try(**t) for t in stored or []]


@dataclass(frozen=True, kw_only=True)
class Claimed:
    """A message claimed for sending."""

    message_id: uuid.UUID
    school_id: str
    kind: str
    student_id: uuid.UUID
    invoice_id: uuid.UUID | None
    channels: list[str]
    tries: list[Try]
    fields: Fields


@dataclass(frozen=True, kw_only=True)
class Logged:
    """A message of the school's log, with its pupil."""

    message_id: uuid.UUID
    kind: str
    status: str
    channel: str | None
    channels: list[str]
    attempts: int
    recipient: str
    cost: int
    last_error: str | None
    tries: list[Try]
    fields: Fields
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime
    invoice_id: uuid.UUID | None
    student_code: str
    full_name: str
    class_name: str

    @property
    def text(self) -> str:
        return self.fields.text()


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """A pupil's guardian as the roster holds them (phone and email sealed), and whether they may be told."""

    student_id: uuid.UUID
    school_id: str
    full_name: str
    class_name: str
    guardian_phone: str
    guardian_email: str | None
    family_key: str
    reminders_stopped: bool
    erased_at: datetime | None
    opted_out: bool


@dataclass(frozen=True, kw_only=True)
class InvoiceToTell:
    """What a message says of an invoice."""

    invoice_id: uuid.UUID
    school_id: str
    student_id: uuid.UUID
    period: str
    total: int
    amount_paid: int
    status: str
    due_date: date
    public_token: str
    payment_reference: str
    school_name: str


@dataclass(frozen=True, kw_only=True)
class ReminderCandidate:
    """An open invoice of a school that sends reminders, with its choices and the reminders already sent."""

    invoice_id: uuid.UUID
    school_id: str
    student_id: uuid.UUID
    due_date: date
    remind_days_before: int
    remind_every_days: int
    max_reminders: int
    stopped_classes: list[str]
    class_name: str
    reminders_stopped: bool
    sent: int


@dataclass(frozen=True, kw_only=True)
class MessageSettings:
    """A school's channels (in order) and reminders."""

    channels: list[str]
    remind_days_before: int
    remind_every_days: int
    max_reminders: int
    monthly_cap: int
    stopped_classes: list[str]


@dataclass(frozen=True, kw_only=True)
class ChannelMonth:
    channel: str
    messages: int
    cost: int


@dataclass(frozen=True, kw_only=True)
class Preference:
    """A family's consent and opt-out at one school."""

    school_id: str
    consented_at: datetime | None
    source: str | None
    opted_out_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class ZaloTokens:
    """The Official Account's tokens (sealed) and when the access token ends."""

    access_token: str
    refresh_token: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class NewMessage:
    message_id: uuid.UUID
    school_id: str
    dedup_key: str
    kind: str
    student_id: uuid.UUID
    invoice_id: uuid.UUID | None
    channels: list[str]
    status: str  # queued, or skipped (opted out, no channel) with `last_error` saying why
    next_attempt_at: datetime
    recipient: str
    fields: Fields
    last_error: str | None = None


async def queue(conn: asyncpg.Connection, messages: Sequence[NewMessage]) -> int:
    """Record messages (one statement for them all); one already recorded for the same event and guardian is
    left as it is. Returns how many were recorded."""
    if not messages:
        return 0
    return len(
        await conn.fetch(
            """INSERT INTO messages (message_id, school_id, dedup_key, kind, student_id, invoice_id, channels,
                                     status, next_attempt_at, recipient, fields, last_error)
               SELECT m.message_id, m.school_id, m.dedup_key, m.kind, m.student_id, m.invoice_id,
                      string_to_array(m.channels, ','), m.status, m.next_attempt_at, m.recipient, m.fields::jsonb,
                      m.last_error
                 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::uuid[], $7::text[],
                             $8::text[], $9::timestamptz[], $10::text[], $11::text[], $12::text[])
                      AS m(message_id, school_id, dedup_key, kind, student_id, invoice_id, channels, status,
                           next_attempt_at, recipient, fields, last_error)
               ON CONFLICT (dedup_key) DO NOTHING RETURNING true""",
            [m.message_id for m in messages],
            [m.school_id for m in messages],
            [m.dedup_key for m in messages],
            [m.kind for m in messages],
            [m.student_id for m in messages],
            [m.invoice_id for m in messages],
            [",".join(m.channels) for m in messages],  # channel names hold no comma
            [m.status for m in messages],
            [m.next_attempt_at for m in messages],
            [m.recipient for m in messages],
            [_stored(m.fields) for m in messages],
            [m.last_error for m in messages],
        )
    )


_ROW = (
    "m.message_id, m.school_id, m.kind, m.student_id, m.invoice_id, m.channels, m.channel, m.status, m.attempts, "
    "m.tries, m.fields, m.created_at"
)


async def claim_due(conn: asyncpg.Connection, *, limit: int, stale: timedelta) -> list[Claimed]:
    """Messages due now (and those whose sending was cut short), marked as being sent; a message is claimed
    by one sender at a time."""
    found = await conn.fetch(
        f"""UPDATE messages m SET status = 'sending', updated_at = now()
             WHERE m.message_id IN (
                 SELECT message_id FROM messages
                  WHERE (status = 'queued' AND next_attempt_at <= now())
                     OR (status = 'sending' AND updated_at < now() - $2::interval)
                  ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING {_ROW}""",  # noqa: S608
        limit,
        stale,
    )
    plain = ("message_id", "school_id", "kind", "student_id", "invoice_id", "channels")
    return [Claimed(**{k: r[k] for k in plain}, tries=_tries(r["tries"]), fields=fields_of(r["fields"])) for r in found]


@dataclass(frozen=True, kw_only=True)
class Outcome:
    message_id: uuid.UUID
    status: str  # sent, queued (tried again later), failed, skipped
    channel: str | None
    channels: list[str]  # the channels still to try, in order
    cost: int = 0
    provider_id: str | None = None
    last_error: str | None = None
    tries: list[Try]
    next_attempt_at: datetime | None = None


async def record(conn: asyncpg.Connection, o: Outcome) -> None:
    await conn.execute(
        """UPDATE messages SET status = $2, channel = coalesce($3, channel), channels = $4::text[],
                  cost = cost + $5, provider_id = coalesce($6, provider_id), last_error = $7, tries = $8::jsonb,
                  next_attempt_at = coalesce($9, next_attempt_at), attempts = attempts + 1, updated_at = now(),
                  sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END,
                  -- a sign-in code is not kept once it has gone (or could not go)
                  fields = CASE WHEN kind = 'code' AND $2 <> 'queued' THEN fields || '{"reference": ""}' ELSE fields END
            WHERE message_id = $1""",
        o.message_id,
        o.status,
        o.channel,
        o.channels,
        o.cost,
        o.provider_id,
        o.last_error,
        json.dumps([asdict(t) for t in o.tries], ensure_ascii=False),
        o.next_attempt_at,
    )


async def month_cost(db: Executor, school_id: str, since: datetime) -> int:
    return int(
        await db.fetchval(
            "SELECT coalesce(sum(cost), 0) FROM messages WHERE school_id = $1 AND created_at >= $2", school_id, since
        )
    )


async def month_by_channel(db: Executor, school_id: str, since: datetime) -> list[ChannelMonth]:
    """The month's messages sent, by channel: how many and what they cost."""
    found = await db.fetch(
        "SELECT channel, count(*) AS messages, coalesce(sum(cost), 0) AS cost FROM messages "
        "WHERE school_id = $1 AND created_at >= $2 AND status = 'sent' GROUP BY channel ORDER BY channel",
        school_id,
        since,
    )
    return rows.rows(ChannelMonth, found)


# --- who receives ---


async def recipient(db: Executor, student_id: uuid.UUID) -> Recipient | None:
    """The pupil's guardian as the roster holds them (phone and email sealed) and whether they may be told."""
    found = await db.fetchrow(
        """SELECT s.student_id, s.school_id, s.full_name, s.class_name, s.guardian_phone, s.guardian_email,
                  s.family_key, s.reminders_stopped, s.erased_at,
                  (o.family_key IS NOT NULL) AS opted_out
             FROM students s
             LEFT JOIN guardian_opt_outs o ON o.school_id = s.school_id AND o.family_key = s.family_key
            WHERE s.student_id = $1""",
        student_id,
    )
    return rows.maybe(Recipient, found)


async def recipients(db: Executor, student_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Recipient]:
    """`recipient` of many pupils with one statement, by student id (those not found left out)."""
    found = await db.fetch(
        """SELECT s.student_id, s.school_id, s.full_name, s.class_name, s.guardian_phone, s.guardian_email,
                  s.family_key, s.reminders_stopped, s.erased_at,
                  (o.family_key IS NOT NULL) AS opted_out
             FROM students s
             LEFT JOIN guardian_opt_outs o ON o.school_id = s.school_id AND o.family_key = s.family_key
            WHERE s.student_id = ANY($1::uuid[])""",
        student_ids,
    )
    return {r.student_id: r for r in rows.rows(Recipient, found)}


async def invoices_for_messages(db: Executor, invoice_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, InvoiceToTell]:
    """`invoice_for_message` of many invoices with one statement, by invoice id (those not found left out)."""
    found = await db.fetch(
        """SELECT i.invoice_id, i.school_id, i.student_id, i.period, i.total, i.amount_paid, i.status, i.due_date,
                  i.public_token, i.payment_reference, sc.name AS school_name
             FROM invoices i JOIN schools sc USING (school_id) WHERE i.invoice_id = ANY($1::uuid[])""",
        invoice_ids,
    )
    return {r.invoice_id: r for r in rows.rows(InvoiceToTell, found)}


async def invoice_for_message(db: Executor, invoice_id: uuid.UUID) -> InvoiceToTell | None:
    found = await db.fetchrow(
        """SELECT i.invoice_id, i.school_id, i.student_id, i.period, i.total, i.amount_paid, i.status, i.due_date,
                  i.public_token, i.payment_reference, sc.name AS school_name
             FROM invoices i JOIN schools sc USING (school_id) WHERE i.invoice_id = $1""",
        invoice_id,
    )
    return rows.maybe(InvoiceToTell, found)


async def reminder_candidates(db: Executor, *, limit: int) -> list[ReminderCandidate]:
    """Open invoices of schools that send reminders, with what their school chose and how many reminders each
    has had; bounded per run."""
    found = await db.fetch(
        """SELECT i.invoice_id, i.school_id, i.student_id, i.due_date, ms.remind_days_before, ms.remind_every_days,
                  ms.max_reminders, ms.stopped_classes, s.class_name, s.reminders_stopped,
                  (SELECT count(*) FROM messages m WHERE m.invoice_id = i.invoice_id AND m.kind = 'reminder') AS sent
             FROM invoices i
             JOIN message_settings ms USING (school_id)
             JOIN students s ON s.student_id = i.student_id
            WHERE i.status IN ('open', 'partially_paid') AND ms.max_reminders > 0 AND s.left_at IS NULL
              AND NOT s.reminders_stopped AND NOT (s.class_name = ANY(ms.stopped_classes))
            ORDER BY i.due_date LIMIT $1""",
        limit,
    )
    return rows.rows(ReminderCandidate, found)


# --- a school's choices, a guardian's opt-out ---


async def settings_of_many(db: Executor, school_ids: Sequence[str]) -> dict[str, MessageSettings]:
    """The settings the schools saved (those with none left out), with one statement."""
    found = await db.fetch("SELECT * FROM message_settings WHERE school_id = ANY($1::text[])", school_ids)
    return {r["school_id"]: rows.row(MessageSettings, r) for r in found}


async def settings_of(db: Executor, school_id: str) -> MessageSettings | None:
    found = await db.fetchrow("SELECT * FROM message_settings WHERE school_id = $1", school_id)
    return rows.maybe(MessageSettings, found)


async def put_settings(db: Executor, school_id: str, values: MessageSettings, *, by: str) -> None:
    await db.execute(
        """INSERT INTO message_settings (school_id, channels, remind_days_before, remind_every_days, max_reminders,
                                         monthly_cap, stopped_classes, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (school_id) DO UPDATE SET channels = EXCLUDED.channels,
               remind_days_before = EXCLUDED.remind_days_before, remind_every_days = EXCLUDED.remind_every_days,
               max_reminders = EXCLUDED.max_reminders, monthly_cap = EXCLUDED.monthly_cap,
               stopped_classes = EXCLUDED.stopped_classes, updated_by = EXCLUDED.updated_by, updated_at = now()""",
        school_id,
        values.channels,
        values.remind_days_before,
        values.remind_every_days,
        values.max_reminders,
        values.monthly_cap,
        values.stopped_classes,
        by,
    )


async def stop_reminders(db: Executor, school_id: str, student_code: str, stopped: bool) -> bool:
    done = await db.fetchval(
        "UPDATE students SET reminders_stopped = $3 WHERE school_id = $1 AND student_code = $2 RETURNING true",
        school_id,
        student_code,
        stopped,
    )
    return bool(done)


async def consent(db: Executor, school_id: str, family_key: str, *, by: str, source: str) -> None:
    """The guardian agreed to be told; a later consent replaces the earlier one, and lifts an opt-out."""
    await db.execute(
        "INSERT INTO guardian_consents (school_id, family_key, recorded_by, source) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (school_id, family_key) DO UPDATE SET consented_at = now(), recorded_by = EXCLUDED.recorded_by, "
        "source = EXCLUDED.source",
        school_id,
        family_key,
        by,
        source,
    )
    await db.execute("DELETE FROM guardian_opt_outs WHERE school_id = $1 AND family_key = $2", school_id, family_key)


async def preferences(db: Executor, family_key: str) -> list[Preference]:
    """The family's consent and opt-out at each school."""
    found = await db.fetch(
        """SELECT sc.school_id, c.consented_at, c.source, o.opted_out_at
             FROM schools sc
             LEFT JOIN guardian_consents c ON c.school_id = sc.school_id AND c.family_key = $1
             LEFT JOIN guardian_opt_outs o ON o.school_id = sc.school_id AND o.family_key = $1
            WHERE sc.school_id IN (SELECT school_id FROM students WHERE family_key = $1)""",
        family_key,
    )
    return rows.rows(Preference, found)


async def opt_out(db: Executor, school_id: str, family_key: str, *, by: str, source: str) -> None:
    await db.execute(
        "INSERT INTO guardian_opt_outs (school_id, family_key, recorded_by, source) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING",
        school_id,
        family_key,
        by,
        source,
    )


async def family_of(db: Executor, school_id: str, student_code: str) -> str | None:
    key = await db.fetchval(
        "SELECT family_key FROM students WHERE school_id = $1 AND student_code = $2", school_id, student_code
    )
    return None if key is None else str(key)


# --- the log ---


@dataclass(frozen=True, kw_only=True)
class LogFilter:
    """Which of a school's messages: of an invoice, a pupil (code or name), a channel, a status, since a day."""

    invoice_id: uuid.UUID | None = None
    student: str | None = None
    channel: str | None = None
    status: str | None = None
    since: date | None = None
    limit: int = 200


async def log(db: Executor, school_id: str, f: LogFilter) -> list[Logged]:
    found = await db.fetch(
        """SELECT m.message_id, m.kind, m.status, m.channel, m.channels, m.attempts, m.recipient, m.cost,
                  m.last_error, m.tries, m.fields, m.created_at, m.sent_at, m.next_attempt_at, m.invoice_id,
                  s.student_code, s.full_name, s.class_name
             FROM messages m JOIN students s USING (student_id)
            WHERE m.school_id = $1 AND ($2::uuid IS NULL OR m.invoice_id = $2)
              AND ($3::text IS NULL OR s.student_code = $3 OR s.search_name LIKE '%' || vn_fold($3) || '%')
              AND ($4::text IS NULL OR m.channel = $4) AND ($5::text IS NULL OR m.status = $5)
              AND ($6::date IS NULL OR m.created_at >= $6)
            ORDER BY m.created_at DESC LIMIT $7""",
        school_id,
        f.invoice_id,
        f.student,
        f.channel,
        f.status,
        f.since,
        f.limit,
    )
    plain = [k for k in rows.columns(Logged) if k not in ("tries", "fields")]
    return [Logged(**{k: r[k] for k in plain}, tries=_tries(r["tries"]), fields=fields_of(r["fields"])) for r in found]


# --- Zalo's tokens ---


async def zalo_tokens_for_update(conn: asyncpg.Connection) -> ZaloTokens | None:
    found = await conn.fetchrow("SELECT access_token, refresh_token, expires_at FROM zalo_tokens FOR UPDATE")
    return rows.maybe(ZaloTokens, found)


async def zalo_tokens(db: Executor) -> ZaloTokens | None:
    return rows.maybe(ZaloTokens, await db.fetchrow("SELECT access_token, refresh_token, expires_at FROM zalo_tokens"))


async def put_zalo_tokens(conn: asyncpg.Connection, access: str, refresh: str, expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO zalo_tokens (singleton, access_token, refresh_token, expires_at) VALUES (true, $1, $2, $3) "
        "ON CONFLICT (singleton) DO UPDATE SET access_token = $1, refresh_token = $2, expires_at = $3, "
        "updated_at = now()",
        access,
        refresh,
        expires_at,
    )
