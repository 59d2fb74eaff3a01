"""The credits a school received, and one credit with its placements and history."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date

from fastapi import APIRouter, Query

from reconciliation.app import queries
from reconciliation.entrypoints.common import Credit
from reconciliation.stores import credits_store
from shared.auth import SchoolStaff
from shared.schemas import model_of
from shared.service import Runtime

router = APIRouter()


_DETAIL = model_of(
    credits_store.CreditDetail,
    base=Credit,
    leave_out=[f.name for f in dataclasses.fields(credits_store.ShownCredit)],
    described={"actions": "the accountant's actions on it, each with the placement before and after"},
)


class CreditDetail(_DETAIL):  # type: ignore[misc,valid-type]
    """A credit with its payments, the sources that delivered it, its identifiers and its audit trail."""


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
