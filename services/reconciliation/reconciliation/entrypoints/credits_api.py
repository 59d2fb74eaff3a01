"""The credits a school received, and one credit with its placements and history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import Field

from reconciliation.app import queries
from reconciliation.entrypoints.common import Credit
from shared.auth import SchoolStaff
from shared.schemas import Out
from shared.service import Runtime

router = APIRouter()


class AllocationOut(Out):
    payment_id: uuid.UUID
    invoice_id: uuid.UUID
    amount: int
    reason_code: str
    action_id: uuid.UUID | None
    created_at: datetime
    reversed_at: datetime | None
    student_code: str | None
    student_name: str | None
    class_name: str | None
    period: str | None
    payment_reference: str | None


class SourceOut(Out):
    source_kind: str
    seen_at: datetime


class PlacementOut(Out):
    state: str
    reason_code: str
    allocated: int
    refunded: int
    ignored: int


class ActionOut(Out):
    action_id: uuid.UUID
    credit_id: uuid.UUID
    kind: str
    payload: dict[str, Any] = Field(description="what was asked and done (allocations, amount, reason, …)")
    actor: str
    before: PlacementOut
    after: PlacementOut
    created_at: datetime
    undone_by: uuid.UUID | None
    request_key: str | None
    handled: int


class CreditDetail(Credit):
    allocations: list[AllocationOut]
    sources: list[SourceOut]
    identifiers: list[str]
    actions: list[ActionOut]


@router.get("/schools/{school_id}/credits", tags=["credits"])
async def list_credits(
    school_id: str,
    rt: Runtime,
    _: SchoolStaff,
    state: str | None = None,
    day: date | None = Query(None, alias="date"),
    limit: int = Query(200, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> list[Credit]:
    rows = await queries.list_credits(rt.db(), school_id, state=state, day=day, limit=limit, offset=offset)
    return [Credit.model_validate(r, from_attributes=True) for r in rows]


@router.get("/schools/{school_id}/credits/{credit_id}", tags=["credits"])
async def credit_detail(school_id: str, credit_id: uuid.UUID, rt: Runtime, _: SchoolStaff) -> CreditDetail:
    detail = await queries.credit_detail(rt.db(), school_id, credit_id)
    return CreditDetail.model_validate(detail, from_attributes=True)
