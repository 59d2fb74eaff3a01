"""The credits a school received, and one credit with its placements and history."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Query

from reconciliation.app import queries
from reconciliation.entrypoints.common import Credit
from shared.auth import SchoolStaff
from shared.service import Runtime

router = APIRouter()


class CreditDetail(Credit):
    allocations: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    identifiers: list[str]
    actions: list[dict[str, Any]]


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
    return [Credit(**r) for r in rows]


@router.get("/schools/{school_id}/credits/{credit_id}", tags=["credits"])
async def credit_detail(school_id: str, credit_id: uuid.UUID, rt: Runtime, _: SchoolStaff) -> CreditDetail:
    return CreditDetail(**await queries.credit_detail(rt.db(), school_id, credit_id))
