"""Credits taken in, exactly once, and placed: the same credit by any channel, any number of times, is one
credit. The pipeline's step after the channels and the queue (`intake/__init__.py`).

The rule that recognises a credit seen before is `domain.dedup`; this module loads what it needs, runs it,
places the new credits with the matcher and writes everything through `Writer`. All writes of one school are
serialised by an advisory lock its callers hold, so concurrent retries of the same webhook cannot both insert.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from reconciliation.app.intake.writer import Writer, flush_together
from reconciliation.domain.credits import BankCredit, normal_identifiers
from reconciliation.domain.dedup import MIN_MEMO_FOR_DEDUP, DedupIndex, Key, Known
from reconciliation.domain.matching import Book, CreditFacts, decide
from reconciliation.domain.memo import MemoReading, read_memo
from reconciliation.stores import book_store, credits_store
from shared.events.outbox import Outbox
from shared.logging import get_logger
from tuition.reconciliation.v1.events_pb2 import Channel

log = get_logger(__name__)


@dataclass(frozen=True)
class Outcome:
    credit_id: uuid.UUID
    new: bool
    state: str
    reason_code: str


def channel_for(credit: BankCredit, reading: MemoReading) -> int:
    if credit.source_kind == "cash":
        return int(Channel.CASH)
    return int(Channel.VIETQR if reading.looks_like_qr else Channel.BANK_TRANSFER)


def _key(c: BankCredit) -> Key:
    return (c.account_number, c.amount, c.value_date)


def _probe(c: BankCredit, reading: MemoReading) -> credits_store.Probe:
    compact = reading.compact
    return credits_store.Probe(
        key=_key(c),
        identifiers=_identifiers(c),
        refs=list(reading.references),
        memo=compact if len(compact) >= MIN_MEMO_FOR_DEDUP else None,
    )


def _identifiers(c: BankCredit) -> list[str]:
    return normal_identifiers(c.identifiers)


async def take_in(
    conn: asyncpg.Connection, outbox: Outbox, credits: dict[str, list[BankCredit]], *, whole_books: bool = False
) -> dict[str, list[Outcome]]:
    """The pipeline's one step, for credits of schools whose locks the caller holds, inside its transaction:
    recognise the credits seen before (`domain.dedup`), place the new ones (`domain.matching`) and write it all
    at once (`Writer`). Reads what it needs in one query each: the stored credits the new ones could be, and the
    school's book of open invoices they may pay.

    `whole_books`: a statement's thousands of lines read their schools' whole books and every stored credit of
    their keys (account, amount, date): cheaper than naming each line's own. A few webhooks read only what they
    name (identifiers, references, memo), bounded whatever the day's traffic."""
    readings = {s: [read_memo(c.memo) for c in cs] for s, cs in credits.items()}  # once per credit
    if whole_books:
        keys = list({_key(c) for cs in credits.values() for c in cs})
        index = await credits_store.load_dedup_index(conn, keys)
        books = {s: await book_store.load_school_book(conn, s) for s in credits}
    else:
        probes = [_probe(c, r) for s, cs in credits.items() for c, r in zip(cs, readings[s], strict=True)]
        index = await credits_store.load_dedup_candidates(conn, probes)
        pointers = {
            s: book_store.Pointers.of(readings[s], [c.virtual_account for c in cs], [c.payer_account for c in cs])
            for s, cs in credits.items()
        }
        books = await book_store.load_books_for(conn, pointers)
    writers = {s: Writer(s, outbox) for s in credits}
    outcomes = {
        s: [_one(writers[s], index, books[s], c, r) for c, r in zip(cs, readings[s], strict=True)]
        for s, cs in credits.items()
    }
    await flush_together(conn, list(writers.values()))
    for s, cs in credits.items():
        _logged(s, cs, outcomes[s])
    return outcomes


def _logged(school_id: str, credits: list[BankCredit], outcomes: list[Outcome]) -> None:
    log.info(
        "reconciliation.credits.ingested", school_id=school_id, received=len(credits), new=sum(o.new for o in outcomes)
    )


def _one(writer: Writer, index: DedupIndex, book: Book, c: BankCredit, reading: MemoReading) -> Outcome:
    ids = _identifiers(c)
    memo_c = reading.compact
    refs = frozenset(reading.references)
    known = index.find(_key(c), identifiers=set(ids), memo_compact=memo_c, memo_refs=refs, source_kind=c.source_kind)
    if known is not None:
        writer.seen(known.credit_id, c.account_number, [i for i in ids if i not in known.identifiers], c.source_kind)
        index.remember(_key(c), known, ids)
        known.sources.add(c.source_kind)
        return Outcome(known.credit_id, False, known.state, known.reason_code)
    decision = decide(CreditFacts(c.amount, reading, c.virtual_account, c.payer_account), book)
    book.apply(decision)
    credit_id = uuid.uuid4()
    channel = channel_for(c, reading)
    writer.new_credit(credit_id, c, reading, memo_c, channel, decision)
    writer.seen(credit_id, c.account_number, ids, c.source_kind)
    writer.place(credit_id, c, decision, channel=channel, book=book, bank_reference=ids[0] if ids else "")
    state = str(decision.state)
    known = Known(
        credit_id=credit_id,
        booked_at=c.booked_at,
        memo_compact=memo_c,
        memo_refs=refs,
        identifiers=set(ids),
        sources={c.source_kind},
        state=state,
        reason_code=decision.reason_code,
    )
    index.add(_key(c), known)
    return Outcome(credit_id, True, state, decision.reason_code)


async def place_waiting(conn: asyncpg.Connection, outbox: Outbox, school_id: str, reference: str) -> int:
    """An invoice (or group) arrived after a credit that named it: place those credits now."""
    rows = await credits_store.waiting_for(conn, school_id, reference)
    writer = Writer(school_id, outbox)
    for r in rows:
        reading = read_memo(r.memo)
        book = await book_store.load_book_for(
            conn, school_id, reading, virtual_account=r.virtual_account, payer_account=r.payer_account
        )
        decision = decide(CreditFacts(r.amount, reading, r.virtual_account, r.payer_account), book)
        if not decision.allocations:
            continue
        await credits_store.set_late_decision(
            conn,
            r.credit_id,
            state=str(decision.state),
            reason_code=decision.reason_code,
            allocated=decision.allocated,
        )
        writer.place_stored(r, decision, book=book)
    await writer.flush(conn)
    return len(rows)
