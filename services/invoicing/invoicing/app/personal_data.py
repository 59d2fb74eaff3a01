"""A pupil's personal data on request: everything held about them (export), and its erasure.

Erasure keeps the accounting history whole: invoices, payments and receipts already issued keep their
legal content (the pupil's code and name, the payer), as the accounting and e-receipt rules require; the
roster loses the personal ID, date of birth, gender and the guardian's name and phone, the pupil is marked
as left (no new invoice), and the erasure itself is recorded (who, when, why). The pupil's key is destroyed
(app/pupil_keys.py): the names sealed in the events, on the topics and in the other services' books, can
no longer be read.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from invoicing.app import pupil_keys
from invoicing.app.roster import SEALED
from invoicing.stores import roster_store
from invoicing.stores.roster_store import ClassYear, Erasure, Pupil, PupilInvoice
from shared.db import Executor
from shared.errors import Invalid, NotFound
from shared.events.outbox import Outbox
from shared.logging import get_logger
from shared.sealed import Sealer

log = get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class PersonalData:
    """Everything held about a pupil: the roster row (personal fields opened), invoices, erasures, classes."""

    student: dict[str, object]
    invoices: list[PupilInvoice]
    erasures: list[Erasure]
    class_history: list[ClassYear]
    note: str = (
        "Receipts and bank payments for these invoices are kept by the receipts and reconciliation services as "
        "accounting records."
    )


@dataclass(frozen=True, kw_only=True)
class Erased:
    student_code: str
    erased: bool
    keys_destroyed: int


async def _student(db: Executor, school_id: str, code: str) -> Pupil:
    row = await roster_store.student(db, school_id, code)
    if row is None:
        raise NotFound(f"Không có học sinh mã {code!r} ở trường {school_id}.")
    return row


async def export(pool: asyncpg.Pool, sealer: Sealer, *, school_id: str, code: str) -> PersonalData:
    student = await _student(pool, school_id, code)
    held: dict[str, object] = {k: v for k, v in vars(student).items() if k != "family_key"}
    held |= {f: sealer.open(str(getattr(student, f))) if getattr(student, f) else "" for f in SEALED}
    return PersonalData(
        student=held,
        invoices=await roster_store.invoices_of(pool, student.student_id),
        erasures=await roster_store.erasures_of(pool, student.student_id),
        class_history=await roster_store.class_history(pool, student.student_id),
    )


async def erase(pool: asyncpg.Pool, outbox: Outbox, *, school_id: str, code: str, reason: str, by: str) -> Erased:
    if not reason.strip():
        raise Invalid("Xóa dữ liệu cá nhân cần ghi lý do (yêu cầu nào).")
    async with pool.acquire() as conn, conn.transaction():
        student = await _student(conn, school_id, code)
        if student.erased_at is not None:
            raise Invalid(f"Dữ liệu cá nhân của học sinh {code!r} đã được xóa ngày {student.erased_at:%d/%m/%Y}.")
        await roster_store.erase_personal_data(conn, student.student_id, by=by, reason=reason.strip())
        keys = await pupil_keys.destroy(conn, outbox, school_id, student.student_id)
    log.warning("invoicing.student.erased", school_id=school_id, erased_by=by, keys_destroyed=keys)
    return Erased(student_code=code, erased=True, keys_destroyed=keys)
