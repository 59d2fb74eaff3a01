"""The district's exports: the figures table (CSV or .xlsx) and the signed report (.xlsx, .pdf)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from reporting.adapters.export_layout import COLUMNS, MONEY, cells
from reporting.app import queries, reports
from reporting.domain.report import Signing
from reporting.entrypoints.common import DistrictOffice, FeeType, _scope, today
from shared import exports
from shared.schemas import files
from shared.service import Runtime

router = APIRouter(prefix="/api")


async def _export(table: list[list[object]], fmt: str, filename: str) -> Response:
    header = [label for _, label in COLUMNS]
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
    # Each row says its period: a file passed on keeps what it counts.
    shown = (period or "Tất cả các kỳ") + (f" ({fee_type})" if fee_type else "")
    table = [cells(r, name=r.name, period=shown) for r in view.schools]
    table.append(cells(view.totals, name=f"Tổng {district}", period=shown))
    return await _export(table, fmt, f"bao-cao-{district}-{period or 'tat-ca'}")


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
