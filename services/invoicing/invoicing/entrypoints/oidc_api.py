"""Signing in with the province's identity provider (OpenID Connect): the start, the callback."""

from __future__ import annotations

import html
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from invoicing.adapters import oidc
from invoicing.app import oidc_sign_in
from invoicing.entrypoints.session_auth import (
    Settings,
    client_of,
    policy_of,
    set_session_cookie,
)
from invoicing.settings import InvoicingSettings, origin_of
from shared import pages
from shared.errors import DomainError, NotFound, Unauthorized
from shared.schemas import Out
from shared.service import Runtime

router = APIRouter(tags=["accounts"])


OIDC_COOKIE = "tuition_oidc"


def _provider(settings: InvoicingSettings) -> oidc.Provider:
    if not settings.oidc_issuer:
        raise NotFound("Hệ thống đăng nhập của Sở chưa được cấu hình cho phòng giáo dục này.")
    return oidc.Provider(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        redirect_uri=f"{settings.public_url.rstrip('/')}/auth/oidc/callback",
    )


def safe_next(next_url: str, settings: InvoicingSettings) -> str:
    """Where to go after signing in: a path here, or a page at one of the suite's own origins; else "/dang-nhap"."""
    if next_url.startswith("/") and not next_url.startswith("//") and "\\" not in next_url:
        return next_url
    if urlsplit(next_url).scheme in ("http", "https") and origin_of(next_url) in settings.own_origins():
        return next_url
    return "/dang-nhap"


class OidcOut(Out):
    enabled: bool
    label: str


@router.get("/auth/oidc", summary="Whether the province's identity provider signs people in here")
async def get_oidc(settings: Settings) -> OidcOut:
    return OidcOut(enabled=bool(settings.oidc_issuer), label=settings.oidc_label)


@router.get(
    "/auth/oidc/start",
    summary="Go to the province's identity provider to sign in (authorization code with PKCE)",
    response_class=RedirectResponse,
    status_code=302,
)
async def oidc_start(
    rt: Runtime,
    settings: Settings,
    next: Annotated[str, Query(max_length=2000)] = "/dang-nhap",
) -> RedirectResponse:
    begun = await oidc_sign_in.begin(rt.db(), _provider(settings), safe_next(next, settings))
    response = RedirectResponse(begun.url, status_code=302)
    # Lax: the provider sends the person back by a top-level navigation from its own site.
    response.set_cookie(
        OIDC_COOKIE,
        begun.browser_secret,
        httponly=True,
        secure=settings.public_url.startswith("https://"),
        samesite="lax",
        path="/auth/oidc",
        max_age=600,
    )
    return response


@router.get(
    "/auth/oidc/callback",
    summary="The provider's answer: signed in, and back to the page that asked",
    response_class=RedirectResponse,
    status_code=303,
)
async def oidc_callback(
    request: Request,
    rt: Runtime,
    settings: Settings,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=4000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    address, agent = client_of(request)
    try:
        if error or not code:
            raise Unauthorized("Đăng nhập ở hệ thống của Sở không thành công hoặc đã bị hủy.")
        finished = await oidc_sign_in.finish(
            rt.db(),
            _provider(settings),
            state=state,
            code=code,
            browser_secret=request.cookies.get(OIDC_COOKIE, ""),
            username_claim=settings.oidc_username_claim,
            address=address,
            user_agent=agent,
            policy=policy_of(settings),
        )
    except DomainError as exc:
        return pages.page(_OIDC_FAILED.replace("__MESSAGE__", html.escape(exc.message)), status_code=exc.status)
    response = RedirectResponse(safe_next(finished.next, settings), status_code=303)
    set_session_cookie(response, finished.started, settings)
    response.delete_cookie(OIDC_COOKIE, path="/auth/oidc")
    return response


_OIDC_FAILED = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Không đăng nhập được</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:560px;margin:40px auto;padding:0 16px">
<h1>Không đăng nhập được</h1><p data-testid="oidc-error">__MESSAGE__</p><p><a href="/dang-nhap">Đăng nhập lại</a></p>
</body></html>"""
