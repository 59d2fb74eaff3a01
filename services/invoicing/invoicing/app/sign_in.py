"""Signing in: a password, then (for those who move money or administer) a TOTP code; a session held here,
known to the browser only by an opaque HttpOnly cookie; short-lived API tokens minted from it.

Every new stage gets a new session secret (no session fixation: a cookie set before signing in never
becomes a signed-in one). Sessions end after `idle` without use and at `absolute` whatever happens; signing
out ends one or all of them, and the API tokens they minted are revoked with them (TokenRevoked reaches
every service).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from invoicing.adapters import credentials
from invoicing.domain.credentials import ACCOUNT_THROTTLE, ADDRESS_THROTTLE, totp_step_accepted
from invoicing.stores import accounts_store
from invoicing.stores.accounts_store import Account, Session
from shared import revocation
from shared.auth import Role, decode_token, mint_token
from shared.errors import Forbidden, Invalid, TooManyAttempts, Unauthorized
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from shared.logging import get_logger
from shared.sealed import Sealer
from tuition.auth.v1.events_pb2 import TokenRevoked

log = get_logger(__name__)

# Roles that move or reverse money, and administrators: a second factor is required.
SECOND_FACTOR_ROLES = frozenset({"accountant", "district_admin", "province_admin"})
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    # A password accepted waits this long for its code.
    second_factor: timedelta = timedelta(minutes=5)
    token_ttl_s: int = 600


@dataclass(frozen=True)
class Started:
    """A session begun: the cookie's secret (only ever sent in the Set-Cookie header) and what the page needs."""

    secret: str
    csrf: str
    stage: str


@dataclass(frozen=True)
class Current:
    session: Session
    account: Account


def session_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _wait(last_failure: datetime | None, wait: timedelta, now: datetime) -> timedelta:
    """What is left of the wait that began at the last failure."""
    return last_failure + wait - now if last_failure is not None else timedelta(0)


async def _throttled(pool: asyncpg.Pool, username: str, address: str) -> None:
    now = datetime.now(UTC)
    by_account, by_address = await accounts_store.failures_since(
        pool, account=username, address=address, since=now - ACCOUNT_THROTTLE.window
    )
    last_account, last_address = await accounts_store.last_failure(pool, account=username, address=address)
    wait = max(
        _wait(last_account, ACCOUNT_THROTTLE.wait_after(by_account), now),
        _wait(last_address, ADDRESS_THROTTLE.wait_after(by_address), now),
    )
    if wait > timedelta(0):
        seconds = int(wait.total_seconds()) + 1
        raise TooManyAttempts(
            f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {seconds} giây.", retry_after_s=seconds
        )


async def _failed(pool: asyncpg.Pool, username: str, address: str, account: Account | None, why: str) -> None:
    await accounts_store.add_failure(pool, account=username, address=address)
    await accounts_store.audit(
        pool,
        actor=username,
        action="sign_in.failed",
        district_code=account.district_code if account else None,
        detail={"why": why, "address": address},
    )
    log.info("invoicing.sign_in.failed", why=why)


async def _start(
    conn: asyncpg.Connection, account: Account, stage: str, policy: SessionPolicy, user_agent: str, address: str
) -> Started:
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    lasts = policy.second_factor if stage == "password" else policy.absolute
    await accounts_store.add_session(
        conn,
        session_hash=session_hash(secret),
        account_id=account.account_id,
        stage=stage,
        school_id=account.schools[0] if account.schools else None,
        csrf=csrf,
        expires_at=datetime.now(UTC) + lasts,
        user_agent=user_agent,
        address=address,
    )
    return Started(secret, csrf, stage)


async def sign_in(
    pool: asyncpg.Pool,
    *,
    username: str,
    password: str,
    address: str,
    user_agent: str,
    policy: SessionPolicy,
) -> Started:
    username = username.strip().lower()[:64]
    await _throttled(pool, username, address)
    account = await accounts_store.by_username(pool, username)
    ok = await credentials.verify_password(account.password_hash if account else None, password)
    if account is None or not ok:
        await _failed(pool, username, address, account, "password")
        raise Unauthorized(WRONG)
    if account.disabled_at is not None:
        await _failed(pool, username, address, account, "disabled")
        raise Forbidden("Tài khoản này đã bị khóa. Hãy liên hệ quản trị viên của phòng giáo dục.")
    needs_code = account.role in SECOND_FACTOR_ROLES or account.totp_secret is not None
    async with pool.acquire() as conn, conn.transaction():
        await accounts_store.clear_failures(conn, username)
        if account.password_hash and credentials.needs_rehash(account.password_hash):
            await accounts_store.set_password_hash(conn, account.account_id, await credentials.hash_password(password))
        started = await _start(conn, account, "password" if needs_code else "full", policy, user_agent, address)
        if not needs_code:
            await _audit_signed_in(conn, account, address)
    return started


async def second_factor(
    pool: asyncpg.Pool, sealer: Sealer, *, secret: str, code: str, address: str, user_agent: str, policy: SessionPolicy
) -> Started:
    """The code of a session whose password was accepted: a new, signed-in session replaces it."""
    pending = await accounts_store.live_session(pool, session_hash(secret), policy.second_factor)
    if pending is None or pending.stage != "password":
        raise Unauthorized("Phiên đăng nhập đã hết hạn. Hãy nhập lại mật khẩu.")
    async with pool.acquire() as conn, conn.transaction():
        account = await accounts_store.by_id(conn, pending.account_id, lock=True)
        assert account is not None
        await _throttled(pool, account.username, address)
        step = credentials.totp_step(sealer.open(account.totp_secret), code) if account.totp_secret else None
        if step is None or not totp_step_accepted(step, account.totp_last_step):
            why = "totp_reused" if step is not None else "totp"
            await _failed(pool, account.username, address, account, why)
            if step is not None:
                raise Unauthorized("Mã xác thực này đã được dùng. Hãy chờ mã tiếp theo trong ứng dụng.")
            raise Unauthorized("Mã xác thực không đúng.")
        await accounts_store.use_totp_step(conn, account.account_id, step)
        await accounts_store.end_sessions(conn, account.account_id, pending.session_hash)
        started = await _start(conn, account, "full", policy, user_agent, address)
        await _audit_signed_in(conn, account, address)
    return started


async def start_signed_in(
    conn: asyncpg.Connection, account: Account, policy: SessionPolicy, user_agent: str, address: str, *, via: str
) -> Started:
    """A signed-in session begun for an account another way has vouched for (the province's provider)."""
    started = await _start(conn, account, "full", policy, user_agent, address)
    await _audit_signed_in(conn, account, address, via=via)
    return started


async def _audit_signed_in(conn: asyncpg.Connection, account: Account, address: str, *, via: str = "password") -> None:
    await accounts_store.audit(
        conn,
        actor=account.username,
        action="sign_in",
        district_code=account.district_code,
        detail={"address": address, "via": via},
    )
    log.info("invoicing.sign_in.done", role=account.role)


async def current(pool: asyncpg.Pool, secret: str | None, policy: SessionPolicy) -> Current | None:
    """The signed-in session of this secret, if it is live and its account active."""
    if not secret:
        return None
    session = await accounts_store.live_session(pool, session_hash(secret), policy.idle)
    if session is None or session.stage != "full":
        return None
    account = await accounts_store.by_id(pool, session.account_id)
    if account is None or account.disabled_at is not None:
        return None
    return Current(session, account)


def token_scope(account: Account, school_id: str | None) -> dict[str, str]:
    if account.role == "accountant":
        if school_id is None:
            raise Forbidden("Tài khoản chưa được giao trường nào.")
        return {"role": Role.ACCOUNTANT, "school": school_id}
    if account.role == "principal":
        if school_id is None:
            raise Forbidden("Tài khoản chưa được giao trường nào.")
        return {"role": Role.PRINCIPAL, "school": school_id}
    if account.role in ("district", "district_admin") and account.district_code:
        return {"role": Role.DISTRICT, "district": account.district_code}
    if account.role == "auditor" and account.district_code:
        return {"role": Role.AUDITOR, "district": account.district_code}
    raise Forbidden("Tài khoản quản trị tỉnh không dùng dữ liệu của trường.")


async def access_token(pool: asyncpg.Pool, jwt_secret: str, me: Current, policy: SessionPolicy) -> tuple[str, int]:
    """A short-lived API token for the session's scope; revoked with the session."""
    token = mint_token(
        jwt_secret,
        subject=me.account.username,
        ttl_seconds=policy.token_ttl_s,
        **token_scope(me.account, me.session.school_id),  # type: ignore[arg-type]
    )
    claims = decode_token(jwt_secret, token)
    await accounts_store.add_session_token(
        pool, me.session.session_hash, claims.jti, datetime.fromtimestamp(claims.expires_at, UTC)
    )
    return token, claims.expires_at


async def switch_school(pool: asyncpg.Pool, me: Current, school_id: str) -> None:
    if school_id not in me.account.schools:
        raise Forbidden(f"Tài khoản không được giao trường {school_id}.")
    await accounts_store.set_session_school(pool, me.session.session_hash, school_id)
    await accounts_store.audit(
        pool,
        actor=me.account.username,
        action="school.switched",
        district_code=me.account.district_code,
        school_id=school_id,
    )


async def sign_out(
    pool: asyncpg.Pool, outbox: Outbox, revocations: revocation.RevocationList, me: Current, *, everywhere: bool
) -> int:
    async with pool.acquire() as conn, conn.transaction():
        ended = await end_and_revoke(
            conn, outbox, revocations, me.account.account_id, None if everywhere else me.session.session_hash
        )
        await accounts_store.audit(
            conn,
            actor=me.account.username,
            action="sign_out.everywhere" if everywhere else "sign_out",
            district_code=me.account.district_code,
        )
    return ended


async def end_session(
    pool: asyncpg.Pool, outbox: Outbox, revocations: revocation.RevocationList, me: Current, which: bytes
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        if not await end_and_revoke(conn, outbox, revocations, me.account.account_id, which):
            raise Invalid("Không có phiên đăng nhập này.")


async def end_and_revoke(
    conn: asyncpg.Connection,
    outbox: Outbox,
    revocations: revocation.RevocationList,
    account_id: uuid.UUID,
    which: bytes | None,
) -> int:
    """Sessions ended (one, or all of the account's) and the API tokens they minted revoked everywhere."""
    ended = await accounts_store.end_sessions(conn, account_id, which)
    for token in await accounts_store.live_tokens(conn, ended):
        expires = int(token.expires_at.timestamp())
        if await revocation.record(conn, token.jti, expires, "signed out"):
            event = TokenRevoked(jti=token.jti, expires_at=expires, reason="signed out", revoked_by="invoicing")
            await outbox.add(conn, Topic.AUTH, event, aggregate_id=token.jti)
        revocations.add(token.jti)
    return len(ended)
