"""Projections from events only. Every handler runs in the consumer's inbox transaction, records the
event in `event_log` (the consistency check recomputes from it) and bumps the projection version."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date

import asyncpg

from reporting.domain.figures import CASHLESS_CHANNELS, invoice_collection, quarter_of
from shared.events.envelope import Event
from shared.events.handlers import Apply, Handlers
from tuition.invoicing.v1.events_pb2 import (
    InvoiceAdjusted,
    InvoiceBalanceChanged,
    InvoiceCancelled,
    InvoiceIssued,
    PaymentGroupCreated,
    SchoolRegistered,
)
from tuition.reconciliation.v1.events_pb2 import (
    Channel,
    CreditReceived,
    PaymentMatched,
    PaymentReversed,
    PaymentUnmatched,
    RefundRecorded,
)


async def recompute_invoice(conn: asyncpg.Connection, invoice_id: uuid.UUID) -> None:
    inv = await conn.fetchrow("SELECT total FROM invoices WHERE invoice_id = $1", invoice_id)
    if inv is None:
        return  # a payment before its invoice: computed when the invoice arrives
    fees = {
        r["category"]: r["amount"]
        for r in await conn.fetch("SELECT category, amount FROM invoice_fees WHERE invoice_id = $1", invoice_id)
    }
    paid = await conn.fetchrow(
        "SELECT coalesce(sum(amount) FILTER (WHERE cashless), 0)::bigint AS cashless, "
        "coalesce(sum(amount) FILTER (WHERE NOT cashless), 0)::bigint AS cash, count(*) AS payments, "
        "count(*) FILTER (WHERE cashless) AS cashless_payments FROM payments "
        "WHERE invoice_id = $1 AND NOT reversed",
        invoice_id,
    )
    split = invoice_collection(fees, inv["total"], paid["cashless"], paid["cash"])
    await conn.execute("DELETE FROM invoice_collected WHERE invoice_id = $1", invoice_id)
    await conn.executemany(
        "INSERT INTO invoice_collected VALUES ($1, $2, $3, $4)", [(invoice_id, k, v[0], v[1]) for k, v in split.items()]
    )
    collected = sum(v[0] for v in split.values())
    await conn.execute(
        "UPDATE invoices SET invoiced = $2, collected = $3, cashless = $4, payments = $5, cashless_payments = $6, "
        "paid_up = $7 WHERE invoice_id = $1",
        invoice_id,
        sum(fees.values()),
        collected,
        sum(v[1] for v in split.values()),
        paid["payments"],
        paid["cashless_payments"],
        collected >= inv["total"],
    )


async def on_school(conn: asyncpg.Connection, m: SchoolRegistered, event: Event) -> None:
    await conn.execute(
        "INSERT INTO schools VALUES ($1, $2, $3, $4, $5) ON CONFLICT (school_id) DO UPDATE SET name = $2, "
        "district_code = $3, ownership = $4, has_account = $5",
        m.school_id,
        m.name,
        m.district_code,
        m.ownership or "public",
        bool(m.bank_bin and m.account_number),
    )
    # Invoices that arrived before their school learn its district now.
    await conn.execute(
        "UPDATE invoices SET district_code = $2 WHERE school_id = $1 AND district_code <> $2",
        m.school_id,
        m.district_code,
    )


async def on_invoice_issued(conn: asyncpg.Connection, m: InvoiceIssued, event: Event) -> None:
    invoice_id = uuid.UUID(m.invoice_id)
    inserted = await conn.fetchval(
        "INSERT INTO invoices (invoice_id, school_id, student_id, grade, class_name, period, quarter, school_year, "
        "due_date, total, district_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "coalesce(nullif($11, ''), (SELECT district_code FROM schools WHERE school_id = $2), '')) "
        "ON CONFLICT DO NOTHING RETURNING true",
        invoice_id,
        m.school_id,
        m.student_id,
        m.grade,
        m.class_name,
        m.period,
        quarter_of(m.period),
        m.school_year,
        date.fromisoformat(m.due_date),
        m.total,
        m.district_code,
    )
    if not inserted:
        return
    fees: dict[str, int] = defaultdict(int)
    reductions: dict[tuple[str, str], int] = defaultdict(int)
    for line in m.lines:
        fees[line.category] += line.amount
        if line.reduction and line.policy_category:
            reductions[(line.policy_category, line.category)] += line.reduction
    await conn.executemany(
        "INSERT INTO invoice_fees VALUES ($1, $2, $3)", [(invoice_id, k, v) for k, v in fees.items()]
    )
    await conn.executemany(
        "INSERT INTO invoice_reductions VALUES ($1, $2, $3, $4)",
        [(invoice_id, p, c, v) for (p, c), v in reductions.items()],
    )
    await recompute_invoice(conn, invoice_id)


async def on_invoice_adjusted(conn: asyncpg.Connection, m: InvoiceAdjusted, event: Event) -> None:
    invoice_id = uuid.UUID(m.invoice_id)
    await conn.execute("UPDATE invoices SET total = $2 WHERE invoice_id = $1", invoice_id, m.new_total)
    await conn.execute(
        "INSERT INTO invoice_fees VALUES ($1, 'adjustment', $2) ON CONFLICT (invoice_id, category) "
        "DO UPDATE SET amount = invoice_fees.amount + $2",
        invoice_id,
        m.delta,
    )
    await recompute_invoice(conn, invoice_id)


async def on_invoice_cancelled(conn: asyncpg.Connection, m: InvoiceCancelled, event: Event) -> None:
    await conn.execute("UPDATE invoices SET cancelled = true WHERE invoice_id = $1", uuid.UUID(m.invoice_id))


async def on_payment(conn: asyncpg.Connection, m: PaymentMatched, event: Event) -> None:
    channel = Channel.Name(m.channel)
    paid_at = (
        m.paid_at.ToDatetime(tzinfo=UTC) if m.HasField("paid_at") else event.envelope.occurred_at.ToDatetime(tzinfo=UTC)
    )
    await conn.execute(
        "INSERT INTO payments VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (payment_id) DO NOTHING",
        m.payment_id,
        uuid.UUID(m.invoice_id),
        m.school_id,
        m.amount,
        channel,
        channel in CASHLESS_CHANNELS,
        paid_at,
    )
    await recompute_invoice(conn, uuid.UUID(m.invoice_id))


async def on_payment_reversed(conn: asyncpg.Connection, m: PaymentReversed, event: Event) -> None:
    await conn.execute("UPDATE payments SET reversed = true WHERE payment_id = $1", m.payment_id)
    await recompute_invoice(conn, uuid.UUID(m.invoice_id))


def projection_handlers() -> Handlers:
    """The projection's handlers, each wrapped by `logged`; the rest of the topics' events are not figures."""
    handlers = Handlers()
    handlers.register(SchoolRegistered, on_school)
    handlers.register(InvoiceIssued, on_invoice_issued)
    handlers.register(InvoiceAdjusted, on_invoice_adjusted)
    handlers.register(InvoiceCancelled, on_invoice_cancelled)
    handlers.register(PaymentMatched, on_payment)
    handlers.register(PaymentReversed, on_payment_reversed)
    handlers.skip(InvoiceBalanceChanged, PaymentGroupCreated, CreditReceived, PaymentUnmatched, RefundRecorded)
    handlers.wrap(logged)
    return handlers


def logged(handler: Apply) -> Apply:
    """Record the event and bump the projection version with the state change."""

    async def apply(conn: asyncpg.Connection, event: Event) -> None:
        await conn.execute(
            "INSERT INTO event_log (event_id, event_type, school_id, envelope) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (event_id) DO NOTHING",
            event.event_id,
            event.event_type,
            event.envelope.school_id,
            event.envelope.SerializeToString(),
        )
        await handler(conn, event)
        await conn.execute("UPDATE projection_version SET version = version + 1")

    return apply
