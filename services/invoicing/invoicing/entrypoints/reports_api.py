"""The school's exports: the collection workbook, the unpaid list, printed notices, the reimbursement list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from invoicing.app import (
    queries,
)
from invoicing.settings import InvoicingSettings
from shared import exports
from shared.auth import SchoolReader, SchoolStaff
from shared.formatting import VN
from shared.schemas import Out, files
from shared.service import Runtime, settings_dependency

router = APIRouter()
Settings = Annotated[InvoicingSettings, Depends(settings_dependency(InvoicingSettings))]


class ReimbursementLine(Out):
    policy_category: str | None
    category_name: str
    category: str
    students: int
    list_amount: int
    reduction: int


@router.get(
    "/schools/{school_id}/exports/collection.{fmt}",
    tags=["reports"],
    summary="The collection list (one row per invoice: owed, paid, left, status) as CSV or formatted Excel",
    response_class=Response,
    responses=exports.TABLE_FILES,
)
async def collection_export(
    school_id: str,
    fmt: exports.TableFormat,
    rt: Runtime,
    _: SchoolStaff,
    period: str | None = Query(None, pattern=r"^\d{4}-\d{2}$"),
    class_name: str | None = Query(None, max_length=40),
) -> Response:
    rows = await queries.collection_list(rt.db(), school_id, period=period, class_name=class_name)
    name = f"danh-sach-thu-{school_id}-{period or 'tat-ca'}" + (f"-{class_name}" if class_name else "")
    return await exports.table_download(
        queries.COLLECTION_HEADER, rows, filename=name, fmt=fmt, title="Danh sach thu", money=queries.COLLECTION_MONEY
    )


@router.get(
    "/schools/{school_id}/exports/unpaid.pdf",
    tags=["reports"],
    summary="Printable list of pupils who still owe for a period, one class per page, with their payment reference",
    response_class=Response,
    responses=files("application/pdf", description="A4, one page per class"),
)
async def unpaid_pdf(
    school_id: str,
    rt: Runtime,
    _: SchoolStaff,
    period: str = Query(pattern=r"^\d{4}-\d{2}$"),
    class_name: str | None = Query(None, max_length=40),
) -> Response:
    data = await queries.unpaid_list(
        rt.db(), school_id, period=period, class_name=class_name, today=datetime.now(VN).date()
    )
    name = f"chua-nop-{school_id}-{period}" + (f"-{class_name}" if class_name else "")
    return Response(
        data, media_type="application/pdf", headers={"Content-Disposition": exports.attachment(name + ".pdf")}
    )


@router.get(
    "/schools/{school_id}/reports/reimbursement",
    tags=["reports"],
    summary="Exempted/reduced amounts per policy category, claimed from the state budget",
    response_model=list[ReimbursementLine],
)
async def reimbursement(
    school_id: str,
    rt: Runtime,
    _: SchoolReader,
    school_year: str | None = None,
    period: str | None = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    rows = await queries.reimbursement_report(rt.db(), school_id, school_year=school_year, period=period)
    if format == "json":
        return rows
    header = ["Mã đối tượng", "Đối tượng", "Khoản thu", "Số học sinh", "Mức thu (đồng)", "Miễn giảm (đồng)"]
    table = [[r.policy_category, r.category_name, r.category, r.students, r.list_amount, r.reduction] for r in rows]
    return exports.download(exports.csv_bytes(header, table), f"mien-giam-{school_id}", "csv")
