"""Projections from events only. Every handler runs in the consumer's inbox transaction, records the
event in `event_log` (the consistency check recomputes from it) and bumps the projection version."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date

import asyncpg

from reporting.domain.figures import CASHLESS_CHANNELS, invoice_collection, quarter_of, school_year_of
from reporting.stores import money_actions_store, projection_store
from reporting.stores.money_actions_store import MoneyAction
from shared.events.envelope import Event
from shared.events.handlers import Apply, ApplyMany, Handlers
from shared.events.personal import without_names
from shared.formatting import VN
from tuition.invoicing.v1 import events_pb2 as invoicing_events
from tuition.receipts.v1 import events_pb2 as receipt_events
from tuition.reconciliation.v1 import events_pb2 as payment_events


@asynccontextmanager
async def rolled(conn: asyncpg.Connection, *invoice_ids: uuid.UUID, regrouped: bool = False) -> AsyncIterator[None]:
    """Change invoices' money inside; the dashboard's roll-ups follow: only the figures that differ are written.

    `regrouped`: the change moves the invoices between groups (their district): the whole old contribution
    leaves the roll-ups and the new one joins."""
    ids = list(invoice_ids)
    if regrouped:
        await projection_store.take_out_of_rollups(conn, ids)
        yield
        await projection_store.put_in_rollups(conn, ids)
        return
    before = await projection_store.rollup_snapshot(conn, ids)
    yield
    await projection_store.roll_up_change(conn, ids, before)


async def recompute_invoices(conn: asyncpg.Connection, invoice_ids: list[uuid.UUID]) -> None:
    """What each invoice has collected, from its fees and payments in force (one read and one write for all);
    a payment before its invoice is computed when the invoice arrives."""
    figures = []
    for invoice_id, total, fees, paid in await projection_store.invoices_to_recompute(conn, invoice_ids):
        split = invoice_collection(fees, total, paid)
        figures.append(
            projection_store.Collected(
                invoice_id,
                split,
                invoiced=sum(fees.values()),
                payments=len(paid),
                cashless_payments=sum(cashless for _, cashless in paid),
                paid_up=sum(v[0] for v in split.values()) >= total,
            )
        )
    if figures:
        await projection_store.set_collected(conn, figures)


async def on_school(conn: asyncpg.Connection, m: invoicing_events.SchoolRegistered, event: Event) -> None:
    # Invoices that arrived before their school learn its district now.
    moved = await projection_store.invoices_to_move(conn, m.school_id, m.district_code)
    async with rolled(conn, *moved, regrouped=True):
        await projection_store.move_to_district(conn, moved, m.district_code)
    await projection_store.upsert_school(
        conn,
        m.school_id,
        name=m.name,
        district=m.district_code,
        ownership=m.ownership or "public",
        has_account=bool(m.bank_bin and m.account_number),
    )


async def on_invoices_issued(
    conn: asyncpg.Connection, items: list[tuple[invoicing_events.InvoiceIssued, Event]]
) -> None:
    """Invoices arriving together (a month's issue): stored one by one, into the roll-ups at once."""
    added = []
    runs: dict[str, MoneyAction] = {}
    for m, event in items:
        invoice_id = uuid.UUID(m.invoice_id)
        inserted = await projection_store.add_invoice(
            conn,
            invoice_id,
            school_id=m.school_id,
            student_id=m.student_id,
            grade=m.grade,
            class_name=m.class_name,
            period=m.period,
            quarter=quarter_of(m.period),
            school_year=m.school_year,
            due_date=date.fromisoformat(m.due_date),
            total=m.total,
            district=m.district_code,
        )
        if not inserted:
            continue
        fees: dict[str, int] = defaultdict(int)
        reductions: dict[tuple[str, str], int] = defaultdict(int)
        for line in m.lines:
            fees[line.category] += line.amount
            if line.reduction and line.policy_category:
                reductions[(line.policy_category, line.category)] += line.reduction
        await projection_store.add_fees(conn, invoice_id, fees, reductions)
        added.append(invoice_id)
        if m.issued_by:
            _count_in_run(runs, m, event)
    await money_actions_store.add(conn, list(runs.values()))
    await recompute_invoices(conn, added)  # payments may have come first
    await projection_store.put_in_rollups(conn, added)


def _count_in_run(runs: dict[str, MoneyAction], m: invoicing_events.InvoiceIssued, event: Event) -> None:
    """An invoice into its issuing run's row: one per school, account, period, round and day (Vietnam's)."""
    at = (m.issued_at if m.HasField("issued_at") else event.envelope.occurred_at).ToDatetime(tzinfo=UTC)
    subject = m.period + (f" / {m.round_code}" if m.round_code else "")
    key = f"issued|{m.school_id}|{m.issued_by}|{subject}|{at.astimezone(VN).date().isoformat()}"
    run = runs.get(key)
    runs[key] = MoneyAction(
        action_key=key,
        school_id=m.school_id,
        kind="invoice.issued",
        actor=m.issued_by,
        amount=m.total + (run.amount if run else 0),
        items=1 + (run.items if run else 0),
        subject=subject,
        occurred_at=run.occurred_at if run else at,
    )


def _action(event: Event, school_id: str, kind: str, actor: str, amount: int, subject: str, reason: str) -> MoneyAction:
    return MoneyAction(
        action_key=str(event.event_id),
        school_id=school_id,
        kind=kind,
        actor=actor,
        amount=amount,
        subject=subject,
        reason=reason,
        occurred_at=event.envelope.occurred_at.ToDatetime(tzinfo=UTC),
    )


async def on_invoice_adjusted(conn: asyncpg.Connection, m: invoicing_events.InvoiceAdjusted, event: Event) -> None:
    if m.adjusted_by:
        action = _action(event, m.school_id, "invoice.adjusted", m.adjusted_by, m.delta, m.invoice_id, m.reason)
        await money_actions_store.add(conn, [action])
    invoice_id = uuid.UUID(m.invoice_id)
    async with rolled(conn, invoice_id):
        await projection_store.adjust_invoice(conn, invoice_id, new_total=m.new_total, delta=m.delta)
        await recompute_invoices(conn, [invoice_id])


async def on_invoice_cancelled(conn: asyncpg.Connection, m: invoicing_events.InvoiceCancelled, event: Event) -> None:
    if m.cancelled_by:
        total = await money_actions_store.invoice_total(conn, m.invoice_id)
        action = _action(event, m.school_id, "invoice.cancelled", m.cancelled_by, total, m.invoice_id, m.reason)
        await money_actions_store.add(conn, [action])
    invoice_id = uuid.UUID(m.invoice_id)
    async with rolled(conn, invoice_id):
        await projection_store.cancel_invoice(conn, invoice_id)


async def on_payments(conn: asyncpg.Connection, items: list[tuple[payment_events.PaymentMatched, Event]]) -> None:
    """Payments arriving together: stored, their invoices recomputed at once, one roll-up change for all."""
    rows = []
    for m, event in items:
        channel = payment_events.Channel.Name(m.channel)
        at = m.paid_at if m.HasField("paid_at") else event.envelope.occurred_at
        rows.append(
            (
                m.payment_id,
                uuid.UUID(m.invoice_id),
                m.school_id,
                m.amount,
                channel,
                channel in CASHLESS_CHANNELS,
                at.ToDatetime(tzinfo=UTC),
            )
        )
    invoice_ids = list(dict.fromkeys(row[1] for row in rows))
    async with rolled(conn, *invoice_ids):
        await projection_store.add_payments(conn, rows)
        await recompute_invoices(conn, invoice_ids)


async def on_payment_reversed(conn: asyncpg.Connection, m: payment_events.PaymentReversed, event: Event) -> None:
    invoice_id = uuid.UUID(m.invoice_id)
    async with rolled(conn, invoice_id):
        await projection_store.reverse_payment(conn, m.payment_id)
        await recompute_invoices(conn, [invoice_id])


async def on_refund(conn: asyncpg.Connection, m: payment_events.RefundRecorded, event: Event) -> None:
    at = event.envelope.occurred_at.ToDatetime(tzinfo=UTC)
    month = at.astimezone(VN).strftime("%Y-%m")
    await projection_store.add_refund(
        conn,
        event.event_id,
        credit_id=m.credit_id,
        school_id=m.school_id,
        amount=m.amount,
        refunded_at=at,
        month=month,
        quarter=quarter_of(month),
        school_year=school_year_of(month),
    )


async def on_credits_received(
    conn: asyncpg.Connection, items: list[tuple[payment_events.CreditReceived, Event]]
) -> None:
    """Cash entered at the desk is a person's money action; a bank's credit (webhook or statement) is not."""
    cash = [
        _action(event, m.school_id, "cash.recorded", m.recorded_by, m.amount, m.credit_id, "")
        for m, event in items
        if m.channel == payment_events.CASH and m.recorded_by
    ]
    await money_actions_store.add(conn, cash)


async def on_credit_action(conn: asyncpg.Connection, m: payment_events.CreditActionTaken, event: Event) -> None:
    reason = " ".join(part for part in (m.reason, f"(hoàn tác {m.undoes})" if m.undoes else "") if part)
    action = _action(event, m.school_id, f"credit.{m.kind}", m.actor, m.amount, m.credit_id, reason)
    await money_actions_store.add(conn, [action])


async def on_receipt_cancelled(conn: asyncpg.Connection, m: receipt_events.ReceiptCancelled, event: Event) -> None:
    """A receipt cancelled by an accountant (one cancelled because its payment was reversed: the reversal's
    action names who)."""
    if m.cancelled_by:
        action = _action(event, m.school_id, "receipt.cancelled", m.cancelled_by, m.amount, m.receipt_id, m.reason)
        await money_actions_store.add(conn, [action])


async def on_roster(conn: asyncpg.Connection, m: invoicing_events.RosterCounted, event: Event) -> None:
    await projection_store.set_roster(
        conn,
        m.school_id,
        students=m.students,
        with_personal_id=m.with_personal_id,
        counted_at=m.counted_at.ToDatetime(tzinfo=UTC),
    )


def projection_handlers() -> Handlers:
    """The projection's handlers, each wrapped by `logged`; the rest of the topics' events are not figures."""
    handlers = Handlers()
    handlers.register(invoicing_events.SchoolRegistered, on_school)
    handlers.on_many(invoicing_events.InvoiceIssued)(on_invoices_issued)
    handlers.register(invoicing_events.InvoiceAdjusted, on_invoice_adjusted)
    handlers.register(invoicing_events.InvoiceCancelled, on_invoice_cancelled)
    handlers.on_many(payment_events.PaymentMatched)(on_payments)
    handlers.register(payment_events.PaymentReversed, on_payment_reversed)
    handlers.register(payment_events.RefundRecorded, on_refund)
    handlers.register(invoicing_events.RosterCounted, on_roster)
    handlers.on_many(payment_events.CreditReceived)(on_credits_received)
    handlers.register(payment_events.CreditActionTaken, on_credit_action)
    handlers.register(receipt_events.ReceiptCancelled, on_receipt_cancelled)
    handlers.skip(
        invoicing_events.InvoiceBalanceChanged,
        invoicing_events.PaymentGroupCreated,
        payment_events.PaymentUnmatched,
        receipt_events.ReceiptIssued,
        receipt_events.SeriesRunningLow,
    )
    handlers.wrap(logged, many=logged_many)
    return handlers


def logged(handler: Apply) -> Apply:
    """Record the event and bump the projection version with the state change (one transaction at a time)."""

    async def apply(conn: asyncpg.Connection, event: Event) -> None:
        await logged_many(_one_by_one(handler))(conn, [event])

    return apply


def logged_many(handler: ApplyMany) -> ApplyMany:
    """`logged` for a batch handler's events."""

    async def apply(conn: asyncpg.Connection, events: list[Event]) -> None:
        # The version row first: every projection transaction takes it before any roll-up row, so two batches
        # (partitions, instances) queue on it instead of each holding rows the other waits for.
        await projection_store.bump_version(conn)
        await projection_store.log_events(
            conn,
            # Kept without the names of pupils, guardians and payers: the figures need none (reporting holds no
            # personal data).
            [(e.event_id, e.event_type, e.envelope.school_id, without_names(e)) for e in events],
        )
        await handler(conn, events)

    return apply


def _one_by_one(handler: Apply) -> ApplyMany:
    async def apply(conn: asyncpg.Connection, events: list[Event]) -> None:
        for event in events:
            await handler(conn, event)

    return apply
