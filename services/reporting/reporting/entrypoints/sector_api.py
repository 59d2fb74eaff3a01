"""The sector's indicators (for the province's and the ministry's reports upward)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from reporting.app import reports
from reporting.entrypoints.common import Indicator, _scope, today
from shared import exports
from shared.auth import (
    ServiceCaller,
)
from shared.schemas import Out, files
from shared.service import Runtime

router = APIRouter(prefix="/api")


class SectorFigures(Out):
    invoiced: int
    collected: int
    cashless: int
    cash: int
    payments: int
    cashless_payments: int
    collection_rate_pct: float | None
    cashless_share_pct: float | None
    cashless_share_by_count_pct: float | None
    students_enrolled: int
    students_with_personal_id: int
    personal_id_share_pct: float | None
    below_target: list[Indicator]
    targets: dict[Indicator, float]


class SectorSchool(SectorFigures):
    school_id: str
    name: str
    ownership: str
    has_account: bool
    accepts_cashless: bool


class SectorTotals(SectorFigures):
    schools: int
    schools_accepting_cashless: int
    schools_accepting_pct: float | None


class SectorIndicators(Out):
    format: Literal["tuition.sector-indicators"]
    version: Literal[1]
    generated_at: datetime
    district: str
    period: str | None
    school_year: str
    schools: list[SectorSchool]
    totals: SectorTotals


@router.get(
    "/sector/v1/districts/{district}/indicators",
    tags=["sector"],
    summary="Per-school indicators for the sector database (format tuition.sector-indicators, version 1)",
)
async def sector_indicators(
    district: str, rt: Runtime, _: ServiceCaller, period: str | None = None
) -> SectorIndicators:
    doc = await reports.sector_indicators(rt.db(), _scope(district=district, period=period), today(), datetime.now(UTC))
    return SectorIndicators.model_validate(doc, from_attributes=True)


@router.get(
    "/sector/v1/districts/{district}/indicators.csv",
    tags=["sector"],
    summary="The same indicators as CSV (version 1 columns; a school per row, then the district's total)",
    response_class=Response,
    responses=files("text/csv", description="the indicators"),
)
async def sector_indicators_csv(district: str, rt: Runtime, _: ServiceCaller, period: str | None = None) -> Response:
    doc = await reports.sector_indicators(rt.db(), _scope(district=district, period=period), today(), datetime.now(UTC))
    data = await asyncio.to_thread(exports.csv_bytes, reports.SECTOR_COLUMNS, reports.sector_rows(doc))
    response = exports.download(data, f"sector-indicators-v1-{district}-{period or 'all'}", "csv")
    response.headers["X-Format"] = f"{reports.SECTOR_FORMAT}; version={reports.SECTOR_VERSION}"
    return response
