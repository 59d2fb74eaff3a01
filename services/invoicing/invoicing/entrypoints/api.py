"""HTTP API of the invoicing service (accountants, the district office, other services)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from invoicing.adapters import roster_files
from invoicing.app import (
    fees,
    invoices,
    issuing,
    payment_links,
    personal_data,
    queries,
    roster,
    rounds,
    school_years,
    schools,
)
from invoicing.domain.fees import Cadence, FeeCategory, FeeItem, Period, Rate
from invoicing.settings import InvoicingSettings
from shared import exports, qr
from shared.auth import Principal, Role, SchoolReader, SchoolStaff, ScopedReader, ServiceCaller, require
from shared.errors import Forbidden
from shared.formatting import VN
from shared.money import Amount, PositiveAmount, SignedAmount
from shared.schemas import Out, Row, files
from shared.service import Runtime, settings_dependency

router = APIRouter()
Settings = Annotated[InvoicingSettings, Depends(settings_dependency(InvoicingSettings))]


class Student(Row):
    student_id: uuid.UUID
    student_code: str
    full_name: str
    date_of_birth: date | None
    grade: str
    class_name: str
    guardian_name: str
    guardian_phone: str
    policy_categories: list[str]
    virtual_account: str | None
    left_at: datetime | None
    has_personal_id: bool = Field(description="false: no personal ID yet (not in the sector database)")


class SchoolChange(Out):
    changed_by: str
    changed_at: datetime
    before: dict[str, str]
    after: dict[str, str]


class RowProblem(Out):
    line: int
    column: str
    message: str


class RosterImport(Out):
    mode: str
    applied: bool
    rows: int
    valid: int
    created: list[str] = Field(description="codes of the pupils added")
    updated: dict[str, list[str]] = Field(description="pupil code → the fields that changed")
    unchanged: int
    marked_left: list[str] = Field(description="codes of the pupils no longer in the file, marked as left")
    without_personal_id: list[str] = Field(description="codes of the valid pupils with no personal ID (flagged)")
    errors: list[RowProblem]
    plan: str = Field(
        description='what applying does, "+added ~changed -left": send it back as `confirm` to apply a file that '
        "changes or retires pupils on the roster"
    )


class PersonalData(Out):
    student: dict[str, Any] = Field(description="the roster row, personal fields opened")
    invoices: list[dict[str, Any]]
    erasures: list[dict[str, Any]]
    class_history: list[dict[str, Any]] = Field(description="the class of each school year that ended, and its outcome")
    note: str


class Erased(Out):
    student_code: str
    erased: bool
    keys_destroyed: int = Field(description="the pupil's keys destroyed: the names sealed in events no longer open")


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


class PolicyRule(Row):
    policy_id: int
    school_id: str | None = Field(description="null: the national rule for every school")
    category: str
    fee_category: str
    kind: str
    value: int
    effective_from: date
    effective_to: date | None
    legal_basis: str
    everyone: bool
    ownership: str | None
    cap: int | None
    article: str


class Policies(Out):
    categories: list[PolicyCategory]
    policies: list[PolicyRule]


class PolicyCreated(Out):
    policy_id: int


class Issued(Out):
    period: str
    created: int
    already_issued: int
    nothing_billed: int = Field(description="pupils with nothing to pay this period (no invoice)")
    total_invoiced: int


class InvoiceFigures(Out):
    """What every view of an invoice shows: whose, for what period, how much, and where it stands."""

    invoice_id: uuid.UUID
    period: str
    payment_reference: str
    total: int
    amount_paid: int
    outstanding: int
    status: str
    due_date: date
    student_code: str
    full_name: str
    class_name: str


class InvoiceSummary(InvoiceFigures):
    round_code: str = Field(default="", description="empty for the period's invoice; a collection round's code")
    pay_url: str = Field(description="the parent's payment page")


class InvoiceLine(Out):
    line_no: int
    item_code: str
    name: str
    category: str
    quantity: int
    unit_amount: int
    list_amount: int
    reduction: int
    policy_category: str | None
    amount: int


class Adjustment(Out):
    delta: int
    reason: str
    adjusted_by: str
    created_at: datetime


class InvoicePayment(Out):
    payment_id: str
    amount: int
    channel: str
    bank_reference: str
    paid_at: datetime
    reversed_at: datetime | None


class InvoiceReceipt(Out):
    receipt_id: str
    number: str
    url: str
    issued_at: datetime


class InvoiceDetail(InvoiceFigures):
    model_config = ConfigDict(extra="allow")  # the invoice's further columns pass through

    school_id: str
    school_year: str
    lines: list[InvoiceLine]
    adjustments: list[Adjustment]
    payments: list[InvoicePayment]
    receipts: list[InvoiceReceipt]


class Adjusted(Out):
    total: int
    status: str


class PaymentGroup(Out):
    group_id: uuid.UUID
    payment_reference: str
    total: int
    public_token: str
    invoice_ids: list[uuid.UUID]


class ReimbursementLine(Out):
    policy_category: str | None
    category_name: str
    category: str
    students: int
    list_amount: int
    reduction: int


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
    return School.model_validate(await schools.register_school(rt.db(), rt.outbox, cmd, actor))


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
    return School.model_validate(await schools.get_school(rt.db(), school_id))


@router.post(
    "/schools/{school_id}/roster",
    tags=["roster"],
    summary="Import the roster (CSV or .xlsx): preview, apply (all or nothing) or apply valid rows only",
    response_model=RosterImport,
    responses={422: {"model": RosterImport, "description": "apply refused: the file has errors, nothing stored"}},
)
async def import_roster(
    school_id: str,
    rt: Runtime,
    settings: Settings,
    p: SchoolStaff,
    file: UploadFile = File(...),
    mode: roster.ImportMode = Query(roster.ImportMode.PREVIEW),
    confirm: str | None = Query(
        None,
        max_length=40,
        description='the preview\'s `plan` ("+added ~changed -left"): needed to apply an import that changes '
        "pupils already on the roster or marks some as left",
    ),
    mapping: str | None = Form(
        None,
        max_length=4000,
        description="JSON {field: heading in the file} for headings the reader does not know, e.g. "
        '{"student_code": "Mã HS (MOET)"}; fields: ' + ", ".join(roster_files.MAPPABLE),
    ),
    remember: bool = Form(True, description="keep the mapping for the school's next files"),
) -> Response:
    upload = roster.RosterUpload(
        school_id=school_id,
        filename=file.filename or "",
        data=await file.read(),
        mode=mode,
        imported_by=p.subject,
        today=date.today(),
        confirm=confirm,
        mapping=roster.parse_mapping(mapping),
        remember=remember,
    )
    secret = settings.pseudonym_secret.get_secret_value().encode()
    result = await roster.import_roster(rt.db(), rt.outbox, upload, pseudonym_secret=secret, sealer=settings.sealer())
    refused = mode is roster.ImportMode.APPLY and result.errors
    return JSONResponse(result.as_dict(), status_code=422 if refused else 200)


@router.get(
    "/schools/{school_id}/roster/template.xlsx",
    tags=["roster"],
    summary="A roster template to fill in: the headings this import reads, and one example pupil",
    response_class=Response,
    responses=files(exports.XLSX_MEDIA_TYPE, description="the template"),
)
async def roster_template(school_id: str, _: SchoolStaff) -> Response:
    return await exports.table_download(
        roster_files.TEMPLATE_HEADER,
        [roster_files.TEMPLATE_EXAMPLE],
        filename="mau-danh-sach-hoc-sinh",
        fmt="xlsx",
        title="Danh sach hoc sinh",
    )


@router.get("/schools/{school_id}/students", tags=["roster"])
async def list_students(
    school_id: str, rt: Runtime, settings: Settings, _: SchoolStaff, include_left: bool = False
) -> list[Student]:
    rows = await roster.list_students(rt.db(), settings.sealer(), school_id, include_left=include_left)
    return [Student(**r) for r in rows]


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1)


@router.get(
    "/schools/{school_id}/students/{code}/personal-data",
    tags=["roster"],
    summary="Everything held about a pupil (a data subject's request for access)",
)
async def export_personal_data(
    school_id: str, code: str, rt: Runtime, settings: Settings, _: SchoolStaff
) -> PersonalData:
    return PersonalData.model_validate(
        await personal_data.export(rt.db(), settings.sealer(), school_id=school_id, code=code)
    )


@router.post(
    "/schools/{school_id}/students/{code}/erasure",
    tags=["roster"],
    summary="Erase a pupil's personal data on request; invoices, payments and receipts keep their legal content",
)
async def erase_personal_data(school_id: str, code: str, body: ReasonIn, rt: Runtime, p: SchoolStaff) -> Erased:
    erased = await personal_data.erase(
        rt.db(), rt.outbox, school_id=school_id, code=code, reason=body.reason, by=p.subject
    )
    return Erased.model_validate(erased)


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
    return Policies.model_validate(visible)


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
    p: SchoolStaff,
    body: IssueIn | None = None,
) -> Issued:
    body = body or IssueIn()
    cmd = issuing.IssuePeriod(school_id, Period.parse(period), body.due_date, body.school_days, issued_by=p.subject)
    result = await issuing.issue_period(rt.db(), rt.outbox, cmd)
    return Issued.model_validate(result, from_attributes=True)


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


class Round(Row):
    code: str
    name: str
    period: str
    class_name: str | None
    grade: str | None
    due_date: date
    items: list[dict[str, Any]]
    invoices: int
    invoiced: int
    collected: int
    created_by: str
    created_at: datetime


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
    return RoundOpened.model_validate(await rounds.open_round(rt.db(), rt.outbox, cmd))


@router.get("/schools/{school_id}/rounds", tags=["invoices"], summary="The school's collection rounds")
async def list_rounds(school_id: str, rt: Runtime, _: SchoolStaff) -> list[Round]:
    return [Round.model_validate(r) for r in await rounds.list_rounds(rt.db(), school_id)]


class SchoolYearIn(BaseModel):
    last_grade: int = Field(ge=1, le=12, description="the school's last grade: its pupils graduate (5, 9 or 12)")
    repeaters: list[str] = Field(default=[], max_length=2000, description="codes of pupils held back a year")
    confirm: str | None = Field(default=None, max_length=40, description="applying: the preview's `plan`")


class ClassMove(Out):
    class_name: str
    outcome: str = Field(description="promoted | graduated | repeated")
    new_class: str | None
    pupils: int
    outstanding: int = Field(description="đồng the class's pupils still owe: it stays owed")


class UnreadableClass(Out):
    class_name: str
    pupils: int


class Carried(Out):
    pupils_owing: int
    outstanding: int
    graduates_owing: int
    graduates_outstanding: int


class YearDone(Out):
    to_year: str
    done_by: str
    done_at: datetime


class SchoolYearPlan(Out):
    from_year: str
    to_year: str
    last_grade: int
    promoted: int
    graduated: int
    repeated: int
    by_class: list[ClassMove]
    unreadable: list[UnreadableClass] = Field(description="classes whose grade cannot be read: nothing is applied")
    carried: Carried
    plan: str = Field(description="what applying confirms (the counts); a roster changed since is refused")
    applied: bool
    already_done: YearDone | None


def _roll_over(school_id: str, to_year: str, body: SchoolYearIn, p: Principal) -> school_years.RollOver:
    return school_years.RollOver(
        school_id=school_id,
        to_year=to_year,
        last_grade=body.last_grade,
        repeaters=frozenset(body.repeaters),
        by=p.subject,
        confirm=body.confirm,
    )


@router.post(
    "/schools/{school_id}/school-years/{to_year}/preview",
    tags=["roster"],
    summary="A new school year, previewed: who moves up to which class, who graduates, what stays owed",
)
async def preview_school_year(
    school_id: str, to_year: str, body: SchoolYearIn, rt: Runtime, p: SchoolStaff
) -> SchoolYearPlan:
    return SchoolYearPlan.model_validate(await school_years.preview(rt.db(), _roll_over(school_id, to_year, body, p)))


@router.post(
    "/schools/{school_id}/school-years/{to_year}",
    tags=["roster"],
    summary="Start a new school year: classes promoted (1A → 2A), the last grade graduates, history kept; once",
)
async def start_school_year(
    school_id: str, to_year: str, body: SchoolYearIn, rt: Runtime, p: SchoolStaff
) -> SchoolYearPlan:
    cmd = _roll_over(school_id, to_year, body, p)
    return SchoolYearPlan.model_validate(await school_years.apply(rt.db(), rt.outbox, cmd))


class ClassTotal(Out):
    class_name: str
    invoices: int
    total: int


class ItemTotal(Out):
    item_code: str
    name: str
    list_amount: int
    reduction: int
    amount: int


class ExemptionTotal(Out):
    policy_category: str
    students: int
    reduction: int


class IssuePreview(Out):
    period: str
    invoices: int = Field(description="invoices issuing would create now")
    already_issued: int
    nothing_billed: int
    total: int
    by_class: list[ClassTotal]
    by_item: list[ItemTotal]
    exemptions: list[ExemptionTotal]


@router.get(
    "/schools/{school_id}/periods/{period}/invoices/preview",
    tags=["invoices"],
    summary="What issuing the period would create (totals per class, fee item and exemption); nothing is written",
)
async def issue_preview(
    school_id: str,
    period: str,
    rt: Runtime,
    _: SchoolStaff,
    school_days: int | None = Query(None, ge=0, le=31),
) -> IssuePreview:
    cmd = issuing.IssuePeriod(school_id, Period.parse(period), None, school_days)
    return IssuePreview.model_validate(await issuing.preview_period(rt.db(), cmd))


@router.get("/schools/{school_id}/invoices", tags=["invoices"])
async def list_invoices(
    school_id: str,
    rt: Runtime,
    settings: Settings,
    _: SchoolStaff,
    period: str | None = None,
    status: str | None = None,
    limit: int = Query(200, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=10_000_000),
    class_name: str | None = Query(None, max_length=40),
    student: str | None = Query(
        None,
        min_length=1,
        max_length=80,
        description='a pupil\'s code, or part of a name with or without its marks ("duong dieu yen")',
    ),
    owing: bool = Query(False, description="only the invoices still to pay (open or partly paid)"),
) -> list[InvoiceSummary]:
    rows = await queries.list_invoices(
        rt.db(),
        school_id,
        period=period,
        status=status,
        limit=limit,
        offset=offset,
        public_url=settings.public_url,
        class_name=class_name,
        student=student,
        owing=owing,
    )
    return [InvoiceSummary.model_validate(r) for r in rows]


@router.get("/schools/{school_id}/invoices/{invoice_id}", tags=["invoices"])
async def get_invoice(school_id: str, invoice_id: uuid.UUID, rt: Runtime, _: SchoolStaff) -> InvoiceDetail:
    return InvoiceDetail.model_validate(await queries.invoice_detail(rt.db(), invoice_id, school_id))


@router.post("/schools/{school_id}/invoices/{invoice_id}/cancel", tags=["invoices"], status_code=204)
async def cancel(school_id: str, invoice_id: uuid.UUID, body: ReasonIn, rt: Runtime, p: SchoolStaff) -> None:
    await invoices.cancel_invoice(
        rt.db(), rt.outbox, school_id=school_id, invoice_id=invoice_id, reason=body.reason, by=p.subject
    )


class PaymentLink(Out):
    pay_url: str = Field(description="the new link to send the family; the old one says it was replaced")


@router.post(
    "/schools/{school_id}/invoices/{invoice_id}/payment-link",
    tags=["parents"],
    summary="Replace the parents' link of an invoice (and of the family groups holding it)",
)
async def replace_payment_link(
    school_id: str, invoice_id: uuid.UUID, rt: Runtime, settings: Settings, p: SchoolStaff
) -> PaymentLink:
    url = await payment_links.replace(
        rt.db(), school_id=school_id, invoice_id=invoice_id, by=p.subject, public_url=settings.public_url
    )
    return PaymentLink(pay_url=url)


class LinkEndIn(BaseModel):
    expires_on: date = Field(description="the last day the period's links open (Asia/Ho_Chi_Minh)")


@router.put(
    "/schools/{school_id}/payment-links/{period}",
    tags=["parents"],
    summary="The day the parents' links of a billing period end (120 days after issue unless set)",
)
async def set_payment_links_end(
    school_id: str, period: str, body: LinkEndIn, rt: Runtime, p: SchoolStaff
) -> dict[str, int]:
    today = datetime.now(VN).date()
    count = await payment_links.set_period_end(
        rt.db(), school_id=school_id, period=period, expires_on=body.expires_on, today=today
    )
    return {"invoices": count}


class AdjustIn(BaseModel):
    delta: SignedAmount = Field(description="đồng added to (positive) or taken from (negative) the total")
    reason: str = Field(min_length=1)


@router.post("/schools/{school_id}/invoices/{invoice_id}/adjustments", tags=["invoices"])
async def adjust(school_id: str, invoice_id: uuid.UUID, body: AdjustIn, rt: Runtime, p: SchoolStaff) -> Adjusted:
    adjusted = await invoices.adjust_invoice(
        rt.db(),
        rt.outbox,
        school_id=school_id,
        invoice_id=invoice_id,
        delta=body.delta,
        reason=body.reason,
        by=p.subject,
    )
    return Adjusted.model_validate(adjusted)


@router.get(
    "/schools/{school_id}/invoices/{invoice_id}/qr.{fmt}",
    tags=["invoices"],
    summary="The invoice's VietQR: txt (payload), png or svg",
    response_class=Response,
    responses=files("text/plain", "image/png", "image/svg+xml", description="the VietQR payload or its image"),
)
async def invoice_qr(
    school_id: str,
    invoice_id: uuid.UUID,
    fmt: Literal["txt", "png", "svg"],
    rt: Runtime,
    _: SchoolStaff,
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
async def payment_group(school_id: str, body: GroupIn, rt: Runtime, _: SchoolStaff) -> PaymentGroup:
    group = await invoices.create_payment_group(rt.db(), rt.outbox, school_id=school_id, invoice_ids=body.invoice_ids)
    return PaymentGroup.model_validate(group)


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
    "/schools/{school_id}/exports/notices.pdf",
    tags=["parents"],
    summary="Printed payment notices (two per A4 page, with the QR) of what is owed for a period, for a class",
    response_class=Response,
    responses=files("application/pdf", description="A4, two A5 notices per page"),
)
async def notices_pdf(
    school_id: str,
    rt: Runtime,
    settings: Settings,
    _: SchoolStaff,
    period: str = Query(pattern=r"^\d{4}-\d{2}$"),
    class_name: str | None = Query(None, max_length=40),
) -> Response:
    data = await queries.payment_notices(
        rt.db(), school_id, period=period, class_name=class_name, public_url=settings.public_url
    )
    name = f"giay-bao-{school_id}-{period}" + (f"-{class_name}" if class_name else "")
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
    table = [
        [r["policy_category"], r["category_name"], r["category"], r["students"], r["list_amount"], r["reduction"]]
        for r in rows
    ]
    return exports.download(exports.csv_bytes(header, table), f"mien-giam-{school_id}", "csv")
