"""Signing in with the province's identity provider. The provider says who the person is; the suite's
account with the same user name (`preferred_username`, or the claim the deployment names) says what
they may do, as its district administers it. The first sign-in links the account to the provider's
person (issuer and subject); from then on only that person signs in to it this way. The provider is
responsible for its own second factor (its OTP policy)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from invoicing.adapters import oidc
from invoicing.app.sign_in import SessionPolicy, Started, start_signed_in
from invoicing.stores import accounts_store
from shared.errors import Forbidden, Unauthorized
from shared.logging import get_logger

log = get_logger(__name__)
REQUEST_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class Begun:
    url: str
    browser_secret: str  # set as a cookie: the answer must come back to the browser that asked


@dataclass(frozen=True)
class Finished:
    started: Started
    next: str


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def begin(pool: asyncpg.Pool, provider: oidc.Provider, next_url: str) -> Begun:
    request = await oidc.authorization_request(provider)
    browser = secrets.token_urlsafe(24)
    await accounts_store.add_oidc_request(
        pool,
        state=request.state,
        browser_hash=_hash(browser),
        code_verifier=request.code_verifier,
        nonce=request.nonce,
        next_url=next_url,
        lifetime=REQUEST_LIFETIME,
    )
    return Begun(request.url, browser)


async def finish(
    pool: asyncpg.Pool,
    provider: oidc.Provider,
    *,
    state: str,
    code: str,
    browser_secret: str,
    username_claim: str,
    address: str,
    user_agent: str,
    policy: SessionPolicy,
) -> Finished:
    pending = await accounts_store.take_oidc_request(pool, state, REQUEST_LIFETIME)
    if pending is None or not secrets.compare_digest(bytes(pending.browser_hash), _hash(browser_secret)):
        raise Unauthorized("Yêu cầu đăng nhập đã hết hạn hoặc không phải của trình duyệt này. Hãy đăng nhập lại.")
    claims = await oidc.claims_for_code(provider, code=code, code_verifier=pending.code_verifier, nonce=pending.nonce)
    person = f"{claims['iss']}|{claims['sub']}"
    username = str(claims.get(username_claim, "")).strip().lower()
    async with pool.acquire() as conn, conn.transaction():
        account = await accounts_store.by_username(conn, username) if username else None
        if account is None:
            await accounts_store.audit(
                conn, actor=username or "?", action="sign_in.failed", detail={"why": "oidc_no_account"}
            )
            raise Forbidden(
                f"Tài khoản {username or '(không tên)'} chưa được cấp trong hệ thống thu học phí. "
                "Hãy liên hệ quản trị viên của phòng giáo dục."
            )
        if account.disabled_at is not None:
            raise Forbidden("Tài khoản này đã bị khóa. Hãy liên hệ quản trị viên của phòng giáo dục.")
        if not await accounts_store.link_oidc_subject(conn, account.account_id, person):
            await accounts_store.audit(
                conn,
                actor=username,
                action="sign_in.failed",
                district_code=account.district_code,
                detail={"why": "oidc_other_person"},
            )
            raise Forbidden("Tài khoản này đã gắn với một người khác ở hệ thống đăng nhập của Sở.")
        started = await start_signed_in(conn, account, policy, user_agent, address, via="oidc")
    log.info("invoicing.sign_in.oidc", role=account.role)
    return Finished(started, pending.next)
