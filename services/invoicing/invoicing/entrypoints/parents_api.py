"""The parent's own page (`/phu-huynh`) and its API: a one-time code to the phone on the roster, the session
cookie, every child at every school."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field

from invoicing.app import parents
from invoicing.entrypoints.wiring import message_wiring
from invoicing.settings import InvoicingSettings
from shared import pages
from shared.schemas import Out
from shared.service import Runtime, settings_dependency

router = APIRouter()
Settings = Annotated[InvoicingSettings, Depends(settings_dependency(InvoicingSettings))]
COOKIE = "parent_session"
_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"]))


@router.get("/phu-huynh", response_class=HTMLResponse, include_in_schema=False)
async def parent_page() -> HTMLResponse:
    return pages.page(_env.get_template("parent.html").render())


class PhoneIn(BaseModel):
    phone: str = Field(min_length=9, max_length=20, examples=["0912345678"])


class Said(Out):
    message: str


@router.post("/parent/code", tags=["parents"], status_code=202, summary="A one-time code to the phone on the roster")
async def parent_code(body: PhoneIn, rt: Runtime, settings: Settings) -> Said:
    secret = settings.pseudonym_secret.get_secret_value().encode()
    await parents.request_code(rt.db(), message_wiring(rt), secret, body.phone)
    return Said(message="Nếu số điện thoại có trong danh sách của nhà trường, mã đăng nhập đã được gửi tới số đó.")


class SignInIn(PhoneIn):
    code: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$")


@router.post("/parent/sign-in", tags=["parents"], summary="Sign in with the code: a session cookie for 12 hours")
async def parent_sign_in(body: SignInIn, response: Response, rt: Runtime, settings: Settings) -> Said:
    secret = settings.pseudonym_secret.get_secret_value().encode()
    session = await parents.sign_in(rt.db(), secret, body.phone, body.code)
    response.set_cookie(
        COOKIE,
        session.token,
        httponly=True,
        secure=settings.public_url.startswith("https://"),
        samesite="strict",
        path="/",
        expires=session.expires_at,
    )
    return Said(message="Đã đăng nhập.")


class ParentReceipt(Out):
    number: str | int
    url: str
    issued_at: datetime


class ParentInvoice(Out):
    period: str
    round: str | None
    total: int
    paid: int
    status: str
    due_date: date
    pay_url: str
    receipts: list[ParentReceipt]


class ParentMessage(Out):
    at: datetime
    channel: str | None
    text: str


class Child(Out):
    told: str = Field(description="consented | opted_out | not_asked: the family's choice at this school")
    name: str
    class_name: str
    school: str
    owed: int
    invoices: list[ParentInvoice]
    messages: list[ParentMessage]


class Family(Out):
    children: list[Child]


@router.get("/parent/overview", tags=["parents"], summary="Every child at every school, what is due, receipts")
async def parent_overview(rt: Runtime, settings: Settings, parent_session: str | None = Cookie(default=None)) -> Family:
    secret = settings.pseudonym_secret.get_secret_value().encode()
    family = await parents.overview(rt.db(), secret, parent_session, settings.public_url)
    return Family.model_validate(family, from_attributes=True)


@router.post("/parent/sign-out", tags=["parents"], status_code=204, summary="End the parent's session")
async def parent_sign_out(
    response: Response, rt: Runtime, settings: Settings, parent_session: str | None = Cookie(default=None)
) -> None:
    await parents.sign_out(rt.db(), settings.pseudonym_secret.get_secret_value().encode(), parent_session)
    response.delete_cookie(COOKIE, path="/")


class ChoiceIn(BaseModel):
    consent: bool = Field(description="true: be told by the schools' channels; false: no more messages")


@router.post("/parent/messages", tags=["parents"], status_code=204, summary="Agree to messages, or stop them")
async def parent_choice(
    body: ChoiceIn, rt: Runtime, settings: Settings, parent_session: str | None = Cookie(default=None)
) -> None:
    secret = settings.pseudonym_secret.get_secret_value().encode()
    await parents.choose(rt.db(), secret, parent_session, consent=body.consent)
