"""Roster import: preview, apply (all or nothing), or apply the valid rows only."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import asyncpg

from invoicing.adapters.roster_files import RosterFileError, read_roster
from invoicing.app.schools import get_school
from invoicing.domain.errors import Invalid
from invoicing.domain.roster import RowError, Student, fold, validate_row
from shared.logging import get_logger
from shared.sealed import Sealer

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
)


class ImportMode(StrEnum):
    PREVIEW = "preview"
    APPLY = "apply"
    APPLY_VALID = "apply_valid"


@dataclass
class ImportResult:
    mode: str
    applied: bool
    rows: int
    valid: int
    created: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)  # student code → changed fields
    unchanged: int = 0
    marked_left: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["errors"] = [asdict(e) for e in self.errors]
        return out


async def _policy_aliases(conn: asyncpg.Connection) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for row in await conn.fetch("SELECT code, name, aliases FROM policy_categories"):
        aliases[fold(row["name"])] = row["code"]
        aliases[fold(row["code"])] = row["code"]
        for alias in row["aliases"]:
            aliases[fold(alias)] = row["code"]
    return aliases


# Personal data sealed at rest (shared/sealed.py): compared and shown only once opened.
SEALED = ("national_id", "guardian_phone")


def _differences(student: Student, existing: asyncpg.Record, sealer: Sealer) -> list[str]:
    def stored(f: str) -> object:
        return sealer.open(existing[f]) if f in SEALED else existing[f]

    changed = [f for f in _FIELDS if getattr(student, f) != stored(f)]
    if set(existing["policy_categories"]) != set(student.policy_categories):
        changed.append("policy_categories")
    if (existing["left_at"] is not None) != student.left:
        changed.append("left")
    return changed


async def import_roster(
    pool: asyncpg.Pool,
    *,
    school_id: str,
    filename: str,
    data: bytes,
    mode: ImportMode,
    imported_by: str,
    today: date,
    pseudonym_secret: bytes,
    sealer: Sealer,
) -> ImportResult:
    try:
        # CPU work on an uploaded file (bounded by its size and the reader's row limits): off the event loop.
        raw = await asyncio.to_thread(read_roster, filename, data)
    except RosterFileError as exc:
        raise Invalid(f"{filename}: {exc}") from exc
    async with pool.acquire() as conn:
        await get_school(conn, school_id)
        aliases = await _policy_aliases(conn)
        existing = {
            r["student_code"]: r for r in await conn.fetch("SELECT * FROM students WHERE school_id = $1", school_id)
        }
    result = ImportResult(mode=mode, applied=False, rows=len(raw), valid=0)
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
    changes: list[tuple[Student, asyncpg.Record | None]] = []
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
    # Students absent from the file have left (a row with errors still counts as present).
    result.marked_left = sorted(c for c, r in existing.items() if c not in seen and r["left_at"] is None)
    if mode is ImportMode.PREVIEW or (result.errors and mode is ImportMode.APPLY):
        return result
    async with pool.acquire() as conn, conn.transaction():
        await _write(conn, school_id, changes, pseudonym_secret, sealer)
        if result.marked_left:
            await conn.execute(
                "UPDATE students SET left_at = now(), updated_at = now() "
                "WHERE school_id = $1 AND student_code = ANY($2::text[]) AND left_at IS NULL",
                school_id,
                result.marked_left,
            )
        result.applied = True
        summary = {k: v for k, v in result.as_dict().items() if k != "errors"}
        await conn.execute(
            "INSERT INTO roster_imports (import_id, school_id, filename, mode, applied, summary, errors, imported_by) "
            "VALUES ($1, $2, $3, $4, true, $5, $6, $7)",
            uuid.uuid4(),
            school_id,
            filename,
            str(mode),
            json.dumps(summary, default=str),
            json.dumps([asdict(e) for e in result.errors]),
            imported_by,
        )
    log.info(
        "invoicing.roster.imported",
        school_id=school_id,
        created=len(result.created),
        updated=len(result.updated),
        marked_left=len(result.marked_left),
        errors=len(result.errors),
    )
    return result


async def _write(
    conn: asyncpg.Connection,
    school_id: str,
    changes: list[tuple[Student, asyncpg.Record | None]],
    pseudonym_secret: bytes,
    sealer: Sealer,
) -> None:
    rows = [
        (
            before["student_id"] if before is not None else uuid.uuid4(),
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
        )
        for s, before in changes
    ]
    await conn.executemany(
        """INSERT INTO students (student_id, school_id, student_code, full_name, date_of_birth, gender, grade,
                                 class_name, national_id, guardian_name, guardian_phone, family_key,
                                 virtual_account, policy_categories, left_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, CASE WHEN $15 THEN now() END)
           ON CONFLICT (school_id, student_code) DO UPDATE SET
               full_name = EXCLUDED.full_name, date_of_birth = EXCLUDED.date_of_birth, gender = EXCLUDED.gender,
               grade = EXCLUDED.grade, class_name = EXCLUDED.class_name, national_id = EXCLUDED.national_id,
               guardian_name = EXCLUDED.guardian_name, guardian_phone = EXCLUDED.guardian_phone,
               family_key = EXCLUDED.family_key, virtual_account = EXCLUDED.virtual_account,
               policy_categories = EXCLUDED.policy_categories,
               left_at = CASE WHEN $15 THEN coalesce(students.left_at, now()) END, updated_at = now()""",
        rows,
    )
