"""Fee schedules: fee items, their billing calendar, exemption and reduction policies."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from invoicing.app import (
    fees,
)
from invoicing.domain.fees import Cadence, FeeCategory, FeeItem, Period, Rate
from invoicing.settings import InvoicingSettings
from invoicing.stores import fees_store
from shared.auth import Role, SchoolReader, SchoolStaff, ScopedReader, ServiceCaller
from shared.money import Amount
from shared.schemas import Out, Row, model_of
from shared.service import Runtime, settings_dependency

router = APIRouter()
Settings = Annotated[InvoicingSettings, Depends(settings_dependency(InvoicingSettings))]


class FeeRate(Out):
    amount: int
    grade: str | None
    class_name: str | None


class FeeItemOut(Out):
    code: str
    name: str
    category: FeeCategory
    cadence: Cadence
    per_day: bool
    state_funded: bool
    one_off_period: str | None
    rates: list[FeeRate]


class PolicyCategory(Out):
    code: str
    name: str
    legal_basis: str


_RULE = model_of(fees_store.Rule, base=Row, described={"school_id": "null: the national rule for every school"})


class PolicyRule(_RULE):  # type: ignore[misc,valid-type]
    """An exemption or reduction rule: national, or a school's own."""


class Policies(Out):
    categories: list[PolicyCategory]
    policies: list[PolicyRule]


class PolicyCreated(Out):
    policy_id: int


class RateIn(BaseModel):
    amount: Amount = Field(description="đồng (per school day for per-day items)")
    grade: str | None = None
    class_name: str | None = None


class FeeItemIn(BaseModel):
    name: str = Field(min_length=1, examples=["Tiền ăn bán trú"])
    category: FeeCategory
    cadence: Cadence
    rates: list[RateIn] = Field(min_length=1)
    per_day: bool = False
    state_funded: bool = False
    one_off_period: str | None = None


@router.put("/schools/{school_id}/fee-items/{code}", tags=["fees"], status_code=204)
async def put_fee_item(school_id: str, code: str, body: FeeItemIn, rt: Runtime, _: SchoolStaff) -> None:
    item = FeeItem(
        code=code,
        name=body.name,
        category=body.category,
        cadence=body.cadence,
        rates=tuple(Rate(r.amount, r.grade, r.class_name) for r in body.rates),
        per_day=body.per_day,
        state_funded=body.state_funded,
        one_off_period=body.one_off_period,
    )
    await fees.upsert_fee_item(rt.db(), fees.UpsertFeeItem(school_id, item))


@router.delete(
    "/schools/{school_id}/fee-items/{code}",
    tags=["fees"],
    status_code=204,
    summary="Stop billing a fee item (kept for history)",
)
async def delete_fee_item(school_id: str, code: str, rt: Runtime, _: SchoolStaff) -> None:
    await fees.deactivate_fee_item(rt.db(), school_id, code)


@router.get("/schools/{school_id}/fee-items", tags=["fees"])
async def list_fee_items(school_id: str, rt: Runtime, _: SchoolReader) -> list[FeeItemOut]:
    return [
        FeeItemOut(
            code=i.code,
            name=i.name,
            category=i.category,
            cadence=i.cadence,
            per_day=i.per_day,
            state_funded=i.state_funded,
            one_off_period=i.one_off_period,
            rates=[FeeRate(amount=r.amount, grade=r.grade, class_name=r.class_name) for r in i.rates],
        )
        for i in await fees.load_fee_items(rt.db(), school_id)
    ]


class CalendarIn(BaseModel):
    school_days: int = Field(ge=0, le=31)


@router.put(
    "/schools/{school_id}/calendar/{period}",
    tags=["fees"],
    status_code=204,
    summary="School days of a billing period (meals are billed per day)",
)
async def put_calendar(school_id: str, period: str, body: CalendarIn, rt: Runtime, _: SchoolStaff) -> None:
    await fees.set_school_days(rt.db(), school_id, Period.parse(period), body.school_days)


class PolicyIn(BaseModel):
    category: str = Field(examples=["HO_NGHEO"])
    fee_category: FeeCategory
    kind: Literal["percent", "fixed"]
    value: Amount = Field(description="percent (0–100) or đồng")
    effective_from: date
    effective_to: date | None = None
    legal_basis: str = ""
    everyone: bool = Field(False, description="every pupil of the school(s), whatever their category")
    ownership: Literal["public", "private"] | None = Field(None, description="only schools of this ownership")
    cap: Amount | None = Field(None, description="the most it reduces a line by, đồng (support up to a cap)")
    article: str = Field("", max_length=300, examples=["NĐ 238/2025/NĐ-CP, Điều 17"])


@router.get("/policies", tags=["fees"], summary="Policy categories and exemption/reduction rules")
async def list_policies(rt: Runtime, p: ScopedReader) -> Policies:
    """The national rules, and the schools' own rules the caller may see: an accountant its school's, a
    district its schools', a service all."""
    visible = await fees.visible_policies(
        rt.db(),
        every_school=p.role is Role.SERVICE,
        school=p.school if p.role in (Role.ACCOUNTANT, Role.PRINCIPAL, Role.AUDITOR) else None,
        district=p.district if p.role in (Role.DISTRICT, Role.AUDITOR) else None,
    )
    return Policies.model_validate(visible, from_attributes=True)


@router.post(
    "/schools/{school_id}/policies",
    tags=["fees"],
    status_code=201,
    summary="A school's own exemption or reduction (e.g. meal support)",
)
async def add_school_policy(school_id: str, body: PolicyIn, rt: Runtime, _: SchoolStaff) -> PolicyCreated:
    policy_id = await fees.add_policy(rt.db(), fees.AddPolicy(school_id=school_id, **body.model_dump(mode="python")))
    return PolicyCreated(policy_id=policy_id)


@router.post("/policies", tags=["fees"], status_code=201, summary="A national rule for every school")
async def add_national_policy(body: PolicyIn, rt: Runtime, _: ServiceCaller) -> PolicyCreated:
    policy_id = await fees.add_policy(rt.db(), fees.AddPolicy(school_id=None, **body.model_dump(mode="python")))
    return PolicyCreated(policy_id=policy_id)
