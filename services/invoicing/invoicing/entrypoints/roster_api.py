"""Rosters: importing a school's pupils, the pupils, their personal data (access, erasure), a new school year."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from invoicing.adapters import roster_files
from invoicing.app import (
    personal_data,
    roster,
    school_years,
)
from invoicing.entrypoints.schemas import ReasonIn
from invoicing.settings import InvoicingSettings
from invoicing.stores import roster_store
from shared import exports, rows
from shared.auth import Principal, SchoolStaff
from shared.schemas import Out, Row, files, model_of
from shared.service import Runtime, settings_dependency

router = APIRouter()
Settings = Annotated[InvoicingSettings, Depends(settings_dependency(InvoicingSettings))]


_STUDENT = model_of(
    roster_store.Listed,
    base=Row,
    described={"has_personal_id": "false: no personal ID yet (not in the sector database)"},
)


class Student(_STUDENT):  # type: ignore[misc,valid-type]
    """A pupil of the roster (the guardian's phone opened)."""


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
    return JSONResponse(asdict(result), status_code=422 if refused else 200)


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
    return [Student.model_validate(r, from_attributes=True) for r in rows]


@router.get(
    "/schools/{school_id}/students/{code}/personal-data",
    tags=["roster"],
    summary="Everything held about a pupil (a data subject's request for access)",
)
async def export_personal_data(
    school_id: str, code: str, rt: Runtime, settings: Settings, _: SchoolStaff
) -> PersonalData:
    held = await personal_data.export(rt.db(), settings.sealer(), school_id=school_id, code=code)
    return PersonalData.model_validate(rows.as_dict(held))


@router.post(
    "/schools/{school_id}/students/{code}/erasure",
    tags=["roster"],
    summary="Erase a pupil's personal data on request; invoices, payments and receipts keep their legal content",
)
async def erase_personal_data(school_id: str, code: str, body: ReasonIn, rt: Runtime, p: SchoolStaff) -> Erased:
    erased = await personal_data.erase(
        rt.db(), rt.outbox, school_id=school_id, code=code, reason=body.reason, by=p.subject
    )
    return Erased.model_validate(erased, from_attributes=True)


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


class YearDone(Out):
    to_year: str
    done_by: str
    done_at: datetime


_PLAN = model_of(
    school_years.RolledOver,
    described={
        "unreadable": "classes whose grade cannot be read: nothing is applied",
        "plan": "what applying confirms (the counts); a roster changed since is refused",
    },
    leave_out=("by_class", "unreadable", "already_done"),
    more={"by_class": list[ClassMove], "unreadable": list[UnreadableClass], "already_done": YearDone | None},
)


class SchoolYearPlan(_PLAN):  # type: ignore[misc,valid-type]
    """What rolling the school year over does: applied, or previewed (with the turn already done, if any)."""


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
    plan = await school_years.preview(rt.db(), _roll_over(school_id, to_year, body, p))
    return SchoolYearPlan.model_validate(plan, from_attributes=True)


@router.post(
    "/schools/{school_id}/school-years/{to_year}",
    tags=["roster"],
    summary="Start a new school year: classes promoted (1A → 2A), the last grade graduates, history kept; once",
)
async def start_school_year(
    school_id: str, to_year: str, body: SchoolYearIn, rt: Runtime, p: SchoolStaff
) -> SchoolYearPlan:
    cmd = _roll_over(school_id, to_year, body, p)
    return SchoolYearPlan.model_validate(await school_years.apply(rt.db(), rt.outbox, cmd), from_attributes=True)
