"""Invoice balances from reconciliation's payment events. Runs inside the consumer's inbox transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
from google.protobuf.message import Message

from invoicing.app.invoices import balance_changed, emit_balance
from invoicing.domain.invoices import Status, status_for
from invoicing.stores import invoices_store, receipts_store
from invoicing.stores.invoices_store import Invoice
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from shared.logging import get_logger
from tuition.receipts.v1.events_pb2 import ReceiptCancelled, ReceiptIssued
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched, PaymentReversed

log = get_logger(__name__)


class UnknownInvoice(LookupError):
    """A payment for an invoice this service does not have: the event goes to dead letters, not lost."""


async def _locked(conn: asyncpg.Connection, invoice_id: str) -> Invoice:
    row = await invoices_store.lock(conn, uuid.UUID(invoice_id))
    if row is None:
        raise UnknownInvoice(f"payment for unknown invoice {invoice_id}")
    return row


async def on_payments_matched(conn: asyncpg.Connection, outbox: Outbox, msgs: list[PaymentMatched]) -> None:
    """Payments arriving together: their invoices locked, the payments recorded and the balances written with
    one statement each; one InvoiceBalanceChanged per new payment, in the order they came."""
    ids = sorted({uuid.UUID(m.invoice_id) for m in msgs})
    invoices = {r.invoice_id: r for r in await invoices_store.lock_many(conn, ids)}
    for invoice_id in ids:
        if invoice_id not in invoices:
            raise UnknownInvoice(f"payment for unknown invoice {invoice_id}")
    now = datetime.now(UTC)
    # The payment id makes this idempotent on its own too (a replay with new event ids).
    new = await invoices_store.record_payments(
        conn,
        [
            (
                m.payment_id,
                uuid.UUID(m.invoice_id),
                m.amount,
                Channel.Name(m.channel),
                m.bank_reference,
                m.paid_at.ToDatetime(tzinfo=UTC) if m.HasField("paid_at") else now,
            )
            for m in msgs
        ],
    )
    balances = {i: (int(r.amount_paid), str(r.status)) for i, r in invoices.items()}
    events: list[tuple[Message, str, str]] = []
    for m in msgs:
        if m.payment_id not in new:
            continue
        new.discard(m.payment_id)  # the same payment twice in the batch is recorded once
        inv = invoices[uuid.UUID(m.invoice_id)]
        paid, previous = balances[inv.invoice_id]
        paid += m.amount
        status = status_for(inv.total, paid, cancelled=inv.status == Status.CANCELLED)
        balances[inv.invoice_id] = (paid, str(status))
        message = balance_changed(
            inv, total=inv.total, paid=paid, status=status, previous_status=previous, payment_id=m.payment_id
        )
        events.append((message, str(inv.invoice_id), inv.school_id))
    if not events:
        return
    changed = {uuid.UUID(e.invoice_id) for e, _, _ in events}
    await invoices_store.set_paid_many(conn, [(i, *balances[i]) for i in sorted(changed)])
    await outbox.add_many(conn, Topic.INVOICING, events)
    for i in sorted(changed):
        log.info("invoicing.invoice.balance_changed", invoice_id=str(i), status=balances[i][1])


async def on_payment_reversed(conn: asyncpg.Connection, outbox: Outbox, msg: PaymentReversed) -> None:
    inv = await _locked(conn, msg.invoice_id)
    amount = await invoices_store.reverse_payment(conn, msg.payment_id)
    if amount is None:
        log.warning("invoicing.payment.reverse_unknown", payment_id=msg.payment_id)
        return
    await _apply(conn, outbox, inv, inv.amount_paid - amount, msg.payment_id)


async def _apply(conn: asyncpg.Connection, outbox: Outbox, inv: Invoice, paid: int, payment_id: str) -> None:
    status = status_for(inv.total, paid, cancelled=inv.status == Status.CANCELLED)
    await invoices_store.set_paid(conn, inv.invoice_id, paid, str(status))
    await emit_balance(conn, outbox, inv, total=inv.total, paid=paid, status=status, payment_id=payment_id)
    log.info("invoicing.invoice.balance_changed", invoice_id=str(inv.invoice_id), status=str(status))


async def receipts_issued(conn: asyncpg.Connection, msgs: list[ReceiptIssued]) -> None:
    """The parent page links the invoice's receipts in force (a batch of them with one statement)."""
    await receipts_store.link_many(
        conn,
        [
            (
                m.receipt_id,
                uuid.UUID(m.invoice_id),
                f"{m.series_code}-{m.number:07d}",
                m.url,
                m.issued_at.ToDatetime(tzinfo=UTC),
            )
            for m in msgs
        ],
    )


async def receipt_cancelled(conn: asyncpg.Connection, m: ReceiptCancelled) -> None:
    # The cancelled receipt stays in the receipts service; the parent page stops linking it.
    await receipts_store.unlink(conn, m.receipt_id)
