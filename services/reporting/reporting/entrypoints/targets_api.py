"""The district plan's targets."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from reporting.app import plans
from reporting.entrypoints.common import DistrictOffice, Indicator, _Target
from shared.auth import (
    Principal,
    Role,
)
from shared.errors import Forbidden
from shared.service import Runtime

router = APIRouter(prefix="/api")


async def _district_planner(district: str, p: DistrictOffice) -> Principal:
    """Who sets the district's plan: its office (or a service), never an auditor, who only reads."""
    if p.role is Role.AUDITOR:
        raise Forbidden("Tài khoản kiểm toán chỉ được xem, không được thay đổi.")
    return p


DistrictPlanner = Annotated[Principal, Depends(_district_planner)]


class TargetIn(BaseModel):
    indicator: Indicator
    school_year: str = Field(pattern=r"^\d{4}-\d{4}$", examples=["2025-2026"], description="in force from")
    target_pct: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2, examples=[85])
    source: str = Field(min_length=3, max_length=300, examples=["Kế hoạch 123/KH-UBND ngày 15/8/2023, mục II.2"])
    school_id: str | None = Field(default=None, max_length=40, description="one school's own target")


class TargetsIn(BaseModel):
    targets: list[TargetIn] = Field(min_length=1, max_length=200)


class TargetOut(_Target):
    school_year: str | None = Field(description="in force from; none: the national target, where nothing is set")


@router.get("/districts/{district}/targets", tags=["targets"], summary="The district plan's targets, dated")
async def district_targets(district: str, rt: Runtime, p: DistrictOffice) -> list[TargetOut]:
    return [TargetOut.model_validate(t, from_attributes=True) for t in await plans.targets_of(rt.db(), district)]


@router.put(
    "/districts/{district}/targets",
    tags=["targets"],
    summary="Set targets of the district plan (per school year and indicator, optionally for one school)",
)
async def set_district_targets(district: str, body: TargetsIn, rt: Runtime, p: DistrictPlanner) -> list[TargetOut]:
    targets = [plans.target_of(**t.model_dump()) for t in body.targets]
    shown = await plans.set_targets(rt.db(), district, targets, by=p.subject)
    return [TargetOut.model_validate(t, from_attributes=True) for t in shown]
