"""JSON API behind the dashboard, exports, the consistency check and the live stream. Scoped by role:
the district sees its schools (aggregates only, no pupil's personal data); an accountant sees their own
school; parents nothing here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import Field

from reporting.app import check, queries
from reporting.domain.scope import Scope
from shared import exports
from shared.auth import DistrictReader, Principal, Role, SchoolReader, authenticate, check_school_scope
from shared.errors import Forbidden
from shared.formatting import VN
from shared.schemas import Out, Row, files
from shared.service import Runtime

router = APIRouter(prefix="/api")
FeeType = Literal["tuition", "meals", "services", "insurance", "extra_classes", "other", "adjustment"]


class FiguresOut(Row):
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
    below_target: bool = Field(description="collection or cashless share below the 100% target")


class SchoolFigures(FiguresOut):
    school_id: str
    name: str
    ownership: str
    accepts_cashless: bool = Field(description="the school has a collection account")
    cashless_received: bool = Field(description="at least one cashless payment has reached the school")


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
    totals: FiguresOut
    schools: list[SchoolFigures] = Field(description="ranked: highest collection rate, then cashless share, first")
    exemptions: list[Exemption]
    refunds: Refunds


class SchoolSummary(Out):
    school_id: str
    name: str
    period: str | None
    fee_type: str | None
    totals: FiguresOut
    by_fee_type: list[FeeTypeFigures]
    by_grade: list[GradeFigures]
    by_class: list[ClassFigures]
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
    figures: FiguresOut


def today() -> date:
    return datetime.now(VN).date()


def _scope(**kwargs: Any) -> Scope:
    return Scope(**kwargs)


def _district_allowed(p: Principal, district: str) -> None:
    if p.role is Role.SERVICE or (p.role is Role.DISTRICT and p.district == district):
        return
    raise Forbidden(f"token is not scoped to district {district}")


@router.get(
    "/districts/{district}/summary", tags=["dashboard"], summary="District totals and the ranked table of its schools"
)
async def district_summary(
    district: str,
    rt: Runtime,
    p: DistrictReader,
    period: str | None = None,
    fee_type: FeeType | None = None,
) -> DistrictSummary:
    _district_allowed(p, district)
    view = await queries.district_view(rt.db(), _scope(district=district, period=period, fee_type=fee_type), today())
    return DistrictSummary.model_validate(view)


@router.get("/districts/{district}/trend", tags=["dashboard"], summary="Figures per billing month")
async def district_trend(
    district: str,
    rt: Runtime,
    p: DistrictReader,
    school_year: str | None = None,
    fee_type: FeeType | None = None,
) -> list[PeriodFigures]:
    _district_allowed(p, district)
    rows = await queries.trend(rt.db(), _scope(district=district, period=school_year, fee_type=fee_type), today())
    return [PeriodFigures.model_validate(r) for r in rows]


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
    return SchoolSummary.model_validate(view)


@router.get("/schools/{school_id}/trend", tags=["dashboard"])
async def school_trend(
    school_id: str,
    rt: Runtime,
    _: SchoolReader,
    school_year: str | None = None,
    fee_type: FeeType | None = None,
) -> list[PeriodFigures]:
    rows = await queries.trend(rt.db(), _scope(school=school_id, period=school_year, fee_type=fee_type), today())
    return [PeriodFigures.model_validate(r) for r in rows]


@router.get(
    "/schools/{school_id}/check",
    tags=["consistency"],
    summary="Recompute the school's figures from its events and compare with the projections",
)
async def consistency(school_id: str, rt: Runtime, _: SchoolReader) -> Consistency:
    return Consistency.model_validate(await check.check_school(rt.db(), school_id, today()))


COLUMNS = [
    ("name", "Trường"),
    ("invoiced", "Phải thu (đồng)"),
    ("collected", "Đã thu (đồng)"),
    ("cashless", "Không dùng tiền mặt (đồng)"),
    ("cash", "Tiền mặt (đồng)"),
    ("outstanding", "Còn phải thu (đồng)"),
    ("overdue", "Quá hạn (đồng)"),
    ("collection_rate_pct", "Tỷ lệ thu (%)"),
    ("cashless_share_pct", "Tỷ lệ không dùng tiền mặt theo số tiền (%)"),
    ("cashless_share_by_count_pct", "Tỷ lệ không dùng tiền mặt theo số giao dịch (%)"),
    ("students", "Số học sinh"),
    ("students_fully_paid", "Số học sinh đã nộp đủ"),
]


MONEY = {label for key, label in COLUMNS if "(đồng)" in label}


async def _export(rows: list[dict[str, Any]], fmt: str, filename: str) -> Response:
    header = [label for _, label in COLUMNS]
    table = [[r[k] for k, _ in COLUMNS] for r in rows]
    return await exports.table_download(header, table, filename=filename, fmt=fmt, title="Bao cao", money=MONEY)


@router.get(
    "/districts/{district}/export.{fmt}",
    tags=["exports"],
    summary="The ranked table and the district total, as CSV or Excel (the numbers of the page)",
    response_class=Response,
    responses=files(
        "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", description="the table"
    ),
)
async def district_export(
    district: str,
    fmt: Literal["csv", "xlsx"],
    rt: Runtime,
    p: DistrictReader,
    period: str | None = None,
    fee_type: FeeType | None = None,
) -> Response:
    _district_allowed(p, district)
    view = await queries.district_view(rt.db(), _scope(district=district, period=period, fee_type=fee_type), today())
    rows = view["schools"] + [view["totals"] | {"name": f"Tổng {district}"}]
    return await _export(rows, fmt, f"bao-cao-{district}-{period or 'tat-ca'}")


@router.get(
    "/stream",
    tags=["dashboard"],
    summary="Server-Sent Events: a message whenever the figures change",
    response_class=StreamingResponse,
    responses=files("text/event-stream", description="one `data:` message with the projection version per change"),
)
async def stream(
    request: Request,
    rt: Runtime,
    token: str = Query(..., description="the bearer token (EventSource cannot send headers)"),
    school_id: str | None = None,
) -> StreamingResponse:
    principal = await authenticate(request, token)
    if principal.role is Role.PARENT:
        raise Forbidden("parents have no dashboard")
    if school_id:
        await check_school_scope(principal, school_id, request.app.state.district_of)

    async def events() -> AsyncIterator[bytes]:
        last, idle = None, 0
        while not await request.is_disconnected():
            version = await queries.projection_version(rt.db())
            if version != last:
                last, idle = version, 0
                yield f"event: changed\ndata: {version}\n\n".encode()
            else:
                idle += 1
                if idle % 15 == 0:
                    yield b": keep-alive\n\n"
            await asyncio.sleep(1.0)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
