"""Cancelling and replacing receipts; the receipt's data for display."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
from lxml import etree

from receipts.app.issuing import issue_receipt
from receipts.domain.receipt import VN, read_fields
from receipts.settings import ReceiptsSettings
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from tuition.receipts.v1.events_pb2 import ReceiptCancelled
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched


class ReceiptError(ValueError):
    status = 422


class ReceiptNotFound(ReceiptError):
    status = 404


class ReceiptConflict(ReceiptError):
    status = 409


_COLUMNS = "r.*, s.form_code, s.series_code"


async def by_code(conn: asyncpg.Connection | asyncpg.Pool, code: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM receipts r JOIN receipt_series s USING (series_id) "  # noqa: S608
        "WHERE r.verification_code = $1",
        code,
    )
    if row is None:
        raise ReceiptNotFound(f"no receipt with verification code {code}")
    return row


async def cancel(
    pool: asyncpg.Pool,
    outbox: Outbox,
    settings: ReceiptsSettings,
    *,
    school_id: str,
    receipt_id: uuid.UUID,
    reason: str,
    replace: bool,
) -> dict[str, Any]:
    """Cancel a receipt; it keeps its number. With `replace`, a new receipt (new number) references it."""
    if not reason.strip():
        raise ReceiptError("a cancellation needs a reason")
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM receipts r JOIN receipt_series s USING (series_id) "  # noqa: S608
            "WHERE r.receipt_id = $1 AND r.school_id = $2 FOR UPDATE OF r",
            receipt_id,
            school_id,
        )
        if row is None:
            raise ReceiptNotFound(f"no receipt {receipt_id} at school {school_id}")
        if row["status"] == "cancelled":
            raise ReceiptConflict(f"receipt {receipt_id} is already cancelled")
        replacement = None
        if replace:
            fields = read_fields(etree.fromstring(row["xml"]).find("DLBLai"))
            payment = PaymentMatched(
                payment_id=row["payment_id"] or str(row["receipt_id"]),
                school_id=school_id,
                invoice_id=str(row["invoice_id"]),
                amount=row["amount"],
                bank_reference=fields["bank_reference"],
                channel=_channel(fields["channel"]),
            )
            replacement = await issue_receipt(conn, outbox, settings, payment=payment, replaces=row)
        await mark_cancelled(
            conn,
            outbox,
            receipt_id=receipt_id,
            school_id=school_id,
            invoice_id=str(row["invoice_id"]),
            reason=reason.strip(),
            replaced_by=replacement,
        )
    return {"cancelled": str(receipt_id), "replaced_by": str(replacement) if replacement else None}


async def mark_cancelled(
    conn: asyncpg.Connection,
    outbox: Outbox,
    *,
    receipt_id: uuid.UUID,
    school_id: str,
    invoice_id: str,
    reason: str,
    replaced_by: uuid.UUID | None = None,
) -> None:
    """The receipt keeps its number; its status, reason and replacement change, and the event says so."""
    await conn.execute(
        "UPDATE receipts SET status = 'cancelled', cancelled_at = now(), cancel_reason = $2, replaced_by = $3 "
        "WHERE receipt_id = $1",
        receipt_id,
        reason,
        replaced_by,
    )
    await outbox.add(
        conn,
        Topic.RECEIPTS,
        ReceiptCancelled(
            receipt_id=str(receipt_id),
            school_id=school_id,
            invoice_id=invoice_id,
            reason=reason,
            replaced_by=str(replaced_by) if replaced_by else "",
        ),
        aggregate_id=invoice_id,
        school_id=school_id,
    )


def _channel(label: str) -> int:
    from receipts.domain.receipt import CHANNEL_VI

    name = next((k for k, v in CHANNEL_VI.items() if v == label), "OTHER")
    return Channel.Value(name)


def display(row: asyncpg.Record, school: asyncpg.Record | None, invoice: asyncpg.Record | None) -> dict[str, Any]:
    fields = read_fields(etree.fromstring(row["xml"]).find("DLBLai"))
    lines = (
        [(line["name"], line["amount"]) for line in json.loads(invoice["lines"]) if line["amount"] > 0]
        if invoice
        else []
    )
    return fields | {
        "amount": row["amount"],
        "status": row["status"],
        "cancel_reason": row["cancel_reason"],
        "tax_code": school["tax_code"] if school else "",
        "student_code": invoice["student_code"] if invoice else "",
        "class_name": invoice["class_name"] if invoice else "",
        "lines": lines,
        "issued_local": row["issued_at"].astimezone(VN).strftime("%d/%m/%Y %H:%M"),
        "compact": row["compact"],
    }
