"""The projection tables as the events build them: schools, invoices with their fees and reductions,
payments, what each invoice has collected per fee type, the event log and the projection's version."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from shared.db import Executor, as_columns


async def upsert_school(
    conn: asyncpg.Connection, school_id: str, *, name: str, district: str, ownership: str, has_account: bool
) -> None:
    await conn.execute(
        "INSERT INTO schools VALUES ($1, $2, $3, $4, $5) ON CONFLICT (school_id) DO UPDATE SET name = $2, "
        "district_code = $3, ownership = $4, has_account = $5",
        school_id,
        name,
        district,
        ownership,
        has_account,
    )


async def invoices_to_move(conn: asyncpg.Connection, school_id: str, district: str) -> list[uuid.UUID]:
    """Every invoice of the school when any is filed under another district (or none: it arrived before its
    school), so that its pupils' counts move whole; none otherwise."""
    rows = await conn.fetch(
        "SELECT invoice_id FROM invoices WHERE school_id = $1 AND EXISTS "
        "(SELECT 1 FROM invoices WHERE school_id = $1 AND district_code <> $2)",
        school_id,
        district,
    )
    return [r["invoice_id"] for r in rows]


async def move_to_district(conn: asyncpg.Connection, invoice_ids: list[uuid.UUID], district: str) -> None:
    await conn.execute("UPDATE invoices SET district_code = $2 WHERE invoice_id = ANY($1)", invoice_ids, district)


async def take_out_of_rollups(conn: asyncpg.Connection, invoice_ids: list[uuid.UUID]) -> None:
    """The invoices' contribution to the dashboard's roll-ups, taken out before they change."""
    await conn.execute("SELECT roll_up_invoices($1, -1)", invoice_ids)


async def put_in_rollups(conn: asyncpg.Connection, invoice_ids: list[uuid.UUID]) -> None:
    """The invoices' contribution, as they are now, added to the roll-ups."""
    await conn.execute("SELECT roll_up_invoices($1, 1)", invoice_ids)


async def rollup_snapshot(conn: asyncpg.Connection, invoice_ids: list[uuid.UUID]) -> str:
    """The invoices' contribution as it is, to hand back to `roll_up_change` after they change (opaque)."""
    return str(await conn.fetchval("SELECT rollup_snapshot($1)", invoice_ids))


async def roll_up_change(conn: asyncpg.Connection, invoice_ids: list[uuid.UUID], before: str) -> None:
    """Only what differs between the invoices' contribution `before` and as they are now, into the roll-ups."""
    await conn.execute("SELECT roll_up_change($1, $2::jsonb)", invoice_ids, before)


async def add_invoice(
    conn: asyncpg.Connection,
    invoice_id: uuid.UUID,
    *,
    school_id: str,
    student_id: str,
    grade: int,
    class_name: str,
    period: str,
    quarter: str,
    school_year: str,
    due_date: date,
    total: int,
    district: str,
) -> bool:
    """True if the invoice is new; without a district it takes its school's, if the school is known yet."""
    inserted = await conn.fetchval(
        "INSERT INTO invoices (invoice_id, school_id, student_id, grade, class_name, period, quarter, school_year, "
        "due_date, total, district_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "coalesce(nullif($11, ''), (SELECT district_code FROM schools WHERE school_id = $2), '')) "
        "ON CONFLICT DO NOTHING RETURNING true",
        invoice_id,
        school_id,
        student_id,
        grade,
        class_name,
        period,
        quarter,
        school_year,
        due_date,
        total,
        district,
    )
    return bool(inserted)


async def add_fees(
    conn: asyncpg.Connection,
    invoice_id: uuid.UUID,
    fees: dict[str, int],
    reductions: dict[tuple[str, str], int],
) -> None:
    """The invoice's amount per fee category, and its reductions per (policy category, fee category)."""
    await conn.executemany(
        "INSERT INTO invoice_fees VALUES ($1, $2, $3)", [(invoice_id, k, v) for k, v in fees.items()]
    )
    await conn.executemany(
        "INSERT INTO invoice_reductions VALUES ($1, $2, $3, $4)",
        [(invoice_id, p, c, v) for (p, c), v in reductions.items()],
    )


async def adjust_invoice(conn: asyncpg.Connection, invoice_id: uuid.UUID, *, new_total: int, delta: int) -> None:
    """The new total; the difference is a fee category of its own, `adjustment`."""
    await conn.execute("UPDATE invoices SET total = $2 WHERE invoice_id = $1", invoice_id, new_total)
    await conn.execute(
        "INSERT INTO invoice_fees VALUES ($1, 'adjustment', $2) ON CONFLICT (invoice_id, category) "
        "DO UPDATE SET amount = invoice_fees.amount + $2",
        invoice_id,
        delta,
    )


async def cancel_invoice(conn: asyncpg.Connection, invoice_id: uuid.UUID) -> None:
    await conn.execute("UPDATE invoices SET cancelled = true WHERE invoice_id = $1", invoice_id)


async def add_payments(
    conn: asyncpg.Connection, payments: list[tuple[str, uuid.UUID, str, int, str, bool, datetime]]
) -> None:
    """(payment id, invoice, school, amount, channel, cashless, paid at); a payment seen before is kept as it was."""
    await conn.executemany(
        "INSERT INTO payments VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (payment_id) DO NOTHING", payments
    )


async def reverse_payment(conn: asyncpg.Connection, payment_id: str) -> None:
    await conn.execute("UPDATE payments SET reversed = true WHERE payment_id = $1", payment_id)


@dataclass(frozen=True)
class Collected:
    """What one invoice has collected, as the projection stores it."""

    invoice_id: uuid.UUID
    split: dict[str, tuple[int, int]]  # per fee category: (collected, of which cashless)
    invoiced: int
    payments: int
    cashless_payments: int
    paid_up: bool

    @property
    def collected(self) -> int:
        return sum(v[0] for v in self.split.values())

    @property
    def cashless(self) -> int:
        return sum(v[1] for v in self.split.values())


async def invoices_to_recompute(
    conn: asyncpg.Connection, invoice_ids: list[uuid.UUID]
) -> list[tuple[uuid.UUID, int, dict[str, int], list[tuple[int, bool]]]]:
    """Of the invoices known (a payment may come before its invoice), each with its total, its fee categories'
    amounts and the (amount, cashless) of its payments in force, in the order they were paid."""
    rows = await conn.fetch(
        "SELECT i.invoice_id, i.total, "
        "coalesce((SELECT array_agg(f.category ORDER BY f.category) FROM invoice_fees f "
        "          WHERE f.invoice_id = i.invoice_id), '{}') AS categories, "
        "coalesce((SELECT array_agg(f.amount ORDER BY f.category) FROM invoice_fees f "
        "          WHERE f.invoice_id = i.invoice_id), '{}') AS amounts, "
        "coalesce((SELECT array_agg(p.amount ORDER BY p.paid_at, p.payment_id) FROM payments p "
        "          WHERE p.invoice_id = i.invoice_id AND NOT p.reversed), '{}') AS paid, "
        "coalesce((SELECT array_agg(p.cashless ORDER BY p.paid_at, p.payment_id) FROM payments p "
        "          WHERE p.invoice_id = i.invoice_id AND NOT p.reversed), '{}') AS paid_cashless "
        "FROM invoices i WHERE i.invoice_id = ANY($1::uuid[])",
        invoice_ids,
    )
    return [
        (
            r["invoice_id"],
            int(r["total"]),
            dict(zip(r["categories"], r["amounts"], strict=True)),
            list(zip(r["paid"], r["paid_cashless"], strict=True)),
        )
        for r in rows
    ]


async def set_collected(conn: asyncpg.Connection, figures: list[Collected]) -> None:
    """What the invoices have collected, per fee category and in total."""
    ids = [f.invoice_id for f in figures]
    await conn.execute("DELETE FROM invoice_collected WHERE invoice_id = ANY($1::uuid[])", ids)
    split = [(f.invoice_id, k, v[0], v[1]) for f in figures for k, v in f.split.items()]
    await conn.execute(
        "INSERT INTO invoice_collected SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[])",
        *as_columns(split, 4),
    )
    await conn.execute(
        "UPDATE invoices i SET invoiced = n.invoiced, collected = n.collected, cashless = n.cashless, "
        "payments = n.payments, cashless_payments = n.cashless_payments, paid_up = n.paid_up "
        "FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::integer[], $6::integer[], "
        "$7::boolean[]) AS n(invoice_id, invoiced, collected, cashless, payments, cashless_payments, paid_up) "
        "WHERE i.invoice_id = n.invoice_id",
        ids,
        [f.invoiced for f in figures],
        [f.collected for f in figures],
        [f.cashless for f in figures],
        [f.payments for f in figures],
        [f.cashless_payments for f in figures],
        [f.paid_up for f in figures],
    )


async def add_refund(
    conn: asyncpg.Connection,
    event_id: uuid.UUID,
    *,
    credit_id: str,
    school_id: str,
    amount: int,
    refunded_at: datetime,
    month: str,
    quarter: str,
    school_year: str,
) -> None:
    await conn.execute(
        "INSERT INTO refunds VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING",
        event_id,
        credit_id,
        school_id,
        amount,
        refunded_at,
        month,
        quarter,
        school_year,
    )


async def set_roster(
    conn: asyncpg.Connection, school_id: str, *, students: int, with_personal_id: int, counted_at: datetime
) -> None:
    """The school's latest roster count (an older count arriving late changes nothing)."""
    await conn.execute(
        "INSERT INTO rosters VALUES ($1, $2, $3, $4) ON CONFLICT (school_id) DO UPDATE SET students = $2, "
        "with_personal_id = $3, counted_at = $4 WHERE rosters.counted_at <= $4",
        school_id,
        students,
        with_personal_id,
        counted_at,
    )


async def log_events(conn: asyncpg.Connection, events: list[tuple[uuid.UUID, str, str, bytes]]) -> None:
    """(event id, type, school, envelope): the consistency check recomputes the figures from this log. One
    statement for the batch, the events logged in their order."""
    await conn.execute(
        "INSERT INTO event_log (event_id, event_type, school_id, envelope) "
        "SELECT event_id, event_type, school_id, envelope "
        "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY "
        "AS e(event_id, event_type, school_id, envelope, n) ORDER BY n "
        "ON CONFLICT (event_id) DO NOTHING",
        [e[0] for e in events],
        [e[1] for e in events],
        [e[2] for e in events],
        [e[3] for e in events],
    )


async def bump_version(conn: asyncpg.Connection) -> None:
    await conn.execute("UPDATE projection_version SET version = version + 1")


async def district_of(db: Executor, school_id: str) -> str | None:
    """The school's district (the scope of a district's token), from this service's own schools table."""
    return await db.fetchval("SELECT district_code FROM schools WHERE school_id = $1", school_id)  # type: ignore[no-any-return]
