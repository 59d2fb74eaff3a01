"""Signing in and administering accounts (HTTP). A browser holds only the session cookie (HttpOnly,
SameSite=Strict, Secure where the service is served over https); every state-changing request made with it
carries the session's CSRF token in `X-CSRF-Token` and, when the browser sends one, an `Origin` of the
suite's own. API clients and the other services keep bearer tokens; the pages get short-lived ones from
`POST /auth/token` and keep them in memory, never in a URL."""

from __future__ import annotations

import csv
import hmac
import html
import io
import json
import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from invoicing.adapters import oidc
from invoicing.app import accounts, oidc_sign_in, sign_in
from invoicing.app.accounts import Admin, NewAccount
from invoicing.app.sign_in import Current, SessionPolicy
from invoicing.settings import InvoicingSettings, origin_of
from invoicing.stores.accounts_store import Account
from shared import pages, qr
from shared.auth import Principal, Role, authenticate
from shared.errors import DomainError, Forbidden, NotFound, Unauthorized
from shared.schemas import Out, files
from shared.service import Runtime, settings_dependency

router = APIRouter(tags=["accounts"])
Settings = Annotated[InvoicingSettings, Depends(settings_dependency(InvoicingSettings))]
COOKIE = "tuition_session"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def _policy(settings: InvoicingSettings) -> SessionPolicy:
    return SessionPolicy(
        idle=settings.session_idle, absolute=settings.session_absolute, token_ttl_s=settings.page_token_ttl_s
    )


def _client(request: Request) -> tuple[str, str]:
    return (request.client.host if request.client else "?"), request.headers.get("user-agent", "")[:200]


def _check_request_origin(request: Request, settings: InvoicingSettings) -> None:
    """A cookie-carrying request that changes state must come from the suite's own pages."""
    origin = request.headers.get("origin")
    if origin is not None and origin not in settings.own_origins():
        raise Forbidden("Yêu cầu đến từ trang khác, không được chấp nhận.")


async def _signed_in(request: Request, rt: Runtime, settings: Settings) -> Current:
    me = await sign_in.current(rt.db(), request.cookies.get(COOKIE), _policy(settings))
    if me is None:
        raise Unauthorized("Bạn chưa đăng nhập, hoặc phiên đăng nhập đã hết hạn.")
    if request.method not in SAFE:
        _check_request_origin(request, settings)
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


def _set_cookie(response: Response, started: sign_in.Started, settings: InvoicingSettings) -> None:
    response.set_cookie(
        COOKIE,
        started.secret,
        httponly=True,
        secure=settings.public_url.startswith("https://"),
        samesite="strict",
        path="/",
        max_age=int(settings.session_absolute.total_seconds()),
    )


class SignInIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class CodeIn(BaseModel):
    code: str = Field(max_length=12)


class Stage(Out):
    stage: str = Field(description='"password": send the authenticator code next; "full": signed in')
    csrf: str = Field(description="send it as X-CSRF-Token with every request that changes something")


@router.post("/auth/sign-in", summary="Sign in with a user name and password (then a TOTP code where required)")
async def post_sign_in(body: SignInIn, request: Request, response: Response, rt: Runtime, settings: Settings) -> Stage:
    address, agent = _client(request)
    started = await sign_in.sign_in(
        rt.db(),
        username=body.username,
        password=body.password,
        address=address,
        user_agent=agent,
        policy=_policy(settings),
    )
    _set_cookie(response, started, settings)
    return Stage(stage=started.stage, csrf=started.csrf)


@router.post("/auth/second-factor", summary="The authenticator's code: a new, signed-in session replaces the first")
async def post_second_factor(
    body: CodeIn, request: Request, response: Response, rt: Runtime, settings: Settings
) -> Stage:
    address, agent = _client(request)
    _check_request_origin(request, settings)
    started = await sign_in.second_factor(
        rt.db(),
        settings.sealer(),
        secret=request.cookies.get(COOKIE, ""),
        code=body.code,
        address=address,
        user_agent=agent,
        policy=_policy(settings),
    )
    _set_cookie(response, started, settings)
    return Stage(stage=started.stage, csrf=started.csrf)


class SessionOut(Out):
    username: str
    display_name: str
    role: str
    district_code: str | None
    schools: list[str]
    school_id: str | None = Field(description="the school the workspace works on now")
    csrf: str
    expires_at: datetime


@router.get("/auth/session", summary="Who is signed in, on which school, and the session's CSRF token")
async def get_session(me: SignedIn) -> SessionOut:
    a = me.account
    return SessionOut(
        username=a.username,
        display_name=a.display_name,
        role=a.role,
        district_code=a.district_code,
        schools=list(a.schools),
        school_id=me.session.school_id,
        csrf=me.session.csrf,
        expires_at=me.session.expires_at,
    )


class TokenOut(Out):
    token: str
    expires_at: int


@router.post("/auth/token", summary="A short-lived API token for the session's school or district (kept in memory)")
async def post_token(me: SignedIn, rt: Runtime, settings: Settings) -> TokenOut:
    token, expires = await sign_in.access_token(rt.db(), settings.jwt_secret.get_secret_value(), me, _policy(settings))
    return TokenOut(token=token, expires_at=expires)


class SchoolIn(BaseModel):
    school_id: str = Field(max_length=100)


@router.post("/auth/school", summary="Work on another of the account's schools")
async def post_school(body: SchoolIn, me: SignedIn, rt: Runtime) -> dict[str, str]:
    await sign_in.switch_school(rt.db(), me, body.school_id)
    return {"school_id": body.school_id}


class SessionRow(Out):
    id: str
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    address: str
    current: bool


@router.get("/auth/sessions", summary="The account's active sessions")
async def get_sessions(me: SignedIn, rt: Runtime) -> list[SessionRow]:
    from invoicing.stores import accounts_store

    return [
        SessionRow(
            id=s.session_hash.hex()[:32],
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            user_agent=s.user_agent,
            address=s.address,
            current=s.session_hash == me.session.session_hash,
        )
        for s in await accounts_store.sessions_of(rt.db(), me.account.account_id)
    ]


@router.delete("/auth/sessions/{session_id}", summary="End one of the account's sessions")
async def delete_session(session_id: str, me: SignedIn, rt: Runtime) -> dict[str, bool]:
    from invoicing.stores import accounts_store

    match = [
        s.session_hash
        for s in await accounts_store.sessions_of(rt.db(), me.account.account_id)
        if s.session_hash.hex()[:32] == session_id
    ]
    if not match:
        raise Forbidden("Không có phiên đăng nhập này.")
    await sign_in.end_session(rt.db(), rt.outbox, rt.revocations, me, match[0])
    return {"ended": True}


class Ended(Out):
    ended: int = Field(description="how many sessions ended")


@router.post("/auth/sign-out", summary="Sign out (with everywhere=true: every session of the account)")
async def post_sign_out(me: SignedIn, rt: Runtime, response: Response, everywhere: bool = False) -> Ended:
    ended = await sign_in.sign_out(rt.db(), rt.outbox, rt.revocations, me, everywhere=everywhere)
    response.delete_cookie(COOKIE, path="/")
    return Ended(ended=ended)


# Invitations and resets: the secret travels in the link's fragment (#...), which browsers never send.


class LinkIn(BaseModel):
    secret: str = Field(max_length=100)


class LinkOpened(Out):
    username: str
    display_name: str
    purpose: str
    totp_secret: str | None = Field(description="to type into the authenticator app when the QR cannot be scanned")
    totp_uri: str | None
    totp_qr_svg: str | None = Field(description="the otpauth URI as a QR code (SVG) for the authenticator app")


class AcceptIn(LinkIn):
    password: str = Field(max_length=1024)
    totp_code: str = Field(default="", max_length=12)


@router.post("/auth/links/open", summary="An invitation or reset link opened: the account and its authenticator secret")
async def post_open_link(body: LinkIn, rt: Runtime, settings: Settings) -> LinkOpened:
    opened = await accounts.open_link(rt.db(), settings.sealer(), body.secret)
    return LinkOpened(**opened.__dict__, totp_qr_svg=qr.svg(opened.totp_uri) if opened.totp_uri else None)


@router.post("/auth/links/accept", summary="Set the password (and the authenticator) with an invitation or reset link")
async def post_accept_link(body: AcceptIn, rt: Runtime, settings: Settings) -> dict[str, str]:
    username = await accounts.accept_link(rt.db(), settings.sealer(), body.secret, body.password, body.totp_code)
    return {"username": username}


# Administration


class AccountIn(BaseModel):
    username: str = Field(max_length=64)
    display_name: str = Field(max_length=200)
    role: str = Field(
        max_length=32, description="province_admin, district_admin, district, accountant, principal, auditor"
    )
    district_code: str | None = Field(default=None, max_length=64)
    schools: list[str] = Field(default_factory=list, max_length=100)


class AccountOut(Out):
    account_id: uuid.UUID
    username: str
    display_name: str
    role: str
    district_code: str | None
    schools: list[str]
    disabled: bool
    invited: bool = Field(description="the invitation has not been accepted yet")


class LinkOut(Out):
    account_id: uuid.UUID
    username: str
    link: str = Field(description="one-time, give it to the person only; it expires")
    expires_at: datetime


def _account_out(a: Account) -> AccountOut:
    return AccountOut(
        account_id=a.account_id,
        username=a.username,
        display_name=a.display_name,
        role=a.role,
        district_code=a.district_code,
        schools=list(a.schools),
        disabled=a.disabled_at is not None,
        invited=a.password_hash is None,
    )


def _link_out(invited: accounts.Invited, settings: InvoicingSettings) -> LinkOut:
    return LinkOut(
        account_id=invited.account_id,
        username=invited.username,
        link=f"{settings.public_url.rstrip('/')}/tai-khoan/moi#{invited.link_secret}",
        expires_at=invited.expires_at,
    )


@router.get("/accounts", summary="Accounts this administrator manages")
async def get_accounts(admin: AdminCaller, rt: Runtime) -> list[AccountOut]:
    return [_account_out(a) for a in await accounts.listed(rt.db(), admin)]


@router.post("/accounts", summary="Create an account and its one-time invitation link (72 hours)")
async def post_account(body: AccountIn, admin: AdminCaller, rt: Runtime, settings: Settings) -> LinkOut:
    new = NewAccount(body.username, body.display_name, body.role, body.district_code, tuple(body.schools))
    return _link_out(await accounts.create(rt.db(), admin, new), settings)


@router.post("/accounts/{account_id}/disable", summary="Disable an account: its sessions end at once")
async def post_disable(account_id: uuid.UUID, admin: AdminCaller, rt: Runtime) -> dict[str, bool]:
    await accounts.set_disabled(rt.db(), rt.outbox, rt.revocations, admin, account_id, disabled=True)
    return {"disabled": True}


@router.post("/accounts/{account_id}/enable", summary="Enable a disabled account again")
async def post_enable(account_id: uuid.UUID, admin: AdminCaller, rt: Runtime) -> dict[str, bool]:
    await accounts.set_disabled(rt.db(), rt.outbox, rt.revocations, admin, account_id, disabled=False)
    return {"disabled": False}


class SchoolsIn(BaseModel):
    schools: list[str] = Field(max_length=100)


@router.put("/accounts/{account_id}/schools", summary="The schools an accountant works for")
async def put_schools(account_id: uuid.UUID, body: SchoolsIn, admin: AdminCaller, rt: Runtime) -> dict[str, list[str]]:
    await accounts.set_schools(rt.db(), admin, account_id, body.schools)
    return {"schools": body.schools}


@router.post("/accounts/{account_id}/reset", summary="A one-time link to set a new password and authenticator")
async def post_reset(account_id: uuid.UUID, admin: AdminCaller, rt: Runtime, settings: Settings) -> LinkOut:
    return _link_out(await accounts.reset(rt.db(), admin, account_id), settings)


class AuditEntry(Out):
    at: datetime
    actor: str
    action: str
    district_code: str | None
    school_id: str | None
    subject: str
    detail: dict[str, Any]


@router.get("/audit", summary="Sign-ins, failures, account and scope changes of the administrator's scope")
async def get_audit(
    admin: AdminCaller, rt: Runtime, limit: Annotated[int, Query(ge=1, le=10_000)] = 500
) -> list[AuditEntry]:
    rows = await accounts.audit_log(rt.db(), admin, limit)
    return [
        AuditEntry.model_validate(
            {**dict(r), "detail": r["detail"] if isinstance(r["detail"], dict) else json.loads(r["detail"])}
        )
        for r in rows
    ]


@router.get(
    "/audit.csv",
    summary="The audit log of the administrator's scope, as CSV (UTF-8 with BOM, for Excel)",
    response_class=Response,
    responses=files("text/csv", description="one line per entry, newest first"),
)
async def get_audit_csv(
    admin: AdminCaller, rt: Runtime, limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000
) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "actor", "action", "district_code", "school_id", "subject", "detail"])
    for r in await accounts.audit_log(rt.db(), admin, limit):
        writer.writerow(
            [
                r["at"].isoformat(),
                r["actor"],
                r["action"],
                r["district_code"],
                r["school_id"],
                r["subject"],
                r["detail"],
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="nhat-ky.csv"'},
    )


# The province's identity provider (OpenID Connect)

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
    address, agent = _client(request)
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
            policy=_policy(settings),
        )
    except DomainError as exc:
        return pages.page(_OIDC_FAILED.replace("__MESSAGE__", html.escape(exc.message)), status_code=exc.status)
    response = RedirectResponse(safe_next(finished.next, settings), status_code=303)
    _set_cookie(response, finished.started, settings)
    response.delete_cookie(OIDC_COOKIE, path="/auth/oidc")
    return response


_OIDC_FAILED = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Không đăng nhập được</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:560px;margin:40px auto;padding:0 16px">
<h1>Không đăng nhập được</h1><p data-testid="oidc-error">__MESSAGE__</p><p><a href="/dang-nhap">Đăng nhập lại</a></p>
</body></html>"""
