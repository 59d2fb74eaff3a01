"""HTTP routes of what the bank says: its reversals read from statements (and the accountant settling an open
one), and its confirmation of the aggregators' webhooks."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from reconciliation.app import confirmations, reversals
from reconciliation.stores import reversals_store
from reconciliation.stores.reversals_store import StoredReversal
from shared.auth import SchoolStaff
from shared.schemas import Out, model_of
from shared.service import Runtime

router = APIRouter()


_REVERSAL = model_of(
    StoredReversal,
    described={
        "line": "where the statement booked it, e.g. 'MT940 dòng 12 (:61:)'",
        "credit_id": "the credit it took back (applied)",
        "state": "applied | open | dismissed",
    },
)


class Reversal(_REVERSAL):  # type: ignore[misc,valid-type]
    """Money the bank took back (a reversal in its statement), and what answers for it."""


class ReversalIn(BaseModel):
    credit_id: uuid.UUID | None = Field(default=None, description="the credit it takes back; none dismisses it")
    note: str = Field(min_length=1, max_length=500)


@router.get(
    "/schools/{school_id}/reversals",
    tags=["exceptions"],
    summary="Banks' reversals of credits read from statements: applied, open (in the queue), dismissed",
)
async def list_reversals(
    school_id: str,
    rt: Runtime,
    _: SchoolStaff,
    state: Literal["applied", "open", "dismissed"] | None = None,
    limit: int = Query(200, ge=1, le=1000),
) -> list[Reversal]:
    rows = await reversals_store.of_school(rt.db(), school_id, state, limit)
    return [Reversal.model_validate(r, from_attributes=True) for r in rows]


@router.post(
    "/schools/{school_id}/reversals/{reversal_id}",
    tags=["exceptions"],
    summary="Settle an open reversal: the credit it takes back, or dismiss it with a note",
)
async def settle_reversal(
    school_id: str, reversal_id: uuid.UUID, body: ReversalIn, rt: Runtime, p: SchoolStaff
) -> Reversal:
    how = reversals.Resolution(credit_id=body.credit_id, note=body.note)
    done = await reversals.resolve_reversal(
        rt.db(), rt.outbox, school_id=school_id, reversal_id=reversal_id, how=how, actor=p.subject
    )
    return Reversal.model_validate(done, from_attributes=True)


class BankCredit(Out):
    credit_id: uuid.UUID
    amount: int
    booked_at: datetime
    memo: str
    state: str


class BankConfirmation(Out):
    account_number: str
    statement_received: bool
    confirmed: int = Field(description="credits both a webhook and the statement brought")
    unconfirmed: list[BankCredit] = Field(description="webhook credits the statement does not contain")
    unconfirmed_amount: int
    unannounced: list[BankCredit] = Field(description="statement credits no webhook announced")
    unannounced_amount: int


@router.get(
    "/schools/{school_id}/close/confirmations",
    tags=["close"],
    summary="The bank confirms the webhooks: credits the day's statement lacks, and those no webhook announced",
)
async def bank_confirmations(
    school_id: str, rt: Runtime, _: SchoolStaff, day: date = Query(alias="date")
) -> list[BankConfirmation]:
    return [
        BankConfirmation.model_validate(c, from_attributes=True)
        for c in await confirmations.confirmations(rt.db(), school_id, day)
    ]
