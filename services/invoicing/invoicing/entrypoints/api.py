"""HTTP API of the invoicing service (accountants, the district office, other services)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from invoicing.app import fees, invoices, issuing, personal_data, queries, roster, schools
from invoicing.domain.errors import Invalid
from invoicing.domain.fees import Cadence, FeeCategory, FeeError, FeeItem, Period, Rate
from shared import exports, qr
from shared.auth import Principal, Role, require, require_school
from shared.money import Amount, SignedAmount
from shared.service import Runtime

router = APIRouter()
STAFF = (Role.ACCOUNTANT, Role.SERVICE)
READERS = (Role.ACCOUNTANT, Role.DISTRICT, Role.SERVICE)


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except FeeError as exc:
        raise Invalid(str(exc)) from exc


class SchoolIn(BaseModel):
    name: str = Field(min_length=1, examples=["Trường Mầm non Hoa Phượng"])
    district_code: str = Field(min_length=1, examples=["HN-CAU-GIAY"])
    ownership: Literal["public", "private"] = "public"
    bank_bin: str = Field(examples=["970436"], description="NAPAS bank BIN (6 digits)")
    account_number: str = Field(examples=["0011001234567"])
    account_name: str = Field(examples=["TRUONG MN HOA PHUONG"])
    tax_code: str = ""
    address: str = ""


async def school_registrar(
    school_id: str, request: Request, p: Principal = Depends(require(Role.DISTRICT, Role.SERVICE))
) -> Principal:
    """A service, or the district of the school (a new school: any district, for its own district only)."""
    if p.role is Role.DISTRICT:
        current = await request.app.state.district_of(school_id)
        if current is not None and current != p.district:
            raise HTTPException(
                403, detail=f"school {school_id} belongs to another district; {p.district} cannot change it"
            )
    return p


@router.put("/schools/{school_id}", tags=["schools"], summary="Register or update a school and its account")
async def put_school(
    school_id: str, body: SchoolIn, rt: Runtime, p: Principal = Depends(school_registrar)
) -> dict[str, Any]:
    actor = schools.Actor(p.subject, p.district if p.role is Role.DISTRICT else None)
    return await schools.register_school(
        rt.db(), rt.outbox, schools.RegisterSchool(school_id, **body.model_dump()), actor
    )


@router.get(
    "/schools/{school_id}/changes",
    tags=["schools"],
    summary="Audited changes of the school's district and collection account (who, when, before, after)",
)
async def school_changes(
    school_id: str, rt: Runtime, _: Principal = Depends(require_school(*READERS))
) -> list[dict[str, Any]]:
    await schools.get_school(rt.db(), school_id)
    return await schools.school_changes(rt.db(), school_id)


@router.get("/schools/{school_id}", tags=["schools"])
async def get_school(school_id: str, rt: Runtime, _: Principal = Depends(require_school(*READERS))) -> dict[str, Any]:
    return await schools.get_school(rt.db(), school_id)


@router.post(
    "/schools/{school_id}/roster",
    tags=["roster"],
    summary="Import the roster (CSV or .xlsx): preview, apply (all or nothing) or apply valid rows only",
)
async def import_roster(
    school_id: str,
    rt: Runtime,
    file: UploadFile = File(...),
    mode: roster.ImportMode = Query(roster.ImportMode.PREVIEW),
    p: Principal = Depends(require_school(*STAFF)),
) -> Response:
    result = await roster.import_roster(
        rt.db(),
        school_id=school_id,
        filename=file.filename or "",
        mode=mode,
        data=await file.read(),
        imported_by=p.subject,
        today=date.today(),
        pseudonym_secret=rt.settings.pseudonym_secret.get_secret_value().encode(),  # type: ignore[attr-defined]
        sealer=rt.settings.sealer(),
    )
    refused = mode is roster.ImportMode.APPLY and result.errors
    return JSONResponse(result.as_dict(), status_code=422 if refused else 200)


@router.get("/schools/{school_id}/students", tags=["roster"])
async def list_students(
    school_id: str, rt: Runtime, _: Principal = Depends(require_school(*STAFF)), include_left: bool = False
) -> list[dict[str, Any]]:
    rows = await rt.db().fetch(
        "SELECT student_id, student_code, full_name, date_of_birth, grade, class_name, guardian_name, "
        "guardian_phone, policy_categories, virtual_account, left_at FROM students WHERE school_id = $1 "
        "AND ($2 OR left_at IS NULL) ORDER BY class_name, student_code",
        school_id,
        include_left,
    )
    sealer = rt.settings.sealer()
    return [dict(r) | {f: sealer.open(r[f]) for f in roster.SEALED if f in r.keys()} for r in rows]


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1)


@router.get(
    "/schools/{school_id}/students/{code}/personal-data",
    tags=["roster"],
    summary="Everything held about a pupil (a data subject's request for access)",
)
async def export_personal_data(
    school_id: str, code: str, rt: Runtime, _: Principal = Depends(require_school(*STAFF))
) -> dict[str, Any]:
    return await personal_data.export(rt.db(), rt.settings.sealer(), school_id=school_id, code=code)


@router.post(
    "/schools/{school_id}/students/{code}/erasure",
    tags=["roster"],
    summary="Erase a pupil's personal data on request; invoices, payments and receipts keep their legal content",
)
async def erase_personal_data(
    school_id: str, code: str, body: ReasonIn, rt: Runtime, p: Principal = Depends(require_school(*STAFF))
) -> dict[str, Any]:
    return await personal_data.erase(rt.db(), school_id=school_id, code=code, reason=body.reason, by=p.subject)


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
async def put_fee_item(
    school_id: str, code: str, body: FeeItemIn, rt: Runtime, _: Principal = Depends(require_school(*STAFF))
) -> None:
    try:
        item = FeeItem(
            code,
            body.name,
            body.category,
            body.cadence,
            tuple(Rate(r.amount, r.grade, r.class_name) for r in body.rates),
            body.per_day,
            body.state_funded,
            body.one_off_period,
        )
    except FeeError as exc:
        raise Invalid(str(exc)) from exc
    await fees.upsert_fee_item(rt.db(), fees.UpsertFeeItem(school_id, item))


@router.delete(
    "/schools/{school_id}/fee-items/{code}",
    tags=["fees"],
    status_code=204,
    summary="Stop billing a fee item (kept for history)",
)
async def delete_fee_item(
    school_id: str, code: str, rt: Runtime, _: Principal = Depends(require_school(*STAFF))
) -> None:
    await fees.deactivate_fee_item(rt.db(), school_id, code)


@router.get("/schools/{school_id}/fee-items", tags=["fees"])
async def list_fee_items(
    school_id: str, rt: Runtime, _: Principal = Depends(require_school(*READERS))
) -> list[dict[str, Any]]:
    return [
        {
            "code": i.code,
            "name": i.name,
            "category": i.category,
            "cadence": i.cadence,
            "per_day": i.per_day,
            "state_funded": i.state_funded,
            "one_off_period": i.one_off_period,
            "rates": [r.__dict__ for r in i.rates],
        }
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
async def put_calendar(
    school_id: str, period: str, body: CalendarIn, rt: Runtime, _: Principal = Depends(require_school(*STAFF))
) -> None:
    await fees.set_school_days(rt.db(), school_id, _period(period), body.school_days)


class PolicyIn(BaseModel):
    category: str = Field(examples=["HO_NGHEO"])
    fee_category: FeeCategory
    kind: Literal["percent", "fixed"]
    value: Amount = Field(description="percent (0–100) or đồng")
    effective_from: date
    effective_to: date | None = None
    legal_basis: str = ""


@router.get("/policies", tags=["fees"], summary="Policy categories and exemption/reduction rules")
async def list_policies(rt: Runtime, p: Principal = Depends(require(*READERS))) -> dict[str, Any]:
    """The national rules, and the schools' own rules the caller may see: an accountant its school's, a
    district its schools', a service all."""
    cats = await rt.db().fetch("SELECT code, name, legal_basis FROM policy_categories ORDER BY code")
    rules = await rt.db().fetch(
        "SELECT e.* FROM exemption_policies e LEFT JOIN schools s USING (school_id) "
        "WHERE e.school_id IS NULL OR $1 OR e.school_id = $2 OR s.district_code = $3 ORDER BY policy_id",
        p.role is Role.SERVICE,
        p.school if p.role is Role.ACCOUNTANT else None,
        p.district if p.role is Role.DISTRICT else None,
    )
    return {"categories": [dict(r) for r in cats], "policies": [dict(r) for r in rules]}


@router.post(
    "/schools/{school_id}/policies",
    tags=["fees"],
    status_code=201,
    summary="A school's own exemption or reduction (e.g. meal support)",
)
async def add_school_policy(
    school_id: str, body: PolicyIn, rt: Runtime, _: Principal = Depends(require_school(*STAFF))
) -> dict[str, int]:
    policy_id = await fees.add_policy(rt.db(), fees.AddPolicy(school_id, **body.model_dump(mode="python")))
    return {"policy_id": policy_id}


@router.post("/policies", tags=["fees"], status_code=201, summary="A national rule for every school")
async def add_national_policy(
    body: PolicyIn, rt: Runtime, _: Principal = Depends(require(Role.SERVICE))
) -> dict[str, int]:
    return {"policy_id": await fees.add_policy(rt.db(), fees.AddPolicy(None, **body.model_dump(mode="python")))}


class IssueIn(BaseModel):
    due_date: date | None = None
    school_days: int | None = Field(default=None, ge=0, le=31)


@router.post(
    "/schools/{school_id}/periods/{period}/invoices",
    tags=["invoices"],
    summary="Issue every invoice of the school for a period (idempotent)",
)
async def issue(
    school_id: str,
    period: str,
    rt: Runtime,
    body: IssueIn | None = None,
    _: Principal = Depends(require_school(*STAFF)),
) -> dict[str, Any]:
    body = body or IssueIn()
    result = await issuing.issue_period(
        rt.db(), rt.outbox, issuing.IssuePeriod(school_id, _period(period), body.due_date, body.school_days)
    )
    return result.__dict__


@router.get("/schools/{school_id}/invoices", tags=["invoices"])
async def list_invoices(
    school_id: str,
    rt: Runtime,
    period: str | None = None,
    status: str | None = None,
    limit: int = Query(200, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=10_000_000),
    _: Principal = Depends(require_school(*STAFF)),
) -> list[dict[str, Any]]:
    return await queries.list_invoices(
        rt.db(),
        school_id,
        period=period,
        status=status,
        limit=limit,
        offset=offset,
        public_url=getattr(rt.settings, "public_url", ""),
    )


@router.get("/schools/{school_id}/invoices/{invoice_id}", tags=["invoices"])
async def get_invoice(
    school_id: str, invoice_id: uuid.UUID, rt: Runtime, _: Principal = Depends(require_school(*STAFF))
) -> dict[str, Any]:
    return await queries.invoice_detail(rt.db(), invoice_id, school_id)


@router.post("/schools/{school_id}/invoices/{invoice_id}/cancel", tags=["invoices"], status_code=204)
async def cancel(
    school_id: str, invoice_id: uuid.UUID, body: ReasonIn, rt: Runtime, p: Principal = Depends(require_school(*STAFF))
) -> None:
    await invoices.cancel_invoice(
        rt.db(), rt.outbox, school_id=school_id, invoice_id=invoice_id, reason=body.reason, by=p.subject
    )


class AdjustIn(BaseModel):
    delta: SignedAmount = Field(description="đồng added to (positive) or taken from (negative) the total")
    reason: str = Field(min_length=1)


@router.post("/schools/{school_id}/invoices/{invoice_id}/adjustments", tags=["invoices"])
async def adjust(
    school_id: str, invoice_id: uuid.UUID, body: AdjustIn, rt: Runtime, p: Principal = Depends(require_school(*STAFF))
) -> dict[str, Any]:
    return await invoices.adjust_invoice(
        rt.db(),
        rt.outbox,
        school_id=school_id,
        invoice_id=invoice_id,
        delta=body.delta,
        reason=body.reason,
        by=p.subject,
    )


@router.get(
    "/schools/{school_id}/invoices/{invoice_id}/qr.{fmt}",
    tags=["invoices"],
    summary="The invoice's VietQR: txt (payload), png or svg",
)
async def invoice_qr(
    school_id: str,
    invoice_id: uuid.UUID,
    fmt: Literal["txt", "png", "svg"],
    rt: Runtime,
    _: Principal = Depends(require_school(*STAFF)),
) -> Response:
    return qr_response(queries.invoice_qr_payload(await queries.invoice_detail(rt.db(), invoice_id, school_id)), fmt)


def qr_response(payload: str, fmt: str) -> Response:
    if fmt == "png":
        return Response(qr.png(payload), media_type="image/png")
    if fmt == "svg":
        return Response(qr.svg(payload), media_type="image/svg+xml")
    return PlainTextResponse(payload)


class GroupIn(BaseModel):
    invoice_ids: list[uuid.UUID] = Field(min_length=2)


@router.post(
    "/schools/{school_id}/payment-groups",
    tags=["invoices"],
    status_code=201,
    summary="One reference and QR for several open invoices of one family",
)
async def payment_group(
    school_id: str, body: GroupIn, rt: Runtime, _: Principal = Depends(require_school(*STAFF))
) -> dict[str, Any]:
    return await invoices.create_payment_group(rt.db(), rt.outbox, school_id=school_id, invoice_ids=body.invoice_ids)


@router.get(
    "/schools/{school_id}/reports/reimbursement",
    tags=["reports"],
    summary="Exempted/reduced amounts per policy category, claimed from the state budget",
)
async def reimbursement(
    school_id: str,
    rt: Runtime,
    school_year: str | None = None,
    period: str | None = None,
    format: Literal["json", "csv"] = "json",
    _: Principal = Depends(require_school(*READERS)),
) -> Any:
    rows = await queries.reimbursement_report(rt.db(), school_id, school_year=school_year, period=period)
    if format == "json":
        return rows
    header = ["Mã đối tượng", "Đối tượng", "Khoản thu", "Số học sinh", "Mức thu (đồng)", "Miễn giảm (đồng)"]
    table = [
        [r["policy_category"], r["category_name"], r["category"], r["students"], r["list_amount"], r["reduction"]]
        for r in rows
    ]
    return exports.download(exports.csv_bytes(header, table), f"mien-giam-{school_id}", "csv")
