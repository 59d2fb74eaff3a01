"""Roster import: preview, apply (all or nothing), or apply the valid rows only."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from enum import StrEnum

import asyncpg

from invoicing.adapters.roster_files import LABELS, MAPPABLE, RawRow, RosterFileError, read_roster
from invoicing.app.schools import get_school
from invoicing.domain.fees import EVERY_PUPIL
from invoicing.domain.roster import RowError, Student, fold, validate_row
from invoicing.stores import roster_store
from invoicing.stores.roster_store import Listed, Pupil
from shared.db import Executor
from shared.errors import Conflict, Invalid
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from shared.logging import get_logger
from shared.sealed import Sealer
from tuition.invoicing.v1.events_pb2 import RosterCounted

log = get_logger(__name__)

# Fields compared to decide whether an existing student changed.
_FIELDS = (
    "full_name",
    "date_of_birth",
    "gender",
    "grade",
    "class_name",
    "national_id",
    "guardian_name",
    "guardian_phone",
    "virtual_account",
    "guardian_email",
)


class ImportMode(StrEnum):
    PREVIEW = "preview"
    APPLY = "apply"
    APPLY_VALID = "apply_valid"


@dataclass(kw_only=True)
class ImportResult:
    mode: str
    applied: bool
    rows: int
    valid: int
    created: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)  # student code → changed fields
    unchanged: int = 0
    marked_left: list[str] = field(default_factory=list)
    without_personal_id: list[str] = field(default_factory=list)  # valid pupils flagged: no personal ID yet
    errors: list[RowError] = field(default_factory=list)
    # What applying would do, as counts ("+added ~changed -left"): applying a file that changes or retires
    # pupils already on the roster needs this sent back as `confirm`, so that none is changed unseen.
    plan: str = ""


async def _policy_aliases(conn: asyncpg.Connection) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for row in await roster_store.policy_categories(conn):
        if row.code in EVERY_PUPIL:
            continue
        aliases[fold(row.name)] = row.code
        aliases[fold(row.code)] = row.code
        for alias in row.aliases:
            aliases[fold(alias)] = row.code
    return aliases


# Personal data sealed at rest (shared/sealed.py): compared and shown only once opened.
SEALED = ("national_id", "guardian_phone", "guardian_email")


def _differences(student: Student, existing: Pupil, sealer: Sealer) -> list[str]:
    def stored(f: str) -> object:
        value = getattr(existing, f)
        if f in SEALED:
            return sealer.open(value) if value else ""
        return value

    changed = [f for f in _FIELDS if getattr(student, f) != stored(f)]
    if set(existing.policy_categories) != set(student.policy_categories):
        changed.append("policy_categories")
    if (existing.left_at is not None) != student.left:
        changed.append("left")
    return changed


@dataclass(frozen=True, kw_only=True)
class RosterUpload:
    school_id: str
    filename: str
    data: bytes
    mode: ImportMode
    imported_by: str
    today: date
    confirm: str | None = None  # the preview's `plan`, when the import changes or retires pupils
    mapping: dict[str, str] | None = None  # field → the school's heading, for headings not recognised
    remember: bool = True  # keep `mapping` for the school's next files


def parse_mapping(text: str | None) -> dict[str, str] | None:
    """The page's column mapping (JSON {field: heading}), checked: known fields, short headings."""
    if text is None or not text.strip():
        return None
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise Invalid("Cách ghép cột (mapping) không phải JSON hợp lệ.") from exc
    if not isinstance(raw, dict) or not all(isinstance(v, str) and 0 < len(v) <= 200 for v in raw.values()):
        raise Invalid('Cách ghép cột phải có dạng {"cột cần có": "tên cột trong tệp"}.')
    unknown = sorted(k for k in raw if k not in MAPPABLE)
    if unknown:
        raise Invalid(f"Cột không có trong danh sách học sinh: {', '.join(unknown[:10])}.")
    return {k: v.strip() for k, v in raw.items()}


async def _read(pool: asyncpg.Pool, upload: RosterUpload) -> list[RawRow]:
    """The file's rows, its headings read with the mapping sent, else the school's own kept mapping."""
    mapping = upload.mapping if upload.mapping is not None else await roster_store.saved_mapping(pool, upload.school_id)
    try:
        # CPU work on an uploaded file (bounded by its size and the reader's row limits): off the event loop.
        raw = await asyncio.to_thread(read_roster, upload.filename, upload.data, mapping)
    except RosterFileError as exc:
        # The page offers to map the file's headings (`headers`) to each column missing, once.
        details = [
            {
                "field": f,
                "in": "file",
                "code": "missing_column",
                "message": LABELS.get(f, MAPPABLE.get(f, f)),
                "headers": exc.headers,
            }
            for f in exc.missing
        ]
        raise Invalid(f"{upload.filename}: {exc}", details=details) from exc
    if upload.mapping and upload.remember:
        await roster_store.save_mapping(pool, upload.school_id, upload.mapping, by=upload.imported_by)
    return raw


async def import_roster(
    pool: asyncpg.Pool, outbox: Outbox, upload: RosterUpload, *, pseudonym_secret: bytes, sealer: Sealer
) -> ImportResult:
    raw = await _read(pool, upload)
    async with pool.acquire() as conn:
        await get_school(conn, upload.school_id)
        aliases = await _policy_aliases(conn)
        existing = {r.student_code: r for r in await roster_store.students_of(conn, upload.school_id)}
    result = ImportResult(mode=upload.mode, applied=False, rows=len(raw), valid=0)
    valid, seen = _validate(raw, aliases, upload.today, result)
    changes = _compare(valid, existing, sealer, result)
    # Students absent from the file have left (a row with errors still counts as present).
    result.marked_left = sorted(c for c, r in existing.items() if c not in seen and r.left_at is None)
    result.plan = f"+{len(result.created)} ~{len(result.updated)} -{len(result.marked_left)}"
    if upload.mode is ImportMode.PREVIEW or (result.errors and upload.mode is ImportMode.APPLY):
        return result
    if (result.updated or result.marked_left) and upload.confirm != result.plan:
        raise Conflict(
            f"Lần nhập này sẽ thêm {len(result.created)}, cập nhật {len(result.updated)} và đánh dấu "
            f"{len(result.marked_left)} học sinh đã nghỉ: xem trước rồi xác nhận (confirm={result.plan!r})."
        )
    async with pool.acquire() as conn, conn.transaction():
        await _write(conn, upload.school_id, changes, pseudonym_secret, sealer)
        await roster_store.mark_left(conn, upload.school_id, result.marked_left)
        await count_roster(conn, outbox, upload.school_id)
        result.applied = True
        await roster_store.record_import(
            conn,
            school_id=upload.school_id,
            filename=upload.filename,
            mode=str(upload.mode),
            summary={k: v for k, v in asdict(result).items() if k != "errors"},
            errors=[asdict(e) for e in result.errors],
            imported_by=upload.imported_by,
        )
    log.info(
        "invoicing.roster.imported",
        school_id=upload.school_id,
        created=len(result.created),
        updated=len(result.updated),
        marked_left=len(result.marked_left),
        errors=len(result.errors),
    )
    return result


async def count_roster(conn: asyncpg.Connection, outbox: Outbox, school_id: str) -> None:
    """Tell the district how many pupils the school has and how many carry a valid personal ID (counts only)."""
    students, with_id = await roster_store.roster_counts(conn, school_id)
    counted = RosterCounted(school_id=school_id, students=students, with_personal_id=with_id)
    counted.counted_at.GetCurrentTime()
    await outbox.add(conn, Topic.INVOICING, counted, aggregate_id=school_id, school_id=school_id)


def _validate(
    raw: list[RawRow], aliases: dict[str, str], today: date, result: ImportResult
) -> tuple[list[Student], dict[str, int]]:
    """Valid students of the file, and the line of each code seen (duplicates are errors)."""
    valid: list[Student] = []
    seen: dict[str, int] = {}
    for row in raw:
        student, errors = validate_row(row.line, row.values, policy_aliases=aliases, today=today)
        code = row.values.get("student_code", "")
        if code in seen:
            errors.append(RowError(row.line, "Mã học sinh", f"duplicate of line {seen[code]}"))
            student = None
        elif code:
            seen[code] = row.line
        result.errors.extend(errors)
        if student is not None and not errors:
            valid.append(student)
    result.valid = len(valid)
    result.without_personal_id = [s.student_code for s in valid if not s.national_id]
    return valid, seen


def _compare(
    valid: list[Student], existing: dict[str, Pupil], sealer: Sealer, result: ImportResult
) -> list[tuple[Student, Pupil | None]]:
    """What changes: new students, students whose data differ; the rest is counted unchanged."""
    changes: list[tuple[Student, Pupil | None]] = []
    for student in valid:
        before = existing.get(student.student_code)
        if before is None:
            result.created.append(student.student_code)
            changes.append((student, None))
        elif diff := _differences(student, before, sealer):
            result.updated[student.student_code] = diff
            changes.append((student, before))
        else:
            result.unchanged += 1
    return changes


async def _write(
    conn: asyncpg.Connection,
    school_id: str,
    changes: list[tuple[Student, Pupil | None]],
    pseudonym_secret: bytes,
    sealer: Sealer,
) -> None:
    rows = [
        (
            before.student_id if before is not None else uuid.uuid4(),
            school_id,
            s.student_code,
            s.full_name,
            s.date_of_birth,
            s.gender,
            s.grade,
            s.class_name,
            sealer.seal(s.national_id),
            s.guardian_name,
            sealer.seal(s.guardian_phone),
            s.family_key(pseudonym_secret),
            s.virtual_account,
            sorted(s.policy_categories),
            s.left,
            bool(s.national_id),
            sealer.seal(s.guardian_email) if s.guardian_email else None,
        )
        for s, before in changes
    ]
    await roster_store.upsert_students(conn, rows)


async def list_students(db: Executor, sealer: Sealer, school_id: str, *, include_left: bool) -> list[Listed]:
    """The roster, the guardian's phone opened."""
    rows = await roster_store.listing(db, school_id, include_left=include_left)
    return [replace(r, guardian_phone=sealer.open(r.guardian_phone) if r.guardian_phone else "") for r in rows]
