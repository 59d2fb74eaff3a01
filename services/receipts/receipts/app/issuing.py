"""One receipt per payment, numbered without gaps, signed twice (XML and compact), once whatever repeats.

Runs in the consumer's inbox transaction. The payment id is unique on receipts, so a payment delivered
again (even with a new event id) finds its receipt. The series row is locked and its counter moved in
this same transaction: a crash before commit consumes no number, and concurrent instances queue on the
lock, so numbers are strictly sequential with no gap and no duplicate. What a receipt needs but is not
there yet (the invoice, a key, a series) parks the payment in `pending_payments` until it arrives.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from google.protobuf.message import Message

from receipts.adapters import certificates, signing
from receipts.app import signing_keys
from receipts.app.series import Waiting, open_series
from receipts.domain.receipt import ReceiptContent, lines_paid
from receipts.domain.series import remaining
from receipts.settings import ReceiptsSettings
from receipts.stores import copies_store, pending_store, receipts_store, series_store
from receipts.stores.copies_store import InvoiceCopy, School
from receipts.stores.receipts_store import Receipt
from receipts.stores.series_store import Series
from shared.events import pupil_keys
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from shared.formatting import VN
from shared.logging import get_logger
from tuition.receipts.v1.events_pb2 import ReceiptIssued, SeriesRunningLow
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched

log = get_logger(__name__)

_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# What a payment waits for when its invoice's names are still sealed (shared/events/pupil_keys.py).
PUPIL_KEY = "pupil key"


def verification_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


async def _signing_keys(
    conn: asyncpg.Connection, settings: ReceiptsSettings, school: School
) -> tuple[certificates.KeyMaterial, certificates.KeyMaterial]:
    """The school's active XML and compact keys; provisioned from the local CA where that is on. A school
    whose authority issued it one (RSA) certificate signs its QR with that key too (PS256): no payment
    waits for a second key that a real school rarely has."""
    secret = settings.key_secret.get_secret_value()
    school_id = school.school_id
    xml_key = await signing_keys.active(conn, school_id, "xml", secret)
    compact_key = await signing_keys.active(conn, school_id, "compact", secret)
    if xml_key is None or compact_key is None:
        if not settings.provisions:
            if xml_key is None:
                raise Waiting("signing key")
            return xml_key, xml_key
        missing = tuple(kind for kind, key in (("xml", xml_key), ("compact", compact_key)) if key is None)
        await signing_keys.provision(conn, school_id, school.name, secret, kinds=missing)
        xml_key = await signing_keys.active(conn, school_id, "xml", secret)
        compact_key = await signing_keys.active(conn, school_id, "compact", secret)
        assert xml_key is not None and compact_key is not None
    return xml_key, compact_key


def _payer(payment: PaymentMatched, invoice: InvoiceCopy, payer_name: str) -> str:
    """Who paid, on the receipt: at the cash desk, the person the accountant wrote down (a grandmother paying
    for the family); for a transfer, the guardian as the roster spells them (the bank's name is upper case
    without marks, often the account holder's); the bank's name where the roster has none."""
    if payment.channel == Channel.CASH and payer_name.strip():
        return payer_name.strip()
    return str(invoice.guardian_name) or payer_name


def _content(
    payment: PaymentMatched,
    school: School,
    invoice: InvoiceCopy,
    series: Series,
    number: int,
    issued_at: datetime,
    replaces: Receipt | None,
    payer_name: str,
) -> ReceiptContent:
    asked = [(line["name"], line["amount"]) for line in json.loads(invoice.lines_json)]
    lines = lines_paid(asked, invoice.total, payment.amount)
    return ReceiptContent(
        school_id=school.school_id,
        school_name=school.name,
        school_code=school.code,
        tax_code=school.tax_code,
        address=school.address,
        form_code=series.form_code,
        series_code=series.series_code,
        number=number,
        issued_at=issued_at,
        payer_name=_payer(payment, invoice, payer_name),
        student_name=invoice.student_name,
        student_code=invoice.student_code,
        class_name=invoice.class_name,
        period=invoice.period,
        lines=lines,
        amount=payment.amount,
        channel=Channel.Name(payment.channel),
        bank_reference=payment.bank_reference,
        payment_reference=invoice.payment_reference,
        verification_code=verification_code(),
        payment_id=payment.payment_id,
        invoice_id=payment.invoice_id,
        replaces=f"{replaces.series_code} {replaces.number:07d}" if replaces is not None else "",
    )


async def _payer_names(conn: asyncpg.Connection, payments: list[PaymentMatched]) -> list[str]:
    """Each payment's payer as the bank named them: sealed with the pupil's key (opened with it, empty when
    it is destroyed or not here), or in clear in the events written before sealing."""
    keys = await pupil_keys.keys_by_id(conn, [p.sealed_payer_name.key_id for p in payments])
    names = []
    for p in payments:
        key = keys.get(p.sealed_payer_name.key_id)
        opened = pupil_keys.open_sealed(key, p.sealed_payer_name, bound_to=p.payment_id) if key is not None else None
        names.append(opened.payer_name if opened is not None else p.payer_name)
    return names


_signers: dict[int, signing.Signer] = {}


def signer_for(settings: ReceiptsSettings) -> signing.Signer:
    """One signer (and its worker processes) per configured size, for the life of the process."""
    if settings.signing_processes not in _signers:
        _signers[settings.signing_processes] = signing.Signer(settings.signing_processes)
    return _signers[settings.signing_processes]


def signing_processes(settings: ReceiptsSettings) -> Callable[[asyncio.Event], Awaitable[None]]:
    """Where the workers run: their signing processes started with the service, not with its first batch of
    receipts (a process imports the service's code, some seconds of CPU, while payments wait)."""

    async def run(stop: asyncio.Event) -> None:
        if settings.run_workers:
            await asyncio.to_thread(signer_for(settings).start)
        await stop.wait()

    return run


async def issue_receipt(
    conn: asyncpg.Connection,
    outbox: Outbox,
    settings: ReceiptsSettings,
    *,
    payment: PaymentMatched,
    replaces: Receipt | None = None,
    now: datetime | None = None,
) -> uuid.UUID:
    """Issue (or, with `replaces`, re-issue) the receipt of a payment. Raises Waiting when it cannot yet."""
    school = await copies_store.school(conn, payment.school_id)
    invoice = await copies_store.invoice(conn, uuid.UUID(payment.invoice_id))
    if school is None or invoice is None:
        raise Waiting("invoice" if school is not None else "school")
    if invoice.sealed_names is not None:
        raise Waiting(PUPIL_KEY)
    [receipt_id] = await issue_batch(conn, outbox, settings, school, [(payment, invoice)], replaces=replaces, now=now)
    return receipt_id


@dataclass
class _Batch:
    """One school's receipts made ready to sign: numbered, their contents written, the keys chosen."""

    school: School
    items: list[tuple[PaymentMatched, InvoiceCopy]]
    series: Series
    contents: list[ReceiptContent]
    pair: signing.KeyPair


async def _prepare(
    conn: asyncpg.Connection,
    settings: ReceiptsSettings,
    school: School,
    items: list[tuple[PaymentMatched, InvoiceCopy]],
    issued_at: datetime,
    replaces: Receipt | None = None,
) -> _Batch:
    """One school's payments numbered consecutively in one move of the series counter. Raises Waiting when
    they cannot be issued yet (no key, no series, or not numbers enough left in the open series for all)."""
    xml_key, compact_key = await _signing_keys(conn, settings, school)
    series = await open_series(conn, settings, school.school_id, issued_at.astimezone(VN).year)
    first = await series_store.take_numbers(conn, series, len(items))
    if first is None:
        raise Waiting(f"numbers in series {series.series_code} (fewer left than payments to receipt)")
    payers = await _payer_names(conn, [payment for payment, _ in items])
    return _batch(school, items, series, first, (xml_key, compact_key), payers, issued_at, replaces)


def _batch(
    school: School,
    items: list[tuple[PaymentMatched, InvoiceCopy]],
    series: Series,
    first: int,
    keys: tuple[certificates.KeyMaterial, certificates.KeyMaterial],
    payers: list[str],
    issued_at: datetime,
    replaces: Receipt | None = None,
) -> _Batch:
    """A school's receipts' contents, numbered from `first`, and the keys that sign them."""
    contents = [
        _content(payment, school, invoice, series, first + n, issued_at, replaces, payers[n])
        for n, (payment, invoice) in enumerate(items)
    ]
    # The key ids and the chain to the root once, not once per receipt.
    pair = signing.key_pair(keys[0], keys[1], certificates.chain_to_root(keys[0]))
    return _Batch(school, items, series, contents, pair)


async def _issue(
    conn: asyncpg.Connection,
    outbox: Outbox,
    settings: ReceiptsSettings,
    batches: list[_Batch],
    issued_at: datetime,
    replaces: Receipt | None = None,
) -> list[uuid.UUID]:
    """The batches' receipts (any number of schools) signed in one call off the loop, written with one COPY
    and announced with one insert into the outbox."""
    signed = await signer_for(settings).sign_groups([(b.pair, b.contents) for b in batches], issued_at)
    receipts: list[receipts_store.NewReceipt] = []
    events: list[tuple[Message, str, str]] = []
    for batch, sigs in zip(batches, signed, strict=True):
        made = [
            receipts_store.NewReceipt(
                receipt_id=uuid.uuid4(),
                school_id=batch.school.school_id,
                series_id=batch.series.series_id,
                number=content.number,
                payment_id=None if replaces is not None else payment.payment_id,
                invoice_id=uuid.UUID(payment.invoice_id),
                amount=payment.amount,
                verification_code=content.verification_code,
                issued_at=issued_at,
                xml=sig.xml,
                compact=sig.compact,
                xml_kid=batch.pair.xml_kid,
                compact_kid=batch.pair.compact_kid,
                replaces=replaces.receipt_id if replaces is not None else None,
            )
            for (payment, _), content, sig in zip(batch.items, batch.contents, sigs, strict=True)
        ]
        receipts += made
        events += _announcements(settings, made, batch.contents, batch.series)
    if receipts:
        await receipts_store.add_many(conn, receipts)
        await outbox.add_many(conn, Topic.RECEIPTS, events)
    return [r.receipt_id for r in receipts]


async def issue_batch(
    conn: asyncpg.Connection,
    outbox: Outbox,
    settings: ReceiptsSettings,
    school: School,
    items: list[tuple[PaymentMatched, InvoiceCopy]],
    *,
    replaces: Receipt | None = None,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """Receipts of one school's payments, numbered consecutively, signed together off the loop and written
    with one COPY. Raises Waiting when they cannot be issued yet (see `_prepare`)."""
    issued_at = now or datetime.now(UTC)
    batch = await _prepare(conn, settings, school, items, issued_at, replaces)
    return await _issue(conn, outbox, settings, [batch], issued_at, replaces)


def _announcements(
    settings: ReceiptsSettings,
    receipts: list[receipts_store.NewReceipt],
    contents: list[ReceiptContent],
    series: Series,
) -> list[tuple[Message, str, str]]:
    """ReceiptIssued for each, and SeriesRunningLow when the series is near its end."""
    events: list[tuple[Message, str, str]] = []
    for receipt, content in zip(receipts, contents, strict=True):
        event = ReceiptIssued(
            receipt_id=str(receipt.receipt_id),
            school_id=receipt.school_id,
            invoice_id=content.invoice_id,
            payment_id=content.payment_id,
            form_code=content.form_code,
            series_code=content.series_code,
            number=receipt.number,
            amount=receipt.amount,
            verification_code=content.verification_code,
            url=f"{settings.public_url}/r/{content.verification_code}",
            replaces=str(receipt.replaces) if receipt.replaces is not None else "",
        )
        event.issued_at.FromDatetime(receipt.issued_at)
        events.append((event, content.invoice_id, receipt.school_id))
    last = receipts[-1]
    left = remaining(series.range_from, series.range_to, last.number + 1)
    if left.low:
        log.warning(
            "receipts.series.running_low", school_id=last.school_id, series_code=series.series_code, left=left.left
        )
        low = SeriesRunningLow(
            school_id=last.school_id,
            form_code=series.form_code,
            series_code=series.series_code,
            numbers_left=left.left,
        )
        events.append((low, str(series.series_id), last.school_id))
    return events


async def _read_and_number(
    conn: asyncpg.Connection,
    settings: ReceiptsSettings,
    schools: dict[str, School],
    ready: dict[str, list[tuple[PaymentMatched, InvoiceCopy]]],
    issued_at: datetime,
) -> tuple[list[_Batch], list[str]]:
    """The schools ready as a district runs (a key and an open series with numbers enough): read at once and
    numbered with one update; the others (a key to make, a series to open or to turn) named to go alone."""
    # As a district runs: every school's key and open series are there. Read for all the schools at once (the
    # series locked in the schools' order, as every transaction takes them: instances consuming other
    # partitions lock the same rows, and two taking them in different orders would deadlock).
    names = sorted(ready)
    series = await series_store.open_many_for_update(conn, names, issued_at.astimezone(VN).year)
    keys = await signing_keys.active_many(conn, names, settings.key_secret.get_secret_value())
    payers = dict(
        zip(
            (p.payment_id for items in ready.values() for p, _ in items),
            await _payer_names(conn, [p for items in ready.values() for p, _ in items]),
            strict=True,
        )
    )
    batches: list[_Batch] = []
    takes: list[tuple[Series, int]] = []
    slow: list[str] = []
    for school_id in names:
        items, open_ = ready[school_id], series.get(school_id)
        xml_key, compact_key = keys.get((school_id, "xml")), keys.get((school_id, "compact"))
        if compact_key is None and not settings.provisions:
            compact_key = xml_key  # one RSA certificate signs both (see _signing_keys)
        if (
            open_ is None
            or xml_key is None
            or compact_key is None
            or open_.next_number + len(items) - 1 > open_.range_to
        ):
            slow.append(school_id)
            continue
        takes.append((open_, len(items)))
        named = [payers[p.payment_id] for p, _ in items]
        batches.append(
            _batch(schools[school_id], items, open_, open_.next_number, (xml_key, compact_key), named, issued_at)
        )
    await series_store.take_numbers_many(conn, takes)
    return batches, slow


async def on_payments(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, payments: list[PaymentMatched]
) -> None:
    """A consumer batch of payments: each school's ready ones numbered together, all schools' signed and written
    together; any that cannot be issued yet (its invoice, school, key or series missing) go one by one, and are
    parked."""
    issued = await receipts_store.issued_payments(conn, [p.payment_id for p in payments])
    todo = list({p.payment_id: p for p in payments if p.payment_id not in issued}.values())
    schools = await copies_store.schools(conn, list({p.school_id for p in todo}))
    invoices = await copies_store.invoices(conn, list({uuid.UUID(p.invoice_id) for p in todo}))
    by_school: dict[str, list[PaymentMatched]] = {}
    for p in todo:
        by_school.setdefault(p.school_id, []).append(p)
    issued_at = datetime.now(UTC)
    ready: dict[str, list[tuple[PaymentMatched, InvoiceCopy]]] = {}
    alone: list[PaymentMatched] = []
    for school_id in sorted(by_school):
        found = [(p, invoices[i]) for p in by_school[school_id] if _ready(invoices.get(i := uuid.UUID(p.invoice_id)))]
        if school_id in schools and found:
            ready[school_id] = found
            alone += [p for p in by_school[school_id] if not _ready(invoices.get(uuid.UUID(p.invoice_id)))]
        else:
            alone += by_school[school_id]
    batches, slow = await _read_and_number(conn, settings, schools, ready, issued_at)
    for school_id in slow:
        try:
            async with conn.transaction():  # savepoint: a school that must wait leaves nothing behind
                batches.append(await _prepare(conn, settings, schools[school_id], ready[school_id], issued_at))
        except Waiting:
            alone += [p for p, _ in ready[school_id]]
    # Every school's ready receipts signed in one call (spread over the signing processes) and written once.
    await _issue(conn, outbox, settings, batches, issued_at)
    await pending_store.clear_many(conn, [p.payment_id for b in batches for p, _ in b.items])
    for p in alone:
        await on_payment(conn, outbox, settings, p)


def _ready(invoice: InvoiceCopy | None) -> bool:
    """The invoice is here, with its names open."""
    return invoice is not None and invoice.sealed_names is None


async def on_payment(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, payment: PaymentMatched
) -> str:
    """Issue the payment's receipt once; park it if something it needs has not arrived."""
    if await receipts_store.exists_for_payment(conn, payment.payment_id):
        return "already issued"
    try:
        async with conn.transaction():  # savepoint: a parked payment leaves no half-made receipt
            await issue_receipt(conn, outbox, settings, payment=payment)
    except Waiting as wait:
        await pending_store.park(
            conn,
            payment_id=payment.payment_id,
            invoice_id=uuid.UUID(payment.invoice_id),
            school_id=payment.school_id,
            payload=payment.SerializeToString(),
            waiting_for=wait.what,
        )
        log.info("receipts.payment.waiting", payment_id=payment.payment_id, waiting_for=wait.what)
        return f"waiting for {wait.what}"
    await pending_store.clear(conn, payment.payment_id)
    return "issued"


async def release_parked(pool: asyncpg.Pool, outbox: Outbox, settings: ReceiptsSettings, school_id: str) -> int:
    """What a school's parked payments waited for may have come (a series registered, a certificate
    imported): they are tried again at once, not when the next event of the school happens to arrive.
    Returns how many got their receipt; the others stay parked."""
    async with pool.acquire() as conn, conn.transaction():
        issued = await retry_pending(conn, outbox, settings, school_id=school_id)
    if issued:
        log.info("receipts.parked.released", school_id=school_id, issued=issued)
    return issued


async def retry_pending(
    conn: asyncpg.Connection,
    outbox: Outbox,
    settings: ReceiptsSettings,
    *,
    invoice_id: uuid.UUID | None = None,
    school_id: str | None = None,
) -> int:
    issued = 0
    for payload in await pending_store.waiting(conn, invoice_id=invoice_id, school_id=school_id):
        payment = PaymentMatched.FromString(payload)
        issued += await on_payment(conn, outbox, settings, payment) == "issued"
    return issued
