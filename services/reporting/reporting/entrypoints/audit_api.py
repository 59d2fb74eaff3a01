"""The district's audit of money actions: who moved which đồng, and its export."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field

from reporting.app import money_actions
from reporting.entrypoints.common import DistrictOffice
from shared import exports
from shared.schemas import Out
from shared.service import Runtime

router = APIRouter(prefix="/api")


class MoneyActionOut(Out):
    occurred_at: datetime = Field(description="when, in Vietnam's time")
    school_id: str
    school_name: str
    kind: str = Field(
        description="invoice.issued, invoice.adjusted, invoice.cancelled, cash.recorded, credit.<action>, "
        "receipt.cancelled"
    )
    label: str = Field(description="the kind, in Vietnamese")
    actor: str = Field(description="the account that did it")
    amount: int = Field(description="đồng moved (an adjustment: signed; an issuing run: its invoices' total)")
    items: int = Field(description="invoices in an issuing run; 1 otherwise")
    subject: str = Field(description="the invoice, credit or receipt; for an issuing run: the period (and round)")
    reason: str


@router.get(
    "/districts/{district}/money-actions",
    tags=["audit"],
    summary="Who moved which money in the district's schools, newest first (days in Vietnam's time)",
)
async def district_money_actions(
    district: str,
    rt: Runtime,
    p: DistrictOffice,
    days: exports.DateRange,
    school_id: str | None = Query(None, max_length=40),
    limit: int = Query(500, ge=1, le=2000),
) -> list[MoneyActionOut]:
    rows = await money_actions.of_district(rt.db(), district, *days, school_id=school_id, limit=limit)
    return [MoneyActionOut.model_validate(r, from_attributes=True) for r in rows]


@router.get(
    "/districts/{district}/money-actions.{fmt}",
    tags=["audit"],
    summary="The same actions as CSV or Excel",
    response_class=Response,
    responses=exports.TABLE_FILES,
)
async def district_money_actions_export(
    district: str,
    fmt: exports.TableFormat,
    rt: Runtime,
    p: DistrictOffice,
    days: exports.DateRange,
    school_id: str | None = Query(None, max_length=40),
) -> Response:
    rows = await money_actions.of_district(
        rt.db(), district, *days, school_id=school_id, limit=money_actions.MAX_EXPORTED
    )
    header, table = money_actions.table(rows)
    first, last = days
    return await exports.table_download(
        header,
        table,
        filename=f"thao-tac-tien-{district}-{first}-{last}",
        fmt=fmt,
        title="Thao tac tien",
        money=money_actions.MONEY,
    )
