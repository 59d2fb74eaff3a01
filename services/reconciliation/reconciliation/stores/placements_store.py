"""Writes of placed credits, batched: COPY for new rows, one UPDATE for invoice totals, payer history."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from shared import rows
from shared.db import as_columns

CREDIT_COLUMNS = [
    "credit_id",
    "school_id",
    "account_number",
    "amount",
    "booked_at",
    "value_date",
    "memo",
    "memo_compact",
    "payer_name",
    "payer_account",
    "virtual_account",
    "channel",
    "first_source",
    "state",
    "reason_code",
    "memo_read",
    "candidates",
    "memo_refs",
    "allocated",
    "recorded_by",
]
ALLOCATION_COLUMNS = ["payment_id", "credit_id", "invoice_id", "amount", "reason_code", "action_id"]


async def write(
    conn: asyncpg.Connection,
    *,
    credits: Sequence[tuple[object, ...]],
    identifiers: Sequence[tuple[str, str, uuid.UUID]],
    sources: Sequence[tuple[uuid.UUID, str]],
    allocations: Sequence[tuple[object, ...]],
    invoice_deltas: Mapping[uuid.UUID, int],
    payers: Sequence[tuple[str, uuid.UUID, str]],
) -> None:
    """Rows of any number of schools (each row names its own); `payers`: (payer account, student, school)."""
    if credits:
        await conn.copy_records_to_table("credits", records=credits, columns=CREDIT_COLUMNS)
    await _copy_ignoring_conflicts(
        conn, "credit_identifiers", {"account_number": "text", "identifier": "text", "credit_id": "uuid"}, identifiers
    )
    await _copy_ignoring_conflicts(conn, "credit_sources", {"credit_id": "uuid", "source_kind": "text"}, sources)
    if allocations:
        await conn.copy_records_to_table("allocations", records=allocations, columns=ALLOCATION_COLUMNS)
        await conn.execute(
            "UPDATE invoices i SET allocated = i.allocated + d.amount "
            "FROM unnest($1::uuid[], $2::bigint[]) AS d(invoice_id, amount) WHERE i.invoice_id = d.invoice_id",
            list(invoice_deltas),
            list(invoice_deltas.values()),
        )
    if payers:
        await conn.executemany(
            "INSERT INTO payer_accounts (payer_account, student_id, school_id) VALUES ($1, $2, $3) "
            "ON CONFLICT (payer_account, student_id) DO UPDATE SET last_seen = now()",
            payers,
        )


@dataclass(frozen=True, kw_only=True)
class Reversed:
    """A payment taken back from its invoice."""

    payment_id: uuid.UUID
    invoice_id: uuid.UUID
    amount: int


async def reverse_allocations_of(conn: asyncpg.Connection, action_id: uuid.UUID) -> list[Reversed]:
    """Mark the allocations an action made as reversed; returns them."""
    found = await conn.fetch(
        "UPDATE allocations SET reversed_at = now() WHERE action_id = $1 AND reversed_at IS NULL "
        "RETURNING payment_id, invoice_id, amount",
        action_id,
    )
    return rows.rows(Reversed, found)


async def reverse_payments_of_credit(conn: asyncpg.Connection, credit_id: uuid.UUID) -> list[Reversed]:
    """Mark every payment of the credit in force as reversed (automatic or manual); returns them."""
    found = await conn.fetch(
        "UPDATE allocations SET reversed_at = now() WHERE credit_id = $1 AND reversed_at IS NULL "
        "RETURNING payment_id, invoice_id, amount",
        credit_id,
    )
    return rows.rows(Reversed, found)


# Below this many rows, new rows go in with one INSERT from arrays (one round trip: a webhook batch); above,
# through COPY into a temporary table (a statement's thousands).
COPY_FROM = 2_000


async def _copy_ignoring_conflicts(
    conn: asyncpg.Connection, table: str, columns: dict[str, str], rows: Sequence[tuple[object, ...]]
) -> None:
    """New rows, skipping those already there (ON CONFLICT DO NOTHING); `columns`: name → SQL type."""
    if not rows:
        return
    cols = ", ".join(columns)
    if len(rows) < COPY_FROM:
        arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(columns.values(), start=1))
        await conn.execute(
            f"INSERT INTO {table} ({cols}) SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING",  # noqa: S608 (internal names)
            *as_columns(rows, len(columns)),
        )
        return
    tmp = f"tmp_{table}"
    await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    await conn.copy_records_to_table(tmp, records=rows, columns=list(columns))
    await conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {tmp} ON CONFLICT DO NOTHING")  # noqa: S608
    await conn.execute(f"TRUNCATE {tmp}")
