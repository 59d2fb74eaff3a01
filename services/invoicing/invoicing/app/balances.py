"""Invoice balances from reconciliation's payment events. Runs inside the consumer's inbox transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from invoicing.app.invoices import emit_balance
from invoicing.domain.invoices import Status, status_for
from invoicing.stores import invoices_store, receipts_store
from shared.events.outbox import Outbox
from shared.logging import get_logger
from tuition.receipts.v1.events_pb2 import ReceiptCancelled, ReceiptIssued
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched, PaymentReversed

log = get_logger(__name__)


class UnknownInvoice(LookupError):
    """A payment for an invoice this service does not have: the event goes to dead letters, not lost."""


async def _locked(conn: asyncpg.Connection, invoice_id: str) -> asyncpg.Record:
    row = await invoices_store.lock(conn, uuid.UUID(invoice_id))
    if row is None:
        raise UnknownInvoice(f"payment for unknown invoice {invoice_id}")
    return row


async def on_payment_matched(conn: asyncpg.Connection, outbox: Outbox, msg: PaymentMatched) -> None:
    inv = await _locked(conn, msg.invoice_id)
    paid_at = msg.paid_at.ToDatetime(tzinfo=UTC) if msg.HasField("paid_at") else datetime.now(UTC)
    # The payment id makes this idempotent on its own too (a replay with new event ids).
    new = await invoices_store.record_payment(
        conn,
        payment_id=msg.payment_id,
        invoice_id=inv["invoice_id"],
        amount=msg.amount,
        channel=Channel.Name(msg.channel),
        bank_reference=msg.bank_reference,
        paid_at=paid_at,
    )
    if not new:
        return
    await _apply(conn, outbox, inv, inv["amount_paid"] + msg.amount, msg.payment_id)


async def on_payment_reversed(conn: asyncpg.Connection, outbox: Outbox, msg: PaymentReversed) -> None:
    inv = await _locked(conn, msg.invoice_id)
    amount = await invoices_store.reverse_payment(conn, msg.payment_id)
    if amount is None:
        log.warning("invoicing.payment.reverse_unknown", payment_id=msg.payment_id)
        return
    await _apply(conn, outbox, inv, inv["amount_paid"] - amount, msg.payment_id)


async def _apply(conn: asyncpg.Connection, outbox: Outbox, inv: asyncpg.Record, paid: int, payment_id: str) -> None:
    status = status_for(inv["total"], paid, cancelled=inv["status"] == Status.CANCELLED)
    await invoices_store.set_paid(conn, inv["invoice_id"], paid, str(status))
    await emit_balance(conn, outbox, inv, total=inv["total"], paid=paid, status=status, payment_id=payment_id)
    log.info("invoicing.invoice.balance_changed", invoice_id=str(inv["invoice_id"]), status=str(status))


async def receipt_issued(conn: asyncpg.Connection, m: ReceiptIssued) -> None:
    """The parent page links the invoice's receipts in force."""
    await receipts_store.link(
        conn,
        receipt_id=m.receipt_id,
        invoice_id=uuid.UUID(m.invoice_id),
        number=f"{m.series_code}-{m.number:07d}",
        url=m.url,
        issued_at=m.issued_at.ToDatetime(tzinfo=UTC),
    )


async def receipt_cancelled(conn: asyncpg.Connection, m: ReceiptCancelled) -> None:
    # The cancelled receipt stays in the receipts service; the parent page stops linking it.
    await receipts_store.unlink(conn, m.receipt_id)
