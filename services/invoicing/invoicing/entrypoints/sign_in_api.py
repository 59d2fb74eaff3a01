"""Signing in with a user name, a password and an authenticator's code; the session, its tokens, signing out."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from invoicing.app import sign_in
from invoicing.entrypoints.session_auth import (
    COOKIE,
    Settings,
    SignedIn,
    check_request_origin,
    client_of,
    policy_of,
    set_session_cookie,
)
from shared.errors import Forbidden
from shared.schemas import Out
from shared.service import Runtime

router = APIRouter(tags=["accounts"])


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
    address, agent = client_of(request)
    started = await sign_in.sign_in(
        rt.db(),
        username=body.username,
        password=body.password,
        address=address,
        user_agent=agent,
        policy=policy_of(settings),
    )
    set_session_cookie(response, started, settings)
    return Stage(stage=started.stage, csrf=started.csrf)


@router.post("/auth/second-factor", summary="The authenticator's code: a new, signed-in session replaces the first")
async def post_second_factor(
    body: CodeIn, request: Request, response: Response, rt: Runtime, settings: Settings
) -> Stage:
    address, agent = client_of(request)
    check_request_origin(request, settings)
    started = await sign_in.second_factor(
        rt.db(),
        settings.sealer(),
        secret=request.cookies.get(COOKIE, ""),
        code=body.code,
        address=address,
        user_agent=agent,
        policy=policy_of(settings),
    )
    set_session_cookie(response, started, settings)
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
    token, expires = await sign_in.access_token(
        rt.db(), settings.jwt_secret.get_secret_value(), me, policy_of(settings)
    )
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
