"""Accounts, their schools, one-time links, sessions, sign-in failures and the audit log (SQL only)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from shared import rows
from shared.db import Executor


@dataclass(frozen=True)
class Account:
    account_id: uuid.UUID
    username: str
    display_name: str
    role: str
    district_code: str | None
    schools: tuple[str, ...]
    password_hash: str | None
    totp_secret: str | None
    totp_pending: str | None
    totp_last_step: int
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None and self.password_hash is not None


_ACCOUNT = (
    "SELECT a.*, coalesce(array_agg(s.school_id ORDER BY s.school_id) FILTER (WHERE s.school_id IS NOT NULL), "
    "'{}') AS schools FROM accounts a LEFT JOIN account_schools s USING (account_id) "
)


def _account(r: Mapping[str, Any]) -> Account:
    return Account(
        account_id=r["account_id"],
        username=r["username"],
        display_name=r["display_name"],
        role=r["role"],
        district_code=r["district_code"],
        schools=tuple(r["schools"]),
        password_hash=r["password_hash"],
        totp_secret=r["totp_secret"],
        totp_pending=r["totp_pending"],
        totp_last_step=r["totp_last_step"],
        disabled_at=r["disabled_at"],
    )


async def by_username(db: Executor, username: str) -> Account | None:
    r = await db.fetchrow(_ACCOUNT + "WHERE a.username = $1 GROUP BY a.account_id", username)
    return _account(r) if r else None


async def by_id(db: Executor, account_id: uuid.UUID, *, lock: bool = False) -> Account | None:
    if lock:
        await db.execute("SELECT 1 FROM accounts WHERE account_id = $1 FOR UPDATE", account_id)
    r = await db.fetchrow(_ACCOUNT + "WHERE a.account_id = $1 GROUP BY a.account_id", account_id)
    return _account(r) if r else None


async def listed(db: Executor, *, district_code: str | None) -> list[Account]:
    rows = await db.fetch(
        _ACCOUNT + "WHERE ($1::text IS NULL OR a.district_code = $1) GROUP BY a.account_id ORDER BY a.username",
        district_code,
    )
    return [_account(r) for r in rows]


async def create(
    conn: asyncpg.Connection,
    *,
    account_id: uuid.UUID,
    username: str,
    display_name: str,
    role: str,
    district_code: str | None,
    schools: list[str],
    created_by: str,
) -> bool:
    """False when the user name is taken."""
    made = await conn.fetchval(
        "INSERT INTO accounts (account_id, username, display_name, role, district_code, created_by) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING RETURNING true",
        account_id,
        username,
        display_name,
        role,
        district_code,
        created_by,
    )
    if made:
        await set_schools(conn, account_id, schools)
    return bool(made)


async def set_schools(conn: asyncpg.Connection, account_id: uuid.UUID, schools: list[str]) -> None:
    await conn.execute("DELETE FROM account_schools WHERE account_id = $1", account_id)
    await conn.executemany(
        "INSERT INTO account_schools (account_id, school_id) VALUES ($1, $2)", [(account_id, s) for s in schools]
    )


async def schools_of_district(db: Executor, school_ids: list[str]) -> dict[str, str]:
    rows = await db.fetch("SELECT school_id, district_code FROM schools WHERE school_id = ANY($1::text[])", school_ids)
    return {r["school_id"]: r["district_code"] for r in rows}


async def set_disabled(conn: asyncpg.Connection, account_id: uuid.UUID, disabled: bool) -> None:
    await conn.execute(
        "UPDATE accounts SET disabled_at = CASE WHEN $2 THEN now() END WHERE account_id = $1", account_id, disabled
    )


async def set_credentials(
    conn: asyncpg.Connection, account_id: uuid.UUID, *, password_hash: str, totp_secret: str | None
) -> None:
    await conn.execute(
        "UPDATE accounts SET password_hash = $2, totp_secret = $3, totp_pending = NULL, totp_last_step = 0 "
        "WHERE account_id = $1",
        account_id,
        password_hash,
        totp_secret,
    )


async def set_password_hash(conn: Executor, account_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute("UPDATE accounts SET password_hash = $2 WHERE account_id = $1", account_id, password_hash)


async def set_totp_pending(conn: asyncpg.Connection, account_id: uuid.UUID, sealed: str) -> None:
    await conn.execute("UPDATE accounts SET totp_pending = $2 WHERE account_id = $1", account_id, sealed)


async def use_totp_step(conn: asyncpg.Connection, account_id: uuid.UUID, step: int) -> bool:
    """The step recorded as used, unless it (or a later one) already was: one sign-in per code."""
    used = await conn.fetchval(
        "UPDATE accounts SET totp_last_step = $2 WHERE account_id = $1 AND totp_last_step < $2 RETURNING true",
        account_id,
        step,
    )
    return bool(used)


# One-time links


async def add_link(
    conn: asyncpg.Connection, link_hash: bytes, account_id: uuid.UUID, purpose: str, expires_at: datetime, by: str
) -> None:
    # A new link replaces the account's open ones of the same purpose.
    await conn.execute(
        "UPDATE account_links SET used_at = now() WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL",
        account_id,
        purpose,
    )
    await conn.execute(
        "INSERT INTO account_links (link_hash, account_id, purpose, expires_at, created_by) "
        "VALUES ($1, $2, $3, $4, $5)",
        link_hash,
        account_id,
        purpose,
        expires_at,
        by,
    )


@dataclass(frozen=True, kw_only=True)
class Link:
    """A one-time link (its hash) to set an account's password, and where it stands."""

    link_hash: bytes
    account_id: uuid.UUID
    purpose: str
    expires_at: datetime
    used_at: datetime | None


async def link(db: Executor, link_hash: bytes, *, lock: bool = False) -> Link | None:
    # Locked (FOR UPDATE) when it is about to be used: two tabs accepting one link are served one at a time.
    return rows.maybe(Link, await db.fetchrow(_LINK_FOR_UPDATE if lock else _LINK, link_hash))


_LINK = "SELECT link_hash, account_id, purpose, expires_at, used_at FROM account_links WHERE link_hash = $1"
_LINK_FOR_UPDATE = _LINK + " FOR UPDATE"


async def use_link(conn: asyncpg.Connection, link_hash: bytes) -> None:
    await conn.execute("UPDATE account_links SET used_at = now() WHERE link_hash = $1", link_hash)


# Sessions


@dataclass(frozen=True)
class Session:
    session_hash: bytes
    account_id: uuid.UUID
    stage: str
    school_id: str | None
    csrf: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str
    address: str


def _session(r: Mapping[str, Any]) -> Session:
    return Session(
        session_hash=bytes(r["session_hash"]),
        account_id=r["account_id"],
        stage=r["stage"],
        school_id=r["school_id"],
        csrf=r["csrf"],
        created_at=r["created_at"],
        last_seen_at=r["last_seen_at"],
        expires_at=r["expires_at"],
        user_agent=r["user_agent"],
        address=r["address"],
    )


async def add_session(
    conn: Executor,
    *,
    session_hash: bytes,
    account_id: uuid.UUID,
    stage: str,
    school_id: str | None,
    csrf: str,
    expires_at: datetime,
    user_agent: str,
    address: str,
) -> None:
    await conn.execute(
        "INSERT INTO sessions (session_hash, account_id, stage, school_id, csrf, expires_at, user_agent, address) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        session_hash,
        account_id,
        stage,
        school_id,
        csrf,
        expires_at,
        user_agent[:200],
        address,
    )


async def live_session(db: Executor, session_hash: bytes, idle: timedelta) -> Session | None:
    """The session, if not ended, not past its absolute end and not idle longer than `idle`; touched."""
    r = await db.fetchrow(
        "UPDATE sessions SET last_seen_at = now() WHERE session_hash = $1 AND ended_at IS NULL "
        "AND expires_at > now() AND last_seen_at > now() - $2::interval RETURNING *",
        session_hash,
        idle,
    )
    return _session(r) if r else None


async def sessions_of(db: Executor, account_id: uuid.UUID) -> list[Session]:
    rows = await db.fetch(
        "SELECT * FROM sessions WHERE account_id = $1 AND ended_at IS NULL AND expires_at > now() "
        "AND stage = 'full' ORDER BY last_seen_at DESC",
        account_id,
    )
    return [_session(r) for r in rows]


async def end_sessions(
    conn: asyncpg.Connection, account_id: uuid.UUID, session_hash: bytes | None = None
) -> list[bytes]:
    """The account's sessions (or one of them) ended; their hashes."""
    rows = await conn.fetch(
        "UPDATE sessions SET ended_at = now() WHERE account_id = $1 AND ended_at IS NULL "
        "AND ($2::bytea IS NULL OR session_hash = $2) RETURNING session_hash",
        account_id,
        session_hash,
    )
    return [bytes(r["session_hash"]) for r in rows]


async def set_session_school(conn: Executor, session_hash: bytes, school_id: str | None) -> None:
    await conn.execute("UPDATE sessions SET school_id = $2 WHERE session_hash = $1", session_hash, school_id)


async def add_session_token(conn: Executor, session_hash: bytes, jti: str, expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO session_tokens (session_hash, jti, expires_at) VALUES ($1, $2, $3)", session_hash, jti, expires_at
    )


@dataclass(frozen=True, kw_only=True)
class Token:
    jti: str
    expires_at: datetime


async def live_tokens(conn: asyncpg.Connection, session_hashes: list[bytes]) -> list[Token]:
    found = await conn.fetch(
        "SELECT jti, expires_at FROM session_tokens WHERE session_hash = ANY($1::bytea[]) AND expires_at > now()",
        session_hashes,
    )
    return rows.rows(Token, found)


# Throttling and audit


async def failures_since(db: Executor, *, account: str, address: str, since: datetime) -> tuple[int, int]:
    r = await db.fetchrow(
        "SELECT count(*) FILTER (WHERE account = $1) AS by_account, count(*) FILTER (WHERE address = $2) AS "
        "by_address FROM sign_in_failures WHERE at > $3 AND (account = $1 OR address = $2)",
        account,
        address,
        since,
    )
    return int(r["by_account"]), int(r["by_address"])


async def last_failure(db: Executor, *, account: str, address: str) -> tuple[datetime | None, datetime | None]:
    r = await db.fetchrow(
        "SELECT max(at) FILTER (WHERE account = $1) AS a, max(at) FILTER (WHERE address = $2) AS b "
        "FROM sign_in_failures WHERE account = $1 OR address = $2",
        account,
        address,
    )
    return r["a"], r["b"]


async def add_failure(db: Executor, *, account: str, address: str) -> None:
    await db.execute("INSERT INTO sign_in_failures (account, address) VALUES ($1, $2)", account, address)


async def clear_failures(db: Executor, account: str) -> None:
    await db.execute("DELETE FROM sign_in_failures WHERE account = $1", account)


async def audit(
    db: Executor,
    *,
    actor: str,
    action: str,
    district_code: str | None = None,
    school_id: str | None = None,
    subject: str = "",
    detail: dict[str, object] | None = None,
) -> None:
    await db.execute(
        "INSERT INTO audit_log (actor, action, district_code, school_id, subject, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
        actor,
        action,
        district_code,
        school_id,
        subject,
        json.dumps(detail or {}, ensure_ascii=False),
    )


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """Who did what to which account or school, and when."""

    at: datetime
    actor: str
    action: str
    district_code: str | None
    school_id: str | None
    subject: str
    detail: dict[str, object]


async def audit_entries(db: Executor, *, district_code: str | None, limit: int) -> list[AuditEntry]:
    found = await db.fetch(
        "SELECT at, actor, action, district_code, school_id, subject, detail FROM audit_log "
        "WHERE ($1::text IS NULL OR district_code = $1) ORDER BY id DESC LIMIT $2",
        district_code,
        limit,
    )
    return [
        AuditEntry(**{**r, "detail": r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"])})
        for r in found
    ]


# OpenID Connect


async def add_oidc_request(
    db: Executor,
    *,
    state: str,
    browser_hash: bytes,
    code_verifier: str,
    nonce: str,
    next_url: str,
    lifetime: timedelta,
) -> None:
    # Requests never answered are cleared as new ones come.
    await db.execute("DELETE FROM oidc_requests WHERE created_at < now() - $1::interval", lifetime)
    await db.execute(
        "INSERT INTO oidc_requests (state, browser_hash, code_verifier, nonce, next) VALUES ($1, $2, $3, $4, $5)",
        state,
        browser_hash,
        code_verifier,
        nonce,
        next_url,
    )


@dataclass(frozen=True, kw_only=True)
class OidcRequest:
    """A sign-in begun at the identity provider: bound to the browser that began it (its cookie's hash)."""

    state: str
    browser_hash: bytes
    code_verifier: str
    nonce: str
    next: str
    created_at: datetime


async def take_oidc_request(db: Executor, state: str, lifetime: timedelta) -> OidcRequest | None:
    """The request of this state, used up (an answer replayed finds nothing); None when unknown or too old."""
    found = await db.fetchrow(
        "DELETE FROM oidc_requests WHERE state = $1 AND created_at > now() - $2::interval RETURNING *", state, lifetime
    )
    return rows.maybe(OidcRequest, found)


async def link_oidc_subject(conn: asyncpg.Connection, account_id: uuid.UUID, person: str) -> bool:
    """The account linked to the provider's person, or already linked to them; False when linked to another
    (or when the person is linked to another account)."""
    current = await conn.fetchval("SELECT oidc_subject FROM accounts WHERE account_id = $1", account_id)
    if current is not None:
        return bool(current == person)
    taken = await conn.fetchval("SELECT 1 FROM accounts WHERE oidc_subject = $1", person)
    if taken:
        return False
    await conn.execute("UPDATE accounts SET oidc_subject = $2 WHERE account_id = $1", account_id, person)
    return True
