"""Signing in (HTTP): what the sign-in, account and identity-provider routes share. A browser holds only the
session cookie (HttpOnly, SameSite=Strict, Secure where the service is served over https); every
state-changing request made with it carries the session's CSRF token in `X-CSRF-Token` and, when the browser
sends one, an `Origin` of the suite's own. API clients and the other services keep bearer tokens; the pages
get short-lived ones from `POST /auth/token` and keep them in memory, never in a URL."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from invoicing.app import sign_in
from invoicing.app.accounts import Admin
from invoicing.app.sign_in import Current, SessionPolicy
from invoicing.settings import InvoicingSettings
from shared.auth import Principal, Role, authenticate
from shared.errors import Forbidden, Unauthorized
from shared.service import Runtime, settings_dependency

Settings = Annotated[InvoicingSettings, Depends(settings_dependency(InvoicingSettings))]
COOKIE = "tuition_session"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def policy_of(settings: InvoicingSettings) -> SessionPolicy:
    return SessionPolicy(
        idle=settings.session_idle, absolute=settings.session_absolute, token_ttl_s=settings.page_token_ttl_s
    )


def client_of(request: Request) -> tuple[str, str]:
    return (request.client.host if request.client else "?"), request.headers.get("user-agent", "")[:200]


def check_request_origin(request: Request, settings: InvoicingSettings) -> None:
    """A cookie-carrying request that changes state must come from the suite's own pages."""
    origin = request.headers.get("origin")
    if origin is not None and origin not in settings.own_origins():
        raise Forbidden("Yêu cầu đến từ trang khác, không được chấp nhận.")


async def _signed_in(request: Request, rt: Runtime, settings: Settings) -> Current:
    me = await sign_in.current(rt.db(), request.cookies.get(COOKIE), policy_of(settings))
    if me is None:
        raise Unauthorized("Bạn chưa đăng nhập, hoặc phiên đăng nhập đã hết hạn.")
    if request.method not in SAFE:
        check_request_origin(request, settings)
        sent = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent.encode(), me.session.csrf.encode()):
            raise Forbidden("Thiếu hoặc sai mã chống giả mạo (CSRF). Hãy tải lại trang.")
    return me


SignedIn = Annotated[Current, Depends(_signed_in)]


async def _admin(request: Request, rt: Runtime, settings: Settings) -> Admin:
    """A signed-in account, or the operator with a service token."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        principal: Principal = await authenticate(request, header[7:].strip())
        if principal.role is not Role.SERVICE:
            raise Forbidden("Quản lý tài khoản cần đăng nhập (hoặc mã dịch vụ của người vận hành).")
        return Admin(principal.subject, None)
    me = await _signed_in(request, rt, settings)
    return Admin(me.account.username, me.account)


AdminCaller = Annotated[Admin, Depends(_admin)]


def set_session_cookie(response: Response, started: sign_in.Started, settings: InvoicingSettings) -> None:
    response.set_cookie(
        COOKIE,
        started.secret,
        httponly=True,
        secure=settings.public_url.startswith("https://"),
        samesite="strict",
        path="/",
        max_age=int(settings.session_absolute.total_seconds()),
    )
