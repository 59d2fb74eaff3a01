"""The day's close: the credits export, the daily close against the bank, the principal's approval."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from reconciliation.app import close, queries
from shared import exports
from shared.auth import SchoolPrincipal, SchoolReader, SchoolStaff
from shared.schemas import Out, Row, model_of
from shared.service import Runtime

router = APIRouter()


_ACCOUNT_CLOSE = model_of(
    close.AccountClose,
    base=Row,
    described={
        "withdrawn": "cash entries withdrawn as mistakes (counted in ignored)",
        "held": "kept as families' credit balances, not yet applied or refunded",
        "statement_closing_balance": "the bank's closing balance of the day, from an uploaded camt.053 or MT940",
        "open_reversals": "the bank's reversals of the day that no credit answers for yet",
        "statement_received": "a bank statement covers the day: it confirms the webhooks",
        "unconfirmed_by_bank": "webhook credits the day's statement does not contain (forged, or failed at the bank)",
        "not_announced_by_webhook": "statement credits no aggregator's webhook announced",
    },
    more={"difference": int, "balanced": bool},
)


class AccountClose(_ACCOUNT_CLOSE):  # type: ignore[misc,valid-type]
    """One account's close: received = matched + in exceptions + refunded + ignored + held."""


_APPROVAL = model_of(
    close.CloseApproval,
    described={
        "approved_by": "the principal's account",
        "still_holds": "the day's figures are still those approved (false: changed since)",
    },
)


class CloseApproval(_APPROVAL):  # type: ignore[misc,valid-type]
    """The principal's approval of the day."""


class DailyClose(Out):
    school_id: str
    date: date
    accounts: list[AccountClose]
    open_reversals: int
    balanced: bool
    approval: CloseApproval | None = Field(description="the principal's latest approval of the day, if any")


class ApprovalIn(BaseModel):
    day: date = Field(alias="date", description="the day approved (Vietnam's date)")
    note: str = Field("", max_length=300)


@router.get(
    "/schools/{school_id}/exports/credits.{fmt}",
    tags=["close"],
    summary="Credits of a date range as CSV or formatted Excel: all, or those that needed the accountant",
    response_class=Response,
    responses=exports.TABLE_FILES,
)
async def credits_export(
    school_id: str,
    fmt: exports.TableFormat,
    days: exports.DateRange,
    rt: Runtime,
    _: SchoolStaff,
    kind: Literal["all", "exceptions"] = Query("all", description="exceptions: refunds, ignored, corrected, open"),
) -> Response:
    first, last = days
    rows = await queries.credits_export(rt.db(), school_id, first, last, needed_a_person=kind == "exceptions")
    name = f"{'ngoai-le' if kind == 'exceptions' else 'tien-ve'}-{school_id}-{first}-{last}"
    return await exports.table_download(
        queries.CREDITS_HEADER, rows, filename=name, fmt=fmt, title="Tien ve", money=queries.CREDITS_MONEY
    )


@router.get(
    "/schools/{school_id}/close",
    tags=["close"],
    summary="Daily close per account: received = matched + in exceptions + refunded + ignored + held",
)
async def daily_close(school_id: str, rt: Runtime, _: SchoolReader, day: date = Query(alias="date")) -> DailyClose:
    return DailyClose.model_validate(
        await close.daily_close(close.PgCloseBooks(rt.db()), school_id, day), from_attributes=True
    )


@router.post(
    "/schools/{school_id}/close/approval",
    tags=["close"],
    summary="The principal approves a balanced day's close (refused while it does not balance)",
)
async def approve_close(school_id: str, body: ApprovalIn, rt: Runtime, p: SchoolPrincipal) -> DailyClose:
    done = await close.approve(rt.db(), school_id, body.day, by=p.subject, note=body.note.strip())
    return DailyClose.model_validate(done, from_attributes=True)
