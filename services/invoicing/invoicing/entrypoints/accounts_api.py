"""Accounts and their one-time links (invitation, reset), administered by the province's and districts'
administrators; the audit log."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from invoicing.app import accounts
from invoicing.app.accounts import NewAccount
from invoicing.entrypoints.session_auth import (
    AdminCaller,
    Settings,
)
from invoicing.settings import InvoicingSettings
from invoicing.stores import accounts_store
from invoicing.stores.accounts_store import Account
from shared import qr
from shared.schemas import Out, files, model_of
from shared.service import Runtime

router = APIRouter(tags=["accounts"])


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


_AUDIT = model_of(accounts_store.AuditEntry)


class AuditEntry(_AUDIT):  # type: ignore[misc,valid-type]
    """Who did what to which account or school, and when."""


@router.get("/audit", summary="Sign-ins, failures, account and scope changes of the administrator's scope")
async def get_audit(
    admin: AdminCaller, rt: Runtime, limit: Annotated[int, Query(ge=1, le=10_000)] = 500
) -> list[AuditEntry]:
    return [AuditEntry.model_validate(r, from_attributes=True) for r in await accounts.audit_log(rt.db(), admin, limit)]


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
                r.at.isoformat(),
                r.actor,
                r.action,
                r.district_code,
                r.school_id,
                r.subject,
                json.dumps(r.detail, ensure_ascii=False),
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="nhat-ky.csv"'},
    )


# The province's identity provider (OpenID Connect)
