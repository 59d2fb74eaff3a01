"""Load the invoices a credit may touch into the pure matcher's Book."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from reconciliation.domain.matching import Book, OpenInvoice
from reconciliation.domain.memo import MemoReading

_COLUMNS = (
    "invoice_id, student_id, student_code, student_name, family_key, payment_reference, total, allocated, "
    "due_date, cancelled, virtual_account"
)
_OF_I = ", ".join(f"i.{c.strip()}" for c in _COLUMNS.split(","))


def _invoice(r: Mapping[str, Any]) -> OpenInvoice:
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


@dataclass(frozen=True, kw_only=True)
class Pointers:
    """What a school's arriving credits point to: payment references, numbers and codes read in their memos,
    virtual accounts credited, payers' accounts."""

    references: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    virtual_accounts: set[str] = field(default_factory=set)
    payer_accounts: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, readings: list[MemoReading], virtual_accounts: list[str], payer_accounts: list[str]) -> Pointers:
        """What the memos read, the virtual accounts and the payers' accounts (empty ones left out) point to."""
        return cls(
            references={r for reading in readings for r in reading.references},
            numbers={n for reading in readings for n in reading.numbers},
            virtual_accounts={v for v in virtual_accounts if v},
            payer_accounts={p for p in payer_accounts if p},
        )


async def load_book_for(
    conn: asyncpg.Connection, school_id: str, reading: MemoReading, *, virtual_account: str, payer_account: str
) -> Book:
    """Only what this one credit's memo, virtual account and payer point to (a cash entry, a late invoice)."""
    pointers = Pointers.of([reading], [virtual_account], [payer_account])
    return (await load_books_for(conn, {school_id: pointers}))[school_id]


def _pairs(by_school: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    pairs = [(school, value) for school, values in by_school.items() for value in values]
    return [p[0] for p in pairs], [p[1] for p in pairs]


async def load_books_for(conn: asyncpg.Connection, pointers: dict[str, Pointers]) -> dict[str, Book]:
    """Per school, what its credits point to, with the pupils' and families' other invoices (concurrent
    credits of several schools placed together: each sees the ones placed before it). Every lookup is an
    index probe on (school, value): a school's book never holds another school's invoices."""
    schools = list(pointers)
    group_rows = await conn.fetch(
        "SELECT school_id, payment_reference, invoice_ids FROM payment_groups "
        "WHERE (school_id, payment_reference) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        *_pairs({s: p.references for s, p in pointers.items()}),
    )
    payer_rows = await conn.fetch(
        "SELECT school_id, payer_account, student_id FROM payer_accounts "
        "WHERE (school_id, payer_account) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        *_pairs({s: p.payer_accounts for s, p in pointers.items()}),
    )
    groups: dict[str, dict[str, list[uuid.UUID]]] = {s: {} for s in schools}
    for r in group_rows:
        groups[r["school_id"]][r["payment_reference"]] = list(r["invoice_ids"])
    payers: dict[str, dict[str, set[uuid.UUID]]] = {s: defaultdict(set) for s in schools}
    for r in payer_rows:
        payers[r["school_id"]][r["payer_account"]].add(r["student_id"])
    wanted = {
        s: {f"r:{v}" for v in p.references}
        | {f"n:{v}" for v in p.numbers}
        | {f"v:{v}" for v in p.virtual_accounts}
        | {f"i:{i}" for ids in groups[s].values() for i in ids}
        | {f"s:{i}" for ids in payers[s].values() for i in ids}
        for s, p in pointers.items()
    }
    rows = await conn.fetch(_BOOK_SQL, *_pairs(wanted))
    invoices: dict[str, dict[uuid.UUID, OpenInvoice]] = {s: {} for s in schools}
    for r in rows:
        invoices[r["school_id"]][r["invoice_id"]] = _invoice(r)
    return {s: Book(invoices[s], groups[s], payers[s]) for s in schools}


# The pointers come as (school, "kind:value"): r reference, n number or code (case-blind), v virtual account,
# i invoice id (of a payment group), s student id (of a known payer). The hits bring their pupils' and
# families' invoices of the same school.
_BOOK_SQL = f"""
WITH q AS (SELECT school_id, left(p, 1) AS kind, substr(p, 3) AS value
             FROM unnest($1::text[], $2::text[]) AS q(school_id, p)),
hit AS (
    SELECT i.school_id, i.student_id, i.family_key FROM invoices i
      JOIN q ON q.kind = 'r' AND i.payment_reference = q.value AND i.school_id = q.school_id
    UNION SELECT i.school_id, i.student_id, i.family_key FROM invoices i
      JOIN q ON q.kind = 'n' AND upper(i.student_code) = q.value AND i.school_id = q.school_id
    UNION SELECT i.school_id, i.student_id, i.family_key FROM invoices i
      JOIN q ON q.kind = 'v' AND i.virtual_account = q.value AND i.school_id = q.school_id
    UNION SELECT i.school_id, i.student_id, i.family_key FROM invoices i
      JOIN q ON q.kind = 'i' AND i.invoice_id = q.value::uuid AND i.school_id = q.school_id
    UNION SELECT i.school_id, i.student_id, i.family_key FROM invoices i
      JOIN q ON q.kind = 's' AND i.student_id = q.value::uuid AND i.school_id = q.school_id)
SELECT i.school_id, {_OF_I} FROM invoices i JOIN (SELECT DISTINCT school_id, student_id FROM hit) h
    ON i.school_id = h.school_id AND i.student_id = h.student_id
UNION
SELECT i.school_id, {_OF_I} FROM invoices i JOIN (SELECT DISTINCT school_id, family_key FROM hit) h
    ON i.school_id = h.school_id AND i.family_key = h.family_key"""  # noqa: S608 (constant columns)
