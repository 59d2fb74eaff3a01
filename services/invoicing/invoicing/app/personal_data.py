"""A pupil's personal data on request: everything held about them (export), and its erasure.

Erasure keeps the accounting history whole: invoices, payments and receipts already issued keep their
legal content (the pupil's code and name, the payer), as the accounting and e-receipt rules require; the
roster loses the personal ID, date of birth, gender and the guardian's name and phone, the pupil is marked
as left (no new invoice), and the erasure itself is recorded (who, when, why).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from invoicing.app.roster import SEALED
from shared.errors import Invalid, NotFound
from shared.logging import get_logger
from shared.sealed import Sealer

log = get_logger(__name__)


async def _student(conn: asyncpg.Connection | asyncpg.Pool, school_id: str, code: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM students WHERE school_id = $1 AND student_code = $2", school_id, code)
    if row is None:
        raise NotFound(f"no pupil {code!r} at school {school_id}")
    return row


async def export(pool: asyncpg.Pool, sealer: Sealer, *, school_id: str, code: str) -> dict[str, Any]:
    student = await _student(pool, school_id, code)
    invoices = await pool.fetch(
        "SELECT invoice_id, period, total, amount_paid, status, payment_reference, issued_at FROM invoices "
        "WHERE student_id = $1 ORDER BY period",
        student["student_id"],
    )
    erasures = await pool.fetch(
        "SELECT erased_by, erased_at, reason FROM student_erasures WHERE student_id = $1", student["student_id"]
    )
    held = {k: student[k] for k in student.keys() if k not in ("family_key",)}
    held |= {f: sealer.open(student[f]) if student[f] else "" for f in SEALED}
    return {
        "student": held,
        "invoices": [dict(r) for r in invoices],
        "erasures": [dict(r) for r in erasures],
        "note": "Receipts and bank payments for these invoices are kept by the receipts and reconciliation "
        "services as accounting records.",
    }


async def erase(pool: asyncpg.Pool, *, school_id: str, code: str, reason: str, by: str) -> dict[str, Any]:
    if not reason.strip():
        raise Invalid("an erasure needs its reason (the request it answers)")
    async with pool.acquire() as conn, conn.transaction():
        student = await _student(conn, school_id, code)
        if student["erased_at"] is not None:
            raise Invalid(f"pupil {code!r}'s personal data was already erased on {student['erased_at']:%Y-%m-%d}")
        await conn.execute(
            "UPDATE students SET national_id = '', date_of_birth = NULL, gender = NULL, guardian_name = '', "
            "guardian_phone = '', erased_at = now(), left_at = coalesce(left_at, now()), updated_at = now() "
            "WHERE student_id = $1",
            student["student_id"],
        )
        await conn.execute(
            "INSERT INTO student_erasures (student_id, erased_by, reason) VALUES ($1, $2, $3)",
            student["student_id"],
            by,
            reason.strip(),
        )
    log.warning("invoicing.student.erased", school_id=school_id, erased_by=by)
    return {"student_code": code, "erased": True}
