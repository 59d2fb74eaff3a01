"""What issuing a period reads (calendar, students not yet billed) and writes (invoices and lines by COPY)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from invoicing.stores.roster_store import Pupil
from shared import rows

INVOICE_COLUMNS = [
    "invoice_id",
    "school_id",
    "student_id",
    "period",
    "school_year",
    "payment_reference",
    "public_token",
    "total",
    "amount_paid",
    "status",
    "due_date",
    "issued_at",
    "round_code",
]
LINE_COLUMNS = [
    "invoice_id",
    "line_no",
    "item_code",
    "name",
    "category",
    "quantity",
    "unit_amount",
    "list_amount",
    "reduction",
    "policy_category",
    "amount",
]


async def lock_period(conn: asyncpg.Connection, school_id: str, period: str, round_code: str = "") -> None:
    """Two issuings of the same school, period and round wait for each other; the second finds all issued."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('issue:' || $1 || ':' || $2 || ':' || $3))",
        school_id,
        period,
        round_code,
    )


async def next_counters(conn: asyncpg.Connection, count: int) -> list[int]:
    rows = await conn.fetch("SELECT nextval('payment_reference_seq') AS n FROM generate_series(1, $1)", count)
    return [int(r["n"]) for r in rows]


async def school_days(conn: asyncpg.Connection, school_id: str, period: str) -> int | None:
    days = await conn.fetchval(
        "SELECT school_days FROM school_calendar WHERE school_id = $1 AND period = $2", school_id, period
    )
    return None if days is None else int(days)


async def students_not_billed(
    conn: asyncpg.Connection,
    school_id: str,
    period: str,
    round_code: str = "",
    *,
    class_name: str | None = None,
    grade: str | None = None,
) -> list[Pupil]:
    """Pupils in the school (or the class or grade) without an invoice of this period and round yet."""
    found = await conn.fetch(
        "SELECT s.* FROM students s WHERE s.school_id = $1 AND s.left_at IS NULL "
        "AND ($4::text IS NULL OR s.class_name = $4) AND ($5::text IS NULL OR s.grade = $5) AND NOT EXISTS "
        "(SELECT 1 FROM invoices i WHERE i.student_id = s.student_id AND i.period = $2 AND i.round_code = $3) "
        "ORDER BY s.student_code",
        school_id,
        period,
        round_code,
        class_name,
        grade,
    )
    return rows.rows(Pupil, found)


async def count_issued(conn: asyncpg.Connection, school_id: str, period: str, round_code: str = "") -> int:
    n = await conn.fetchval(
        "SELECT count(*) FROM invoices WHERE school_id = $1 AND period = $2 AND round_code = $3",
        school_id,
        period,
        round_code,
    )
    return int(n)


async def add_invoices(
    conn: asyncpg.Connection, invoices: Sequence[tuple[object, ...]], lines: Sequence[tuple[object, ...]]
) -> None:
    await conn.copy_records_to_table("invoices", records=invoices, columns=INVOICE_COLUMNS)
    await conn.copy_records_to_table("invoice_lines", records=lines, columns=LINE_COLUMNS)
