"""One receipt per payment, numbered without gaps, signed twice (XML and compact), once whatever repeats.

Runs in the consumer's inbox transaction. The payment id is unique on receipts, so a payment delivered
again (even with a new event id) finds its receipt. The series row is locked and its counter moved in
this same transaction: a crash before commit consumes no number, and concurrent instances queue on the
lock, so numbers are strictly sequential with no gap and no duplicate. What a receipt needs but is not
there yet (the invoice, a key, a series) parks the payment in `pending_payments` until it arrives.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime

import asyncpg

from receipts.adapters import compact, xmlsig
from receipts.app import keys
from receipts.domain.receipt import VN, Line, ReceiptContent, build_xml
from receipts.domain.series import next_year_code, remaining
from receipts.settings import ReceiptsSettings
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from shared.logging import get_logger
from tuition.receipts.v1.events_pb2 import ReceiptIssued, SeriesRunningLow
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched

log = get_logger(__name__)

_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class Waiting(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def verification_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


async def _series(conn: asyncpg.Connection, settings: ReceiptsSettings, school_id: str, year: int) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT * FROM receipt_series WHERE school_id = $1 AND year = $2 AND NOT closed "
        "AND next_number <= range_to ORDER BY registered_at LIMIT 1 FOR UPDATE",
        school_id,
        year,
    )
    if row is not None:
        return row
    if not settings.provisions:
        raise Waiting(f"no open receipt series registered for {year}")
    # A new series at the year's turn (or a first one): the previous year's codes with this year's digits.
    last = await conn.fetchrow(
        "SELECT form_code, series_code FROM receipt_series WHERE school_id = $1 "
        "ORDER BY year DESC, registered_at DESC LIMIT 1",
        school_id,
    )
    form = last["form_code"] if last else settings.default_form_code
    code = next_year_code(last["series_code"], year) if last else f"{settings.default_series_prefix}{year % 100:02d}"
    await conn.execute(
        "INSERT INTO receipt_series (series_id, school_id, form_code, series_code, year, range_from, range_to, "
        "next_number) VALUES ($1, $2, $3, $4, $5, 1, $6, 1) ON CONFLICT DO NOTHING",
        uuid.uuid4(),
        school_id,
        form,
        code,
        year,
        settings.default_range,
    )
    log.info("receipts.series.opened", school_id=school_id, series_code=code, year=year)
    return await _series(conn, settings, school_id, year)


async def issue_receipt(
    conn: asyncpg.Connection,
    outbox: Outbox,
    settings: ReceiptsSettings,
    *,
    payment: PaymentMatched,
    replaces: asyncpg.Record | None = None,
    now: datetime | None = None,
) -> uuid.UUID:
    """Issue (or, with `replaces`, re-issue) the receipt of a payment. Raises Waiting when it cannot yet."""
    school = await conn.fetchrow("SELECT * FROM schools WHERE school_id = $1", payment.school_id)
    invoice = await conn.fetchrow("SELECT * FROM invoices WHERE invoice_id = $1", uuid.UUID(payment.invoice_id))
    if school is None or invoice is None:
        raise Waiting("invoice" if school is not None else "school")
    secret = settings.key_secret.get_secret_value()
    xml_key = await keys.active(conn, payment.school_id, "xml", secret)
    compact_key = await keys.active(conn, payment.school_id, "compact", secret)
    if xml_key is None or compact_key is None:
        if not settings.provisions:
            raise Waiting("signing key")
        await keys.provision(
            conn,
            payment.school_id,
            school["name"],
            secret,
            kinds=tuple(kind for kind, key in (("xml", xml_key), ("compact", compact_key)) if key is None),
        )
        xml_key = await keys.active(conn, payment.school_id, "xml", secret)
        compact_key = await keys.active(conn, payment.school_id, "compact", secret)
        assert xml_key is not None and compact_key is not None
    issued_at = now or datetime.now(UTC)
    series = await _series(conn, settings, payment.school_id, issued_at.astimezone(VN).year)
    number = series["next_number"]
    await conn.execute(
        "UPDATE receipt_series SET next_number = next_number + 1 WHERE series_id = $1", series["series_id"]
    )
    lines = tuple(Line(line["name"], line["amount"]) for line in json.loads(invoice["lines"]) if line["amount"] > 0)
    content = ReceiptContent(
        school_id=school["school_id"],
        school_name=school["name"],
        school_code=school["code"],
        tax_code=school["tax_code"],
        address=school["address"],
        form_code=series["form_code"],
        series_code=series["series_code"],
        number=number,
        issued_at=issued_at,
        payer_name=invoice["guardian_name"] or payment.payer_name,
        student_name=invoice["student_name"],
        student_code=invoice["student_code"],
        class_name=invoice["class_name"],
        period=invoice["period"],
        lines=lines,
        amount=payment.amount,
        channel=Channel.Name(payment.channel),
        bank_reference=payment.bank_reference,
        payment_reference=invoice["payment_reference"],
        verification_code=verification_code(),
        payment_id=payment.payment_id,
        invoice_id=payment.invoice_id,
        replaces=f"{replaces['series_code']} {replaces['number']:07d}" if replaces is not None else "",
    )
    document = xmlsig.sign(build_xml(content), xml_key, issued_at)
    qr = compact.sign(
        {
            "s": content.school_id,
            "f": content.form_code,
            "sr": content.series_code,
            "n": number,
            "a": content.amount,
            "t": int(issued_at.timestamp()),
            "v": content.verification_code,
            "c": content.student_code,
        },
        compact_key.key,
        bytes.fromhex(compact_key.kid),
    )
    receipt_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO receipts (receipt_id, school_id, series_id, number, payment_id, invoice_id, amount, "
        "verification_code, issued_at, xml, compact, xml_kid, compact_kid, status, replaces) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'issued', $14)",
        receipt_id,
        payment.school_id,
        series["series_id"],
        number,
        None if replaces is not None else payment.payment_id,
        uuid.UUID(payment.invoice_id),
        payment.amount,
        content.verification_code,
        issued_at,
        document,
        qr,
        xml_key.kid,
        compact_key.kid,
        replaces["receipt_id"] if replaces is not None else None,
    )
    event = ReceiptIssued(
        receipt_id=str(receipt_id),
        school_id=payment.school_id,
        invoice_id=payment.invoice_id,
        payment_id=payment.payment_id,
        form_code=content.form_code,
        series_code=content.series_code,
        number=number,
        amount=payment.amount,
        verification_code=content.verification_code,
        url=f"{settings.public_url}/r/{content.verification_code}",
        replaces=str(replaces["receipt_id"]) if replaces is not None else "",
    )
    event.issued_at.FromDatetime(issued_at)
    await outbox.add(conn, Topic.RECEIPTS, event, aggregate_id=payment.invoice_id, school_id=payment.school_id)
    left = remaining(series["range_from"], series["range_to"], number + 1)
    if left.low:
        log.warning(
            "receipts.series.running_low",
            school_id=payment.school_id,
            series_code=series["series_code"],
            left=left.left,
        )
        await outbox.add(
            conn,
            Topic.RECEIPTS,
            SeriesRunningLow(
                school_id=payment.school_id,
                form_code=series["form_code"],
                series_code=series["series_code"],
                numbers_left=left.left,
            ),
            aggregate_id=str(series["series_id"]),
            school_id=payment.school_id,
        )
    return receipt_id


async def on_payment(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, payment: PaymentMatched
) -> str:
    """Issue the payment's receipt once; park it if something it needs has not arrived."""
    if await conn.fetchval("SELECT 1 FROM receipts WHERE payment_id = $1", payment.payment_id):
        return "already issued"
    try:
        async with conn.transaction():  # savepoint: a parked payment leaves no half-made receipt
            await issue_receipt(conn, outbox, settings, payment=payment)
    except Waiting as wait:
        await conn.execute(
            "INSERT INTO pending_payments (payment_id, invoice_id, school_id, payload, waiting_for) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (payment_id) DO UPDATE SET waiting_for = $5",
            payment.payment_id,
            uuid.UUID(payment.invoice_id),
            payment.school_id,
            payment.SerializeToString(),
            wait.what,
        )
        log.info("receipts.payment.waiting", payment_id=payment.payment_id, waiting_for=wait.what)
        return f"waiting for {wait.what}"
    await conn.execute("DELETE FROM pending_payments WHERE payment_id = $1", payment.payment_id)
    return "issued"


async def retry_pending(
    conn: asyncpg.Connection,
    outbox: Outbox,
    settings: ReceiptsSettings,
    *,
    invoice_id: uuid.UUID | None = None,
    school_id: str | None = None,
) -> int:
    rows = await conn.fetch(
        "SELECT payload FROM pending_payments WHERE ($1::uuid IS NULL OR invoice_id = $1) "
        "AND ($2::text IS NULL OR school_id = $2) ORDER BY created_at",
        invoice_id,
        school_id,
    )
    issued = 0
    for r in rows:
        payment = PaymentMatched.FromString(r["payload"])
        issued += await on_payment(conn, outbox, settings, payment) == "issued"
    return issued
