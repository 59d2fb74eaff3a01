"""HTTP routes of banks' reversals: those read from statements, and the accountant settling an open one."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from reconciliation.app import reversals
from reconciliation.stores import reversals_store
from shared.auth import SchoolStaff
from shared.schemas import Out
from shared.service import Runtime

router = APIRouter()


class Reversal(Out):
    reversal_id: uuid.UUID
    statement_id: uuid.UUID
    account_number: str
    amount: int
    value_date: date
    identifiers: list[str]
    memo: str
    line: str = Field(description="where the statement booked it, e.g. 'MT940 dòng 12 (:61:)'")
    credit_id: uuid.UUID | None = Field(description="the credit it took back (applied)")
    state: Literal["applied", "open", "dismissed"]
    resolved_by: str | None
    note: str


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
