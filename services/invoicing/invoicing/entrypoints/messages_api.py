"""HTTP API of the messages to parents: the log the accountant reads, the school's choices, reminders stopped
for a pupil, a guardian's opt-out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from invoicing.app import messages
from shared.auth import SchoolStaff
from shared.errors import Invalid, NotFound
from shared.schemas import Out
from shared.service import Runtime

router = APIRouter()

ChannelLiteral = Literal["zalo", "sms", "email"]


class MessageTry(Out):
    channel: str
    outcome: str = Field(description="sent | retry (later, same channel) | next (channel unavailable) | undeliverable")
    code: str
    detail: str
    at: str


class MessageOut(Out):
    message_id: uuid.UUID
    kind: str = Field(description="invoice | payment | reminder")
    status: str = Field(description="queued | sending | sent | failed | skipped")
    channel: str | None
    channels: list[str] = Field(description="the channels still to try, in order")
    attempts: int
    recipient: str = Field(description="masked: 091****678, n***@example.vn")
    cost: int
    last_error: str | None
    tries: list[MessageTry]
    text: str
    invoice_id: uuid.UUID | None
    student_code: str
    full_name: str
    class_name: str
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime


@router.get("/schools/{school_id}/messages", tags=["messages"], summary="Messages to parents, newest first")
async def message_log(
    school_id: str,
    rt: Runtime,
    _: SchoolStaff,
    invoice_id: uuid.UUID | None = None,
    student: str | None = Query(None, max_length=100, description="a pupil's code or name"),
    channel: ChannelLiteral | None = None,
    status: Literal["queued", "sending", "sent", "failed", "skipped"] | None = None,
    since: date | None = None,
    limit: int = Query(200, ge=1, le=2000),
) -> list[MessageOut]:
    which = messages.LogFilter(
        invoice_id=invoice_id, student=student, channel=channel, status=status, since=since, limit=limit
    )
    rows = await messages.log_of(rt.db(), school_id, which)
    return [MessageOut.model_validate(r, from_attributes=True) for r in rows]


class ChannelMonth(Out):
    channel: str
    messages: int
    cost: int


class MonthSummary(Out):
    month: str
    messages: int = Field(description="messages sent this month")
    cost: int = Field(description="what they cost, đồng")
    cap: int = Field(description="the school's monthly cap, đồng")
    by_channel: list[ChannelMonth]


@router.get("/schools/{school_id}/messages/summary", tags=["messages"], summary="This month's messages and cost")
async def message_month(school_id: str, rt: Runtime, _: SchoolStaff) -> MonthSummary:
    return MonthSummary.model_validate(await messages.month_summary(rt.db(), school_id), from_attributes=True)


class MessageSettings(BaseModel):
    channels: list[ChannelLiteral] = Field(min_length=1, max_length=3, description="tried in this order")
    remind_days_before: int = Field(ge=0, le=30)
    remind_every_days: int = Field(ge=1, le=60, description="after the due date, a reminder every so many days")
    max_reminders: int = Field(ge=0, le=10, description="0: no reminders")
    monthly_cap: int = Field(ge=0, le=1_000_000_000, description="đồng a month the school spends on messages at most")
    stopped_classes: list[str] = Field(default=[], max_length=200, description="classes not reminded")


@router.get("/schools/{school_id}/message-settings", tags=["messages"], summary="The school's channels and reminders")
async def get_message_settings(school_id: str, rt: Runtime, _: SchoolStaff) -> MessageSettings:
    return MessageSettings.model_validate(await messages.settings(rt.db(), school_id), from_attributes=True)


@router.put("/schools/{school_id}/message-settings", tags=["messages"], status_code=204)
async def put_message_settings(school_id: str, body: MessageSettings, rt: Runtime, p: SchoolStaff) -> None:
    if len(set(body.channels)) != len(body.channels):
        raise Invalid("Mỗi kênh chỉ chọn một lần.")
    await messages.save_settings(rt.db(), school_id, messages.MessageSettings(**body.model_dump()), by=p.subject)


class RemindersIn(BaseModel):
    stopped: bool


@router.put(
    "/schools/{school_id}/students/{code}/reminders",
    tags=["messages"],
    status_code=204,
    summary="Stop (or resume) reminders for a pupil",
)
async def pupil_reminders(school_id: str, code: str, body: RemindersIn, rt: Runtime, _: SchoolStaff) -> None:
    if not await messages.stop_reminders(rt.db(), school_id, code, body.stopped):
        raise NotFound(f"Không có học sinh mã {code!r} ở trường này.")


class OptOutIn(BaseModel):
    source: str = Field(min_length=1, max_length=200, description="how the guardian asked (letter, call, visit)")


@router.post(
    "/schools/{school_id}/students/{code}/opt-out",
    tags=["messages"],
    status_code=204,
    summary="The pupil's guardian asked for no more messages (recorded with how they asked)",
)
async def guardian_opt_out(school_id: str, code: str, body: OptOutIn, rt: Runtime, p: SchoolStaff) -> None:
    await messages.opt_out(rt.db(), school_id, code, by=p.subject, source=body.source)


@router.post(
    "/schools/{school_id}/students/{code}/consent",
    tags=["messages"],
    status_code=204,
    summary="The pupil's guardian agreed to be told (recorded with how: a signed form, a meeting)",
)
async def guardian_consent(school_id: str, code: str, body: OptOutIn, rt: Runtime, p: SchoolStaff) -> None:
    await messages.consent(rt.db(), school_id, code, by=p.subject, source=body.source)
