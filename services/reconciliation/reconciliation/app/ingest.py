"""Credits in, exactly once, and placed: the same credit by any channel, any number of times, is one credit.

The rule that recognises a credit seen before is `domain.dedup`; this module loads what it needs in one
query (stored credits of the same account, amount and local date), runs it, places the new credits with
the matcher and writes everything through `Writer` (COPY). All writes of one school are serialised by an
advisory lock, so concurrent retries of the same webhook cannot both insert.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from reconciliation.app.writer import Writer, flush_together
from reconciliation.domain.credits import BankCredit, normal_identifiers
from reconciliation.domain.dedup import MIN_MEMO_FOR_DEDUP, DedupIndex, Key, Known
from reconciliation.domain.matching import Book, CreditFacts, State, decide
from reconciliation.domain.memo import MemoReading, read_memo
from reconciliation.stores import book_store, credits_store, schools_store
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

    def as_dict(self) -> dict[str, Any]:
        return {"credit_id": str(self.credit_id), "new": self.new, "state": self.state, "reason_code": self.reason_code}


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


async def ingest(
    pool: asyncpg.Pool, outbox: Outbox, school_id: str, credits: list[BankCredit], *, bulk: bool = False
) -> list[Outcome]:
    """Store and place credits of one school in one transaction (all or nothing)."""
    async with pool.acquire() as conn, conn.transaction():
        return await ingest_in(conn, outbox, school_id, credits, bulk=bulk)


async def ingest_in(
    conn: asyncpg.Connection, outbox: Outbox, school_id: str, credits: list[BankCredit], *, bulk: bool = False
) -> list[Outcome]:
    """`ingest` inside the caller's transaction (a statement upload records its file in the same one)."""
    if bulk:  # a statement: its school's whole book, and every stored credit of its lines' keys
        await schools_store.lock(conn, school_id)
        readings = [read_memo(c.memo) for c in credits]  # once per credit: dedup, book and matching use it
        index = await credits_store.load_dedup_index(conn, list({_key(c) for c in credits}))
        book = await book_store.load_school_book(conn, school_id)
        writer = Writer(school_id, outbox)
        outcomes = [_one(writer, index, book, c, r) for c, r in zip(credits, readings, strict=True)]
        await writer.flush(conn)
        _logged(school_id, credits, outcomes)
        return outcomes
    await schools_store.lock(conn, school_id)
    return (await ingest_schools_in(conn, outbox, {school_id: credits}))[school_id]


async def ingest_schools(
    pool: asyncpg.Pool, outbox: Outbox, credits: dict[str, list[BankCredit]]
) -> dict[str, list[Outcome]]:
    """A few webhook credits of several schools in one transaction (all or nothing), in the intake's turn."""
    async with pool.acquire() as conn, conn.transaction():
        await schools_store.take_intake_turn(conn)
        await schools_store.lock_all(conn, list(credits))
        return await ingest_schools_in(conn, outbox, credits)


async def ingest_schools_in(
    conn: asyncpg.Connection, outbox: Outbox, credits: dict[str, list[BankCredit]]
) -> dict[str, list[Outcome]]:
    """A few credits of several schools whose locks the caller holds, inside its transaction: one query for
    the duplicates the credits could be, one for the invoices their memos point to (a book per school), one
    write."""
    readings = {s: [read_memo(c.memo) for c in cs] for s, cs in credits.items()}
    index = await credits_store.load_dedup_candidates(
        conn, [_probe(c, r) for s, cs in credits.items() for c, r in zip(cs, readings[s], strict=True)]
    )
    books = await book_store.load_books_for(
        conn,
        {
            s: book_store.Pointers.of(readings[s], [c.virtual_account for c in cs], [c.payer_account for c in cs])
            for s, cs in credits.items()
        },
    )
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


async def retry_unmatched_for(conn: asyncpg.Connection, outbox: Outbox, school_id: str, reference: str) -> int:
    """An invoice (or group) arrived after a credit that named it: place those credits now."""
    rows = await credits_store.waiting_for(conn, school_id, reference)
    writer = Writer(school_id, outbox)
    for r in rows:
        reading = read_memo(r["memo"])
        book = await book_store.load_book_for(
            conn, school_id, reading, virtual_account=r["virtual_account"], payer_account=r["payer_account"]
        )
        decision = decide(CreditFacts(r["amount"], reading, r["virtual_account"], r["payer_account"]), book)
        if not decision.allocations:
            continue
        await credits_store.set_late_decision(
            conn,
            r["credit_id"],
            state=str(decision.state),
            reason_code=decision.reason_code,
            allocated=decision.allocated,
        )
        writer.place_stored(r, decision, book=book)
    await writer.flush(conn)
    return len(rows)


__all__ = ["Outcome", "State", "ingest", "ingest_in", "ingest_schools", "retry_unmatched_for"]
