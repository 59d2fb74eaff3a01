"""JSON API behind the dashboard, exports, the consistency check and the live stream. Scoped by role:
the district sees its schools (aggregates only, no pupil's personal data); an accountant sees their own
school; parents nothing here."""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from reporting.app import check, money_actions, plans, queries, reports
from reporting.app.streams import Streams
from reporting.domain.report import Signing
from reporting.domain.scope import Scope
from reporting.domain.targets import SHORT_NAMES
from shared import exports
from shared.auth import (
    DistrictReader,
    Principal,
    Role,
    SchoolReader,
    ServiceCaller,
    check_school_scope,
    current_principal,
)
from shared.errors import Forbidden
from shared.formatting import VN
from shared.schemas import Out, Row, files
from shared.service import Runtime

router = APIRouter(prefix="/api")
FeeType = Literal["tuition", "meals", "services", "insurance", "extra_classes", "other", "adjustment"]
Indicator = Literal["collection", "cashless_amount", "cashless_count", "schools_accepting", "personal_id"]


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


class _Target(Out):
    indicator: Indicator
    target_pct: float
    source: str = Field(description="the plan that sets it")
    school_id: str | None = Field(description="the one school it is for; none: every school of the district")


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


def today() -> date:
    return datetime.now(VN).date()


def _scope(**kwargs: Any) -> Scope:
    return Scope(**kwargs)


async def _district_office(district: str, p: DistrictReader) -> Principal:
    """The district's own office (or a service): checked before the request's parameters, so a stranger learns
    nothing from their validation."""
    if p.role is Role.SERVICE or (p.role in (Role.DISTRICT, Role.AUDITOR) and p.district and p.district == district):
        return p
    raise Forbidden(f"Tài khoản này không làm việc với {district}.")


DistrictOffice = Annotated[Principal, Depends(_district_office)]


async def _district_planner(district: str, p: DistrictOffice) -> Principal:
    """Who sets the district's plan: its office (or a service), never an auditor, who only reads."""
    if p.role is Role.AUDITOR:
        raise Forbidden("Tài khoản kiểm toán chỉ được xem, không được thay đổi.")
    return p


DistrictPlanner = Annotated[Principal, Depends(_district_planner)]


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
    return DistrictSummary.model_validate(view)


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
    return [TargetOut.model_validate(t) for t in await plans.targets_of(rt.db(), district)]


@router.put(
    "/districts/{district}/targets",
    tags=["targets"],
    summary="Set targets of the district plan (per school year and indicator, optionally for one school)",
)
async def set_district_targets(district: str, body: TargetsIn, rt: Runtime, p: DistrictPlanner) -> list[TargetOut]:
    targets = [plans.target_of(**t.model_dump()) for t in body.targets]
    return [TargetOut.model_validate(t) for t in await plans.set_targets(rt.db(), district, targets, by=p.subject)]


@router.get("/districts/{district}/trend", tags=["dashboard"], summary="Figures per billing month")
async def district_trend(
    district: str,
    rt: Runtime,
    p: DistrictOffice,
    school_year: str | None = None,
    fee_type: FeeType | None = None,
) -> list[PeriodFigures]:
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
    ("target:collection", "Mục tiêu tỷ lệ thu (%)"),
    ("cashless_share_pct", "Tỷ lệ không dùng tiền mặt theo số tiền (%)"),
    ("target:cashless_amount", "Mục tiêu theo số tiền (%)"),
    ("cashless_share_by_count_pct", "Tỷ lệ không dùng tiền mặt theo số giao dịch (%)"),
    ("target:cashless_count", "Mục tiêu theo số giao dịch (%)"),
    ("students", "Số học sinh"),
    ("students_fully_paid", "Số học sinh đã nộp đủ"),
    ("personal_id_share_pct", "Học sinh có mã định danh (%)"),
    ("target:personal_id", "Mục tiêu mã định danh (%)"),
    ("below_target", "Chưa đạt mục tiêu"),
    ("period", "Kỳ"),
]


MONEY = {label for key, label in COLUMNS if "(đồng)" in label}


def _cell(row: dict[str, Any], key: str) -> object:
    """A column of the export: a figure, a target (`target:<indicator>`) or the list of figures below theirs."""
    if key.startswith("target:"):
        return row["targets"].get(key.split(":", 1)[1])
    return ", ".join(SHORT_NAMES[k] for k in row[key]) if isinstance(row[key], list) else row[key]


async def _export(rows: list[dict[str, Any]], fmt: str, filename: str) -> Response:
    header = [label for _, label in COLUMNS]
    table = [[_cell(r, key) for key, _ in COLUMNS] for r in rows]
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
    p: DistrictOffice,
    period: str | None = None,
    fee_type: FeeType | None = None,
) -> Response:
    view = await queries.district_view(rt.db(), _scope(district=district, period=period, fee_type=fee_type), today())
    rows = view["schools"] + [view["totals"] | {"name": f"Tổng {district}"}]
    # Each row says its period: a file passed on keeps what it counts.
    shown = (period or "Tất cả các kỳ") + (f" ({fee_type})" if fee_type else "")
    return await _export([r | {"period": shown} for r in rows], fmt, f"bao-cao-{district}-{period or 'tat-ca'}")


@router.get(
    "/districts/{district}/report.{fmt}",
    tags=["exports"],
    summary="The periodic report to send upward (month, quarter, school year, calendar year), XLSX or PDF",
    response_class=Response,
    responses=files("application/pdf", exports.XLSX_MEDIA_TYPE, description="the signed-off report"),
)
async def district_report(
    district: str,
    fmt: Literal["xlsx", "pdf"],
    rt: Runtime,
    p: DistrictOffice,
    period: str = Query(description="YYYY-MM, YYYY-Qn, YYYY-YYYY (school year) or YYYY"),
    signatory: str = Query(min_length=2, max_length=80, description="who signs it"),
    signatory_title: str = Query("Trưởng phòng", min_length=2, max_length=80),
    prepared_by: str = Query("", max_length=80),
    office: str = Query("", max_length=120, description="the office's name; default: Phòng GD&ĐT <district>"),
    place: str = Query("", max_length=60, description="where it is signed, e.g. Hà Nội"),
    number: str = Query("", max_length=40, description="the document's number, e.g. 123/BC-PGDĐT"),
    recipient: str = Query("", max_length=120, description="Kính gửi: the office it goes to"),
    reporting_date: date | None = Query(None, description="the report's date; default: today"),
) -> Response:
    signing = Signing(
        reporting_date=reporting_date or today(),
        signatory=signatory.strip(),
        signatory_title=signatory_title.strip(),
        prepared_by=prepared_by.strip(),
        office=office.strip() or f"Phòng GD&ĐT {district}",
        place=place.strip(),
        number=number.strip(),
        recipient=recipient.strip(),
    )
    scope = _scope(district=district, period=period)
    data = await reports.district_report(rt.db(), scope, signing, fmt, today())
    media = "application/pdf" if fmt == "pdf" else exports.XLSX_MEDIA_TYPE
    name = f"bao-cao-kdtm-{district}-{period}.{fmt}"
    return Response(data, media_type=media, headers={"Content-Disposition": exports.attachment(name)})


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
    return [MoneyActionOut.model_validate(r) for r in rows]


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


@router.get(
    "/sector/v1/districts/{district}/indicators",
    tags=["sector"],
    summary="Per-school indicators for the sector database (format tuition.sector-indicators, version 1)",
)
async def sector_indicators(
    district: str, rt: Runtime, _: ServiceCaller, period: str | None = None
) -> SectorIndicators:
    doc = await reports.sector_indicators(rt.db(), _scope(district=district, period=period), today(), datetime.now(UTC))
    return SectorIndicators.model_validate(doc)


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
    principal: Annotated[Principal, Depends(current_principal)],
    school_id: str | None = None,
) -> StreamingResponse:
    # The token comes in the Authorization header, like everywhere else (the page reads the stream with
    # fetch): never in the URL, where proxies and access logs would keep it.
    if principal.role is Role.PARENT:
        raise Forbidden("Phụ huynh không dùng trang tổng hợp này.")
    if school_id:
        await check_school_scope(principal, school_id, request.app.state.district_of)
    streams: Streams = request.app.state.streams
    release = streams.take(principal.jti or principal.subject)  # refused here (429) past the bounds

    async def events() -> AsyncIterator[bytes]:
        last, idle = None, 0
        try:
            while not await request.is_disconnected() and not rt.stopping.is_set():
                # A stream lives no longer than its token: it ends at expiry and at revocation.
                if time.time() >= principal.expires_at:
                    yield b"event: expired\ndata: sign in again\n\n"
                    return
                if await request.app.state.revocations.is_revoked(rt.db(), principal.jti):
                    yield b"event: revoked\ndata: this access was withdrawn\n\n"
                    return
                version = await queries.projection_version(rt.db())
                if version != last:
                    last, idle = version, 0
                    yield f"event: changed\ndata: {version}\n\n".encode()
                else:
                    idle += 1
                    if idle % 15 == 0:
                        yield b": keep-alive\n\n"
                with contextlib.suppress(TimeoutError):  # a second, or less when the service stops
                    await asyncio.wait_for(rt.stopping.wait(), timeout=1.0)
            if rt.stopping.is_set():  # the page reconnects (to another instance)
                yield b"event: closing\ndata: the service is stopping\n\n"
        finally:
            release()

    body = events()
    weakref.finalize(body, release)  # a stream whose client left before it started is released too
    return StreamingResponse(
        body, media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
