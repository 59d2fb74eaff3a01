"""A parent's own page: the family's children at every school (by the keyed hash of the guardian's phone),
the one-time codes (hashed) and the sessions (hashed tokens)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from invoicing.domain.messages import Fields
from invoicing.stores.messages_store import fields_of
from shared import rows
from shared.db import Executor


@dataclass(frozen=True, kw_only=True)
class Child:
    student_id: uuid.UUID
    student_code: str
    full_name: str
    class_name: str
    school_id: str
    school_name: str


@dataclass(frozen=True, kw_only=True)
class Code:
    """The family's latest one-time code (hashed)."""

    code_id: uuid.UUID
    code_hash: str
    expires_at: datetime
    attempts: int
    used_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class ReceiptSeen:
    number: str
    url: str
    issued_at: str


@dataclass(frozen=True, kw_only=True)
class ChildInvoice:
    """A child's invoice as the family's page shows it, with its receipts."""

    invoice_id: uuid.UUID
    student_id: uuid.UUID
    period: str
    round_code: str
    total: int
    amount_paid: int
    status: str
    due_date: date
    public_token: str
    payment_reference: str
    receipts: list[ReceiptSeen]


@dataclass(frozen=True, kw_only=True)
class MessageSent:
    message_id: uuid.UUID
    student_id: uuid.UUID
    kind: str
    channel: str | None
    status: str
    fields: Fields
    created_at: datetime
    sent_at: datetime | None


async def children(db: Executor, family_key: str) -> list[Child]:
    found = await db.fetch(
        """SELECT s.student_id, s.student_code, s.full_name, s.class_name, s.school_id, sc.name AS school_name
             FROM students s JOIN schools sc USING (school_id)
            WHERE s.family_key = $1 AND s.erased_at IS NULL
            ORDER BY sc.name, s.full_name""",
        family_key,
    )
    return rows.rows(Child, found)


async def codes_since(db: Executor, family_key: str, since: datetime) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM parent_codes WHERE family_key = $1 AND created_at >= $2", family_key, since
        )
    )


async def add_code(db: Executor, family_key: str, code_hash: str, expires_at: datetime) -> uuid.UUID:
    code_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO parent_codes (code_id, family_key, code_hash, expires_at) VALUES ($1, $2, $3, $4)",
        code_id,
        family_key,
        code_hash,
        expires_at,
    )
    return code_id


async def latest_code_for_update(conn: asyncpg.Connection, family_key: str) -> Code | None:
    found = await conn.fetchrow(
        "SELECT code_id, code_hash, expires_at, attempts, used_at FROM parent_codes WHERE family_key = $1 "
        "ORDER BY created_at DESC LIMIT 1 FOR UPDATE",
        family_key,
    )
    return rows.maybe(Code, found)


async def count_attempt(conn: asyncpg.Connection, code_id: uuid.UUID, *, used: bool) -> None:
    await conn.execute(
        "UPDATE parent_codes SET attempts = attempts + 1, used_at = CASE WHEN $2 THEN now() END WHERE code_id = $1",
        code_id,
        used,
    )


async def add_session(db: Executor, token_hash: str, family_key: str, expires_at: datetime) -> None:
    await db.execute(
        "INSERT INTO parent_sessions (token_hash, family_key, expires_at) VALUES ($1, $2, $3)",
        token_hash,
        family_key,
        expires_at,
    )


async def session_family(db: Executor, token_hash: str) -> str | None:
    key = await db.fetchval(
        "SELECT family_key FROM parent_sessions WHERE token_hash = $1 AND expires_at > now()", token_hash
    )
    return None if key is None else str(key)


async def end_session(db: Executor, token_hash: str) -> None:
    await db.execute("DELETE FROM parent_sessions WHERE token_hash = $1", token_hash)


async def invoices_of(db: Executor, student_ids: list[uuid.UUID]) -> list[ChildInvoice]:
    found = await db.fetch(
        """SELECT i.invoice_id, i.student_id, i.period, i.round_code, i.total, i.amount_paid, i.status, i.due_date,
                  i.public_token, i.payment_reference,
                  coalesce((SELECT json_agg(json_build_object('number', r.number, 'url', r.url,
                                                               'issued_at', r.issued_at) ORDER BY r.issued_at)
                              FROM invoice_receipts r WHERE r.invoice_id = i.invoice_id), '[]') AS receipts
             FROM invoices i WHERE i.student_id = ANY($1::uuid[])
            ORDER BY i.period DESC, i.issued_at DESC LIMIT 500""",
        student_ids,
    )
    plain = [k for k in rows.columns(ChildInvoice) if k != "receipts"]
    return [
        ChildInvoice(**{k: r[k] for k in plain}, receipts=[ReceiptSeen(**x) for x in json.loads(r["receipts"])])
        for r in found
    ]


async def messages_of(db: Executor, student_ids: list[uuid.UUID]) -> list[MessageSent]:
    found = await db.fetch(
        """SELECT message_id, student_id, kind, channel, status, fields, created_at, sent_at FROM messages
            WHERE student_id = ANY($1::uuid[]) AND kind <> 'code' AND status = 'sent'
            ORDER BY created_at DESC LIMIT 200""",
        student_ids,
    )
    plain = [k for k in rows.columns(MessageSent) if k != "fields"]
    return [MessageSent(**{k: r[k] for k in plain}, fields=fields_of(r["fields"])) for r in found]
