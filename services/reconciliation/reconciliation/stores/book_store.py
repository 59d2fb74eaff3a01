"""Load the invoices a credit may touch into the pure matcher's Book."""

from __future__ import annotations

import uuid
from collections import defaultdict

import asyncpg

from reconciliation.domain.matching import Book, OpenInvoice
from reconciliation.domain.memo import MemoReading

_COLUMNS = (
    "invoice_id, student_id, student_code, student_name, family_key, payment_reference, total, allocated, "
    "due_date, cancelled, virtual_account"
)


def _invoice(r: asyncpg.Record) -> OpenInvoice:
    return OpenInvoice(
        invoice_id=r["invoice_id"],
        student_id=r["student_id"],
        student_code=r["student_code"],
        student_name=r["student_name"],
        family_key=r["family_key"],
        reference=r["payment_reference"],
        total=r["total"],
        allocated=r["allocated"],
        due_date=r["due_date"],
        cancelled=r["cancelled"],
        virtual_account=r["virtual_account"],
    )


async def _payers(conn: asyncpg.Connection, school_id: str, accounts: list[str]) -> dict[str, set[uuid.UUID]]:
    out: dict[str, set[uuid.UUID]] = defaultdict(set)
    if accounts:
        for r in await conn.fetch(
            "SELECT payer_account, student_id FROM payer_accounts "
            "WHERE school_id = $1 AND payer_account = ANY($2::text[])",
            school_id,
            accounts,
        ):
            out[r["payer_account"]].add(r["student_id"])
    return out


async def load_school_book(conn: asyncpg.Connection, school_id: str) -> Book:
    """Every invoice of the school: for statements, where many credits are placed at once."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM invoices WHERE school_id = $1", school_id)  # noqa: S608
    groups = {
        r["payment_reference"]: list(r["invoice_ids"])
        for r in await conn.fetch(
            "SELECT payment_reference, invoice_ids FROM payment_groups WHERE school_id = $1", school_id
        )
    }
    payers: dict[str, set[uuid.UUID]] = defaultdict(set)
    for r in await conn.fetch("SELECT payer_account, student_id FROM payer_accounts WHERE school_id = $1", school_id):
        payers[r["payer_account"]].add(r["student_id"])
    return Book({r["invoice_id"]: _invoice(r) for r in rows}, groups, payers)


async def load_book_for(
    conn: asyncpg.Connection, school_id: str, reading: MemoReading, *, virtual_account: str, payer_account: str
) -> Book:
    """Only what this one credit's memo, virtual account and payer point to (a cash entry, a late invoice)."""
    return await load_book_for_many(
        conn,
        school_id,
        references=list(reading.references),
        numbers=list(reading.numbers),
        virtual_accounts=[virtual_account] if virtual_account else [],
        payer_accounts=[payer_account] if payer_account else [],
    )


async def load_book_for_many(
    conn: asyncpg.Connection,
    school_id: str,
    *,
    references: list[str],
    numbers: list[str],
    virtual_accounts: list[str],
    payer_accounts: list[str],
) -> Book:
    """What a few credits' memos, virtual accounts and payers point to, in one book (concurrent webhooks of
    a school placed together: each sees the ones placed before it)."""
    groups = {
        r["payment_reference"]: list(r["invoice_ids"])
        for r in await conn.fetch(
            "SELECT payment_reference, invoice_ids FROM payment_groups WHERE school_id = $1 "
            "AND payment_reference = ANY($2::text[])",
            school_id,
            references,
        )
    }
    payers = await _payers(conn, school_id, payer_accounts)
    students = {s for ids in payers.values() for s in ids}
    rows = await conn.fetch(
        f"""WITH hit AS (
                SELECT student_id, family_key FROM invoices
                WHERE school_id = $1 AND (payment_reference = ANY($2::text[]) OR invoice_id = ANY($3::uuid[])
                      OR upper(student_code) = ANY($4::text[]) OR virtual_account = ANY($5::text[])
                      OR student_id = ANY($6::uuid[])))
            SELECT {_COLUMNS} FROM invoices
            WHERE school_id = $1 AND (student_id IN (SELECT student_id FROM hit)
                                      OR family_key IN (SELECT family_key FROM hit))""",  # noqa: S608
        school_id,
        references,
        [i for ids in groups.values() for i in ids],
        numbers,
        virtual_accounts,
        list(students),
    )
    return Book({r["invoice_id"]: _invoice(r) for r in rows}, groups, payers)
