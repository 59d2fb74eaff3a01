"""Schools: registering a school and its collection account (the district), its change history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from invoicing.app import (
    schools,
)
from invoicing.settings import InvoicingSettings
from shared.auth import Principal, Role, SchoolReader, require
from shared.errors import Forbidden
from shared.schemas import Out
from shared.service import Runtime, settings_dependency

router = APIRouter()
Settings = Annotated[InvoicingSettings, Depends(settings_dependency(InvoicingSettings))]


class SchoolChange(Out):
    changed_by: str
    changed_at: datetime
    before: dict[str, str]
    after: dict[str, str]


class SchoolIn(BaseModel):
    name: str = Field(min_length=1, examples=["Trường Mầm non Hoa Phượng"])
    district_code: str = Field(min_length=1, examples=["HN-CAU-GIAY"])
    ownership: Literal["public", "private"] = "public"
    bank_bin: str = Field(examples=["970436"], description="NAPAS bank BIN (6 digits)")
    account_number: str = Field(examples=["0011001234567"])
    account_name: str = Field(examples=["TRUONG MN HOA PHUONG"])
    tax_code: str = ""
    address: str = ""


class School(SchoolIn):
    model_config = ConfigDict(extra="allow")  # the row's further columns pass through

    school_id: str
    code: str
    created_at: datetime


async def school_registrar(
    school_id: str, request: Request, p: Annotated[Principal, Depends(require(Role.DISTRICT, Role.SERVICE))]
) -> Principal:
    """A service, or the district of the school (a new school: any district, for its own district only)."""
    if p.role is Role.DISTRICT:
        current = await request.app.state.district_of(school_id)
        if current is not None and current != p.district:
            raise Forbidden(f"Trường {school_id} thuộc phòng khác; {p.district} không thay đổi được.")
    return p


SchoolRegistrar = Annotated[Principal, Depends(school_registrar)]


@router.put("/schools/{school_id}", tags=["schools"], summary="Register or update a school and its account")
async def put_school(school_id: str, body: SchoolIn, rt: Runtime, p: SchoolRegistrar) -> School:
    actor = schools.Actor(p.subject, p.district if p.role is Role.DISTRICT else None)
    cmd = schools.RegisterSchool(school_id=school_id, **body.model_dump())
    return School.model_validate(await schools.register_school(rt.db(), rt.outbox, cmd, actor), from_attributes=True)


@router.get(
    "/schools/{school_id}/changes",
    tags=["schools"],
    summary="Audited changes of the school's district and collection account (who, when, before, after)",
)
async def school_changes(school_id: str, rt: Runtime, _: SchoolReader) -> list[SchoolChange]:
    await schools.get_school(rt.db(), school_id)
    return [SchoolChange.model_validate(c) for c in await schools.school_changes(rt.db(), school_id)]


@router.get("/schools/{school_id}", tags=["schools"])
async def get_school(school_id: str, rt: Runtime, _: SchoolReader) -> School:
    return School.model_validate(await schools.get_school(rt.db(), school_id), from_attributes=True)
