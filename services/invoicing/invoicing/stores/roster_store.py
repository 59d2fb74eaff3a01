"""Students of a school (personal fields sealed at rest), the policy categories, and the import log."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from shared import rows
from shared.db import Executor


@dataclass(frozen=True, kw_only=True)
class Pupil:
    """A pupil on the roster; the personal ID, the guardian's phone and email sealed at rest."""

    student_id: uuid.UUID
    school_id: str
    student_code: str
    full_name: str
    date_of_birth: date | None
    gender: str | None
    grade: str
    class_name: str
    national_id: str
    guardian_name: str
    guardian_phone: str
    guardian_email: str | None
    family_key: str
    virtual_account: str | None
    policy_categories: list[str]
    has_personal_id: bool
    reminders_stopped: bool
    left_at: datetime | None
    erased_at: datetime | None
    graduated_in: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class Listed:
    """A pupil of the roster's list (the guardian's phone sealed)."""

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
    has_personal_id: bool


@dataclass(frozen=True, kw_only=True)
class PolicyCategory:
    code: str
    name: str
    aliases: list[str]


@dataclass(frozen=True, kw_only=True)
class PupilInvoice:
    invoice_id: uuid.UUID
    period: str
    total: int
    amount_paid: int
    status: str
    payment_reference: str
    issued_at: datetime


@dataclass(frozen=True, kw_only=True)
class Erasure:
    erased_by: str
    erased_at: datetime
    reason: str


@dataclass(frozen=True, kw_only=True)
class Enrolled:
    """An enrolled pupil with the đồng still owed on its open invoices."""

    student_id: uuid.UUID
    student_code: str
    grade: str
    class_name: str
    outstanding: int


@dataclass(frozen=True, kw_only=True)
class YearDone:
    """A school year rolled over: into which, what it did (as stored: JSON), by whom and when."""

    to_year: str
    summary: str
    done_by: str
    done_at: datetime


@dataclass(frozen=True, kw_only=True)
class ClassYear:
    school_year: str
    grade: str
    class_name: str
    outcome: str


async def students_of(db: Executor, school_id: str) -> list[Pupil]:
    return rows.rows(Pupil, await db.fetch("SELECT * FROM students WHERE school_id = $1", school_id))


async def listing(db: Executor, school_id: str, *, include_left: bool) -> list[Listed]:
    found = await db.fetch(
        "SELECT student_id, student_code, full_name, date_of_birth, grade, class_name, guardian_name, "
        "guardian_phone, policy_categories, virtual_account, left_at, has_personal_id FROM students "
        "WHERE school_id = $1 "
        "AND ($2 OR left_at IS NULL) ORDER BY class_name, student_code",
        school_id,
        include_left,
    )
    return rows.rows(Listed, found)


async def policy_categories(db: Executor) -> list[PolicyCategory]:
    return rows.rows(PolicyCategory, await db.fetch("SELECT code, name, aliases FROM policy_categories"))


async def upsert_students(conn: asyncpg.Connection, rows: Sequence[tuple[object, ...]]) -> None:
    """Rows of (student_id, school_id, code, name, birth, gender, grade, class, sealed id, guardian, sealed
    phone, family key, virtual account, categories, left, has personal ID, sealed email or None)."""
    await conn.executemany(
        """INSERT INTO students (student_id, school_id, student_code, full_name, date_of_birth, gender, grade,
                                 class_name, national_id, guardian_name, guardian_phone, family_key,
                                 virtual_account, policy_categories, left_at, has_personal_id, guardian_email)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, CASE WHEN $15 THEN now() END, $16,
                   $17)
           ON CONFLICT (school_id, student_code) DO UPDATE SET
               full_name = EXCLUDED.full_name, date_of_birth = EXCLUDED.date_of_birth, gender = EXCLUDED.gender,
               grade = EXCLUDED.grade, class_name = EXCLUDED.class_name, national_id = EXCLUDED.national_id,
               guardian_name = EXCLUDED.guardian_name, guardian_phone = EXCLUDED.guardian_phone,
               family_key = EXCLUDED.family_key, virtual_account = EXCLUDED.virtual_account,
               policy_categories = EXCLUDED.policy_categories, has_personal_id = EXCLUDED.has_personal_id,
               guardian_email = EXCLUDED.guardian_email,
               left_at = CASE WHEN $15 THEN coalesce(students.left_at, now()) END, updated_at = now()""",
        rows,
    )


async def roster_counts(conn: asyncpg.Connection, school_id: str) -> tuple[int, int]:
    """(pupils enrolled, of whom with a valid personal ID) of the school."""
    row = await conn.fetchrow(
        "SELECT count(*) AS students, count(*) FILTER (WHERE has_personal_id) AS with_id FROM students "
        "WHERE school_id = $1 AND left_at IS NULL",
        school_id,
    )
    assert row is not None  # an aggregate always has its row
    return int(row["students"]), int(row["with_id"])


async def mark_left(conn: asyncpg.Connection, school_id: str, codes: list[str]) -> None:
    if codes:
        await conn.execute(
            "UPDATE students SET left_at = now(), updated_at = now() "
            "WHERE school_id = $1 AND student_code = ANY($2::text[]) AND left_at IS NULL",
            school_id,
            codes,
        )


async def record_import(
    conn: asyncpg.Connection,
    *,
    school_id: str,
    filename: str,
    mode: str,
    summary: Mapping[str, object],
    errors: Sequence[Mapping[str, object]],
    imported_by: str,
) -> None:
    await conn.execute(
        "INSERT INTO roster_imports (import_id, school_id, filename, mode, applied, summary, errors, imported_by) "
        "VALUES ($1, $2, $3, $4, true, $5, $6, $7)",
        uuid.uuid4(),
        school_id,
        filename,
        mode,
        json.dumps(summary, default=str),
        json.dumps(errors),
        imported_by,
    )


async def student(db: Executor, school_id: str, code: str) -> Pupil | None:
    found = await db.fetchrow("SELECT * FROM students WHERE school_id = $1 AND student_code = $2", school_id, code)
    return rows.maybe(Pupil, found)


async def invoices_of(db: Executor, student_id: object) -> list[PupilInvoice]:
    found = await db.fetch(
        "SELECT invoice_id, period, total, amount_paid, status, payment_reference, issued_at FROM invoices "
        "WHERE student_id = $1 ORDER BY period",
        student_id,
    )
    return rows.rows(PupilInvoice, found)


async def erasures_of(db: Executor, student_id: object) -> list[Erasure]:
    found = await db.fetch(
        "SELECT erased_by, erased_at, reason FROM student_erasures WHERE student_id = $1", student_id
    )
    return rows.rows(Erasure, found)


async def erase_personal_data(conn: asyncpg.Connection, student_id: object, *, by: str, reason: str) -> None:
    """The roster forgets the pupil's personal data (the pupil leaves); the erasure itself is recorded."""
    await conn.execute(
        "UPDATE students SET national_id = '', has_personal_id = false, date_of_birth = NULL, gender = NULL, "
        "guardian_name = '', guardian_phone = '', guardian_email = NULL, erased_at = now(), "
        "left_at = coalesce(left_at, now()), "
        "updated_at = now() WHERE student_id = $1",
        student_id,
    )
    await conn.execute(
        "INSERT INTO student_erasures (student_id, erased_by, reason) VALUES ($1, $2, $3)", student_id, by, reason
    )


async def enrolled_with_balances(db: Executor, school_id: str) -> list[Enrolled]:
    """The school's enrolled pupils, each with the đồng still owed on its open invoices."""
    found = await db.fetch(
        """SELECT s.student_id, s.student_code, s.grade, s.class_name,
                  coalesce((SELECT sum(i.total - i.amount_paid) FROM invoices i
                             WHERE i.student_id = s.student_id AND i.status IN ('open', 'partially_paid')), 0)
                      AS outstanding
             FROM students s WHERE s.school_id = $1 AND s.left_at IS NULL""",
        school_id,
    )
    return rows.rows(Enrolled, found)


async def year_done(db: Executor, school_id: str, from_year: str) -> YearDone | None:
    found = await db.fetchrow(
        "SELECT to_year, summary, done_by, done_at FROM school_years WHERE school_id = $1 AND from_year = $2",
        school_id,
        from_year,
    )
    return rows.maybe(YearDone, found)


async def roll_over(
    conn: asyncpg.Connection,
    *,
    school_id: str,
    from_year: str,
    to_year: str,
    moves: Sequence[tuple[Any, str, str, str, str | None, str | None]],
    summary: Mapping[str, object],
    by: str,
) -> None:
    """Moves of (student_id, grade, class, outcome, new grade, new class): the history first, then the pupils;
    graduates leave the roll (never deleted)."""
    await conn.execute(
        "INSERT INTO school_years (school_id, from_year, to_year, summary, done_by) VALUES ($1, $2, $3, $4, $5)",
        school_id,
        from_year,
        to_year,
        json.dumps(summary, ensure_ascii=False),
        by,
    )
    await conn.executemany(
        "INSERT INTO class_history (student_id, school_year, grade, class_name, outcome) VALUES ($1, $2, $3, $4, $5)",
        [(m[0], from_year, m[1], m[2], m[3]) for m in moves],
    )
    await conn.execute(
        """UPDATE students s SET grade = m.new_grade, class_name = m.new_class, updated_at = now()
             FROM unnest($1::uuid[], $2::text[], $3::text[]) AS m(student_id, new_grade, new_class)
            WHERE s.student_id = m.student_id""",
        [m[0] for m in moves if m[3] == "promoted"],
        [m[4] for m in moves if m[3] == "promoted"],
        [m[5] for m in moves if m[3] == "promoted"],
    )
    await conn.execute(
        "UPDATE students SET left_at = now(), graduated_in = $2, updated_at = now() "
        "WHERE school_id = $1 AND student_id = ANY($3::uuid[])",
        school_id,
        from_year,
        [m[0] for m in moves if m[3] == "graduated"],
    )


async def class_history(db: Executor, student_id: object) -> list[ClassYear]:
    found = await db.fetch(
        "SELECT school_year, grade, class_name, outcome FROM class_history WHERE student_id = $1 ORDER BY school_year",
        student_id,
    )
    return rows.rows(ClassYear, found)


async def saved_mapping(db: Executor, school_id: str) -> dict[str, str] | None:
    raw = await db.fetchval("SELECT mapping FROM roster_mappings WHERE school_id = $1", school_id)
    return None if raw is None else dict(json.loads(raw))


async def save_mapping(db: Executor, school_id: str, mapping: dict[str, str], *, by: str) -> None:
    await db.execute(
        "INSERT INTO roster_mappings (school_id, mapping, updated_by) VALUES ($1, $2, $3) "
        "ON CONFLICT (school_id) DO UPDATE SET mapping = EXCLUDED.mapping, updated_by = EXCLUDED.updated_by, "
        "updated_at = now()",
        school_id,
        json.dumps(mapping, ensure_ascii=False),
        by,
    )
