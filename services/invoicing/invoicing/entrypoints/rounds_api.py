"""Collection rounds: a one-off collection (uniforms, trips) for chosen pupils, and the school's rounds."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from invoicing.app import (
    rounds,
)
from invoicing.domain.fees import FeeCategory, Period
from invoicing.settings import InvoicingSettings
from invoicing.stores import rounds_store
from shared.auth import SchoolStaff
from shared.money import PositiveAmount
from shared.schemas import Out, Row, model_of
from shared.service import Runtime, settings_dependency

router = APIRouter()
Settings = Annotated[InvoicingSettings, Depends(settings_dependency(InvoicingSettings))]


class RoundItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=120, examples=["Đồng phục hè"])
    category: FeeCategory = FeeCategory.OTHER
    amount: PositiveAmount


class RoundIn(BaseModel):
    code: str = Field(pattern=r"^[A-Z0-9]{2,12}$", examples=["DP26"])
    name: str = Field(min_length=1, max_length=120, examples=["Đồng phục năm học 2026–2027"])
    period: str = Field(pattern=r"^\d{4}-\d{2}$", examples=["2026-10"])
    class_name: str | None = Field(default=None, max_length=40, description="only this class")
    grade: str | None = Field(default=None, max_length=40, description="only this grade")
    due_date: date | None = None
    items: list[RoundItemIn] = Field(min_length=1, max_length=rounds.MAX_ITEMS)


class RoundOpened(Out):
    code: str
    period: str
    invoices: int
    total: int


_ROUND = model_of(rounds_store.Round, base=Row)


class Round(_ROUND):  # type: ignore[misc,valid-type]
    """A collection round, with its invoices' count and totals."""


@router.post(
    "/schools/{school_id}/rounds",
    tags=["invoices"],
    status_code=201,
    summary="Open a collection round (đợt thu) for a class, a grade or the school: its own invoices and QR codes",
)
async def open_round(school_id: str, body: RoundIn, rt: Runtime, p: SchoolStaff) -> RoundOpened:
    cmd = rounds.OpenRound(
        school_id=school_id,
        code=body.code,
        name=body.name,
        period=Period.parse(body.period),
        items=tuple(rounds.RoundItem(name=i.name, category=i.category, amount=i.amount) for i in body.items),
        class_name=body.class_name,
        grade=body.grade,
        due_date=body.due_date,
        opened_by=p.subject,
    )
    return RoundOpened.model_validate(await rounds.open_round(rt.db(), rt.outbox, cmd), from_attributes=True)


@router.get("/schools/{school_id}/rounds", tags=["invoices"], summary="The school's collection rounds")
async def list_rounds(school_id: str, rt: Runtime, _: SchoolStaff) -> list[Round]:
    return [Round.model_validate(r, from_attributes=True) for r in await rounds.list_rounds(rt.db(), school_id)]
