"""Messages to parents: the ledger (one row per event and guardian), their tries, the schools' choices, the
guardians' opt-outs, and Zalo's tokens."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from shared.db import Executor


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
    fields: dict[str, Any]
    last_error: str | None = None


async def queue(conn: asyncpg.Connection, messages: Sequence[NewMessage]) -> int:
    """Record messages; one already recorded for the same event and guardian is left as it is."""
    queued = 0
    for m in messages:  # one per event and guardian, a few per reminder run
        queued += bool(
            await conn.fetchval(
                """INSERT INTO messages (message_id, school_id, dedup_key, kind, student_id, invoice_id, channels,
                                         status, next_attempt_at, recipient, fields, last_error)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                   ON CONFLICT (dedup_key) DO NOTHING RETURNING true""",
                m.message_id,
                m.school_id,
                m.dedup_key,
                m.kind,
                m.student_id,
                m.invoice_id,
                m.channels,
                m.status,
                m.next_attempt_at,
                m.recipient,
                json.dumps(m.fields, ensure_ascii=False),
                m.last_error,
            )
        )
    return queued


_ROW = (
    "m.message_id, m.school_id, m.kind, m.student_id, m.invoice_id, m.channels, m.channel, m.status, m.attempts, "
    "m.tries, m.fields, m.created_at"
)


async def claim_due(conn: asyncpg.Connection, *, limit: int, stale: timedelta) -> list[asyncpg.Record]:
    """Messages due now (and those whose sending was cut short), marked as being sent; a message is claimed
    by one sender at a time."""
    return await conn.fetch(
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


@dataclass(frozen=True, kw_only=True)
class Outcome:
    message_id: uuid.UUID
    status: str  # sent, queued (tried again later), failed, skipped
    channel: str | None
    channels: list[str]  # the channels still to try, in order
    cost: int = 0
    provider_id: str | None = None
    last_error: str | None = None
    tries: list[dict[str, Any]]
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
        json.dumps(o.tries, ensure_ascii=False, default=str),
        o.next_attempt_at,
    )


async def month_cost(db: Executor, school_id: str, since: datetime) -> int:
    return int(
        await db.fetchval(
            "SELECT coalesce(sum(cost), 0) FROM messages WHERE school_id = $1 AND created_at >= $2", school_id, since
        )
    )


async def month_by_channel(db: Executor, school_id: str, since: datetime) -> list[asyncpg.Record]:
    """The month's messages sent, by channel: how many and what they cost."""
    return await db.fetch(
        "SELECT channel, count(*) AS messages, coalesce(sum(cost), 0) AS cost FROM messages "
        "WHERE school_id = $1 AND created_at >= $2 AND status = 'sent' GROUP BY channel ORDER BY channel",
        school_id,
        since,
    )


# --- who receives ---


async def recipient(db: Executor, student_id: uuid.UUID) -> asyncpg.Record | None:
    """The pupil's guardian as the roster holds them (phone and email sealed) and whether they may be told."""
    return await db.fetchrow(
        """SELECT s.student_id, s.school_id, s.full_name, s.class_name, s.guardian_phone, s.guardian_email,
                  s.family_key, s.reminders_stopped, s.erased_at,
                  (o.family_key IS NOT NULL) AS opted_out
             FROM students s
             LEFT JOIN guardian_opt_outs o ON o.school_id = s.school_id AND o.family_key = s.family_key
            WHERE s.student_id = $1""",
        student_id,
    )


async def invoice_for_message(db: Executor, invoice_id: uuid.UUID) -> asyncpg.Record | None:
    return await db.fetchrow(
        """SELECT i.invoice_id, i.school_id, i.student_id, i.period, i.total, i.amount_paid, i.status, i.due_date,
                  i.public_token, i.payment_reference, sc.name AS school_name
             FROM invoices i JOIN schools sc USING (school_id) WHERE i.invoice_id = $1""",
        invoice_id,
    )


async def reminder_candidates(db: Executor, *, limit: int) -> list[asyncpg.Record]:
    """Open invoices of schools that send reminders, with what their school chose and how many reminders each
    has had; bounded per run."""
    return await db.fetch(
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


# --- a school's choices, a guardian's opt-out ---


async def settings_of(db: Executor, school_id: str) -> asyncpg.Record | None:
    return await db.fetchrow("SELECT * FROM message_settings WHERE school_id = $1", school_id)


async def put_settings(db: Executor, school_id: str, values: dict[str, Any], *, by: str) -> None:
    await db.execute(
        """INSERT INTO message_settings (school_id, channels, remind_days_before, remind_every_days, max_reminders,
                                         monthly_cap, stopped_classes, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (school_id) DO UPDATE SET channels = EXCLUDED.channels,
               remind_days_before = EXCLUDED.remind_days_before, remind_every_days = EXCLUDED.remind_every_days,
               max_reminders = EXCLUDED.max_reminders, monthly_cap = EXCLUDED.monthly_cap,
               stopped_classes = EXCLUDED.stopped_classes, updated_by = EXCLUDED.updated_by, updated_at = now()""",
        school_id,
        values["channels"],
        values["remind_days_before"],
        values["remind_every_days"],
        values["max_reminders"],
        values["monthly_cap"],
        values["stopped_classes"],
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


async def preferences(db: Executor, family_key: str) -> list[asyncpg.Record]:
    """The family's consent and opt-out at each school."""
    return await db.fetch(
        """SELECT sc.school_id, c.consented_at, c.source, o.opted_out_at
             FROM schools sc
             LEFT JOIN guardian_consents c ON c.school_id = sc.school_id AND c.family_key = $1
             LEFT JOIN guardian_opt_outs o ON o.school_id = sc.school_id AND o.family_key = $1
            WHERE sc.school_id IN (SELECT school_id FROM students WHERE family_key = $1)""",
        family_key,
    )


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


async def log(
    db: Executor,
    school_id: str,
    *,
    invoice_id: uuid.UUID | None,
    student: str | None,
    channel: str | None,
    status: str | None,
    since: date | None,
    limit: int,
) -> list[asyncpg.Record]:
    return await db.fetch(
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
        invoice_id,
        student,
        channel,
        status,
        since,
        limit,
    )


# --- Zalo's tokens ---


async def zalo_tokens_for_update(conn: asyncpg.Connection) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT access_token, refresh_token, expires_at FROM zalo_tokens FOR UPDATE")


async def zalo_tokens(db: Executor) -> asyncpg.Record | None:
    return await db.fetchrow("SELECT access_token, refresh_token, expires_at FROM zalo_tokens")


async def put_zalo_tokens(conn: asyncpg.Connection, access: str, refresh: str, expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO zalo_tokens (singleton, access_token, refresh_token, expires_at) VALUES (true, $1, $2, $3) "
        "ON CONFLICT (singleton) DO UPDATE SET access_token = $1, refresh_token = $2, expires_at = $3, "
        "updated_at = now()",
        access,
        refresh,
        expires_at,
    )
