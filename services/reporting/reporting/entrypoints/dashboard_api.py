"""The dashboard's figures: a district and its schools, trends, a school's consistency check."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from reporting.app import check, queries
from reporting.entrypoints.common import DistrictOffice, FeeType, Indicator, _scope, _Target, today
from shared.auth import (
    SchoolReader,
)
from shared.schemas import Out, Row
from shared.service import Runtime

router = APIRouter(prefix="/api")


class Measured(Row):
    invoiced: int = Field(description="đồng")
    collected: int
    cashless: int
    cash: int
    outstanding: int
    overdue: int = Field(description="đồng still owed past the due date")
    invoices: int
    students: int
    students_fully_paid: int
    payments: int
    cashless_payments: int
    collection_rate_pct: float | None
    cashless_share_pct: float | None = Field(description="cashless share of the amount collected")
    cashless_share_by_count_pct: float | None = Field(description="cashless share of the number of payments")


class FiguresOut(Measured):
    targets: dict[Indicator, float] = Field(description="the target in force for each indicator, in percent")
    below_target: list[Indicator] = Field(description="the indicators below their own target (none to measure: not)")


class PersonalIds(Out):
    students_enrolled: int = Field(description="pupils on the roster (latest count from invoicing)")
    students_with_personal_id: int = Field(description="of whom with a valid 12-digit personal ID")
    personal_id_share_pct: float | None


class SchoolFigures(FiguresOut, PersonalIds):
    school_id: str
    name: str
    ownership: str
    has_account: bool = Field(description="the school has a collection account")
    accepts_cashless: bool = Field(description="a collection account and at least one cashless payment in the period")


class DistrictTotals(FiguresOut, PersonalIds):
    schools: int
    schools_accepting_cashless: int
    schools_accepting_pct: float | None = Field(description="share of the district's schools accepting cashless")


class SchoolTotals(FiguresOut, PersonalIds):
    pass


class TargetStep(_Target):
    school_year: str = Field(description="in force from this school year until a later step")


class FeeTypeFigures(FiguresOut):
    category: str


class GradeFigures(FiguresOut):
    grade: str


class ClassFigures(FiguresOut):
    class_name: str


class PeriodFigures(FiguresOut):
    period: str


class Exemption(Out):
    policy_category: str
    category: str
    students: int
    reduction: int


class Refunds(Out):
    count: int
    amount: int = Field(description="đồng sent back to payers (overpayments, transfers not for the school)")


class DistrictSummary(Out):
    district: str
    period: str | None
    fee_type: str | None
    school_year: str = Field(description="the school year whose targets the period is judged against")
    totals: DistrictTotals
    schools: list[SchoolFigures] = Field(description="ranked: highest collection rate, then cashless share, first")
    trajectory: list[TargetStep] = Field(description="the district plan's dated targets")
    exemptions: list[Exemption]
    refunds: Refunds


class SchoolSummary(Out):
    school_id: str
    name: str
    period: str | None
    fee_type: str | None
    school_year: str = Field(description="the school year whose targets the period is judged against")
    totals: SchoolTotals
    by_fee_type: list[FeeTypeFigures]
    by_grade: list[GradeFigures]
    by_class: list[ClassFigures]
    trajectory: list[TargetStep] = Field(description="the plan's dated targets for the school")
    exemptions: list[Exemption]
    refunds: Refunds


class Difference(Out):
    from_events: int
    shown: int


class Consistency(Out):
    school_id: str
    events: int
    consistent: bool
    differences: dict[str, Difference]
    figures: Measured


@router.get(
    "/districts/{district}/summary", tags=["dashboard"], summary="District totals and the ranked table of its schools"
)
async def district_summary(
    district: str,
    rt: Runtime,
    p: DistrictOffice,
    period: str | None = None,
    fee_type: FeeType | None = None,
) -> DistrictSummary:
    view = await queries.district_view(rt.db(), _scope(district=district, period=period, fee_type=fee_type), today())
    return DistrictSummary.model_validate(view, from_attributes=True)


@router.get("/districts/{district}/trend", tags=["dashboard"], summary="Figures per billing month")
async def district_trend(
    district: str,
    rt: Runtime,
    p: DistrictOffice,
    school_year: str | None = None,
    fee_type: FeeType | None = None,
) -> list[PeriodFigures]:
    rows = await queries.trend(rt.db(), _scope(district=district, period=school_year, fee_type=fee_type), today())
    return [PeriodFigures.model_validate(r, from_attributes=True) for r in rows]


@router.get(
    "/schools/{school_id}/summary",
    tags=["dashboard"],
    summary="One school: totals, fee types, grades, classes, exemptions",
)
async def school_summary(
    school_id: str,
    rt: Runtime,
    _: SchoolReader,
    period: str | None = None,
    fee_type: FeeType | None = None,
) -> SchoolSummary:
    view = await queries.school_view(rt.db(), _scope(school=school_id, period=period, fee_type=fee_type), today())
    return SchoolSummary.model_validate(view, from_attributes=True)


@router.get("/schools/{school_id}/trend", tags=["dashboard"])
async def school_trend(
    school_id: str,
    rt: Runtime,
    _: SchoolReader,
    school_year: str | None = None,
    fee_type: FeeType | None = None,
) -> list[PeriodFigures]:
    rows = await queries.trend(rt.db(), _scope(school=school_id, period=school_year, fee_type=fee_type), today())
    return [PeriodFigures.model_validate(r, from_attributes=True) for r in rows]


@router.get(
    "/schools/{school_id}/check",
    tags=["consistency"],
    summary="Recompute the school's figures from its events and compare with the projections",
)
async def consistency(school_id: str, rt: Runtime, _: SchoolReader) -> Consistency:
    return Consistency.model_validate(await check.check_school(rt.db(), school_id, today()), from_attributes=True)
