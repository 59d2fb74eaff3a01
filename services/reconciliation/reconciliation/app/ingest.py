"""Credits in, exactly once, and placed: the same credit by any channel, any number of times, is one credit.

The rule that recognises a credit seen before is `domain.dedup`; this module loads what it needs in one
query (stored credits of the same account, amount and local date), runs it, places the new credits with
the matcher and writes everything through `Writer` (COPY). All writes of one school are serialised by an
advisory lock, so concurrent retries of the same webhook cannot both insert.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from reconciliation.app.book import load_book_for, load_school_book
from reconciliation.app.writer import Writer
from reconciliation.domain.credits import BankCredit
from reconciliation.domain.dedup import DedupIndex, Key, Known
from reconciliation.domain.matching import Book, CreditFacts, State, decide
from reconciliation.domain.memo import MemoReading, compact, read_memo
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


async def lock_school(conn: asyncpg.Connection, school_id: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('reconciliation:' || $1))", school_id)


def channel_for(credit: BankCredit, reading: MemoReading) -> int:
    if credit.source_kind == "cash":
        return Channel.CASH
    return Channel.VIETQR if reading.looks_like_qr else Channel.BANK_TRANSFER


def stored_credit(row: asyncpg.Record) -> BankCredit:
    """A stored credit as the matcher and the writer take it (identifiers are already recorded)."""
    return BankCredit(
        row["account_number"],
        row["amount"],
        row["booked_at"],
        row["memo"],
        row["first_source"],
        (),
        row["payer_name"],
        row["payer_account"],
        row["virtual_account"],
    )


def _key(c: BankCredit) -> Key:
    return (c.account_number, c.amount, c.value_date)


async def _load_index(conn: asyncpg.Connection, credits: list[BankCredit]) -> DedupIndex:
    keys = list({_key(c) for c in credits})
    rows = await conn.fetch(
        """SELECT k.credit_id, k.account_number, k.amount, k.value_date, k.booked_at, k.memo_compact, k.memo_refs,
                  k.state, k.reason_code,
                  (SELECT coalesce(array_agg(identifier), '{}') FROM credit_identifiers i
                   WHERE i.credit_id = k.credit_id) AS identifiers,
                  (SELECT coalesce(array_agg(source_kind), '{}') FROM credit_sources s
                   WHERE s.credit_id = k.credit_id) AS sources
           FROM credits k JOIN unnest($1::text[], $2::bigint[], $3::date[]) AS q(account, amount, day)
             ON k.account_number = q.account AND k.amount = q.amount AND k.value_date = q.day""",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    index = DedupIndex()
    for r in rows:
        index.add(
            (r["account_number"], r["amount"], r["value_date"]),
            Known(
                r["credit_id"],
                r["booked_at"],
                r["memo_compact"],
                frozenset(r["memo_refs"]),
                set(r["identifiers"]),
                set(r["sources"]),
                r["state"],
                r["reason_code"],
            ),
        )
    return index


async def ingest(
    pool: asyncpg.Pool, outbox: Outbox, school_id: str, credits: list[BankCredit], *, bulk: bool = False
) -> list[Outcome]:
    """Store and place credits of one school in one transaction (all or nothing)."""
    async with pool.acquire() as conn, conn.transaction():
        await lock_school(conn, school_id)
        index = await _load_index(conn, credits)
        school_book: Book | None = await load_school_book(conn, school_id) if bulk else None
        writer = Writer(school_id, outbox)
        outcomes = []
        for c in credits:
            ids = list(dict.fromkeys(i.strip().upper() for i in c.identifiers if i.strip()))
            reading = read_memo(c.memo)
            memo_c = compact(c.memo)
            refs = frozenset(reading.references)
            known = index.find(
                _key(c), identifiers=set(ids), memo_compact=memo_c, memo_refs=refs, source_kind=c.source_kind
            )
            if known is not None:
                writer.seen(
                    known.credit_id, c.account_number, [i for i in ids if i not in known.identifiers], c.source_kind
                )
                index.remember(_key(c), known, ids)
                known.sources.add(c.source_kind)
                outcomes.append(Outcome(known.credit_id, False, known.state, known.reason_code))
                continue
            book = school_book or await load_book_for(
                conn, school_id, reading, virtual_account=c.virtual_account, payer_account=c.payer_account
            )
            decision = decide(CreditFacts(c.amount, reading, c.virtual_account, c.payer_account), book)
            book.apply(decision)
            credit_id = uuid.uuid4()
            channel = channel_for(c, reading)
            writer.new_credit(credit_id, c, reading, memo_c, channel, decision)
            writer.seen(credit_id, c.account_number, ids, c.source_kind)
            writer.place(credit_id, c, decision, channel=channel, book=book, bank_reference=ids[0] if ids else "")
            index.add(
                _key(c),
                Known(
                    credit_id,
                    c.booked_at,
                    memo_c,
                    refs,
                    set(ids),
                    {c.source_kind},
                    str(decision.state),
                    decision.reason_code,
                ),
            )
            outcomes.append(Outcome(credit_id, True, str(decision.state), decision.reason_code))
        await writer.flush(conn)
    placed = sum(o.new for o in outcomes)
    log.info("reconciliation.credits.ingested", school_id=school_id, received=len(credits), new=placed)
    return outcomes


async def retry_unmatched_for(conn: asyncpg.Connection, outbox: Outbox, school_id: str, reference: str) -> int:
    """An invoice (or group) arrived after a credit that named it: place those credits now."""
    rows = await conn.fetch(
        "SELECT * FROM credits WHERE school_id = $1 AND state IN ('unmatched', 'ambiguous') AND allocated = 0 "
        "AND refunded = 0 AND ignored = 0 AND memo_refs @> ARRAY[$2]::text[] ORDER BY booked_at",
        school_id,
        reference,
    )
    writer = Writer(school_id, outbox)
    for r in rows:
        credit = stored_credit(r)
        reading = read_memo(r["memo"])
        book = await load_book_for(
            conn, school_id, reading, virtual_account=r["virtual_account"], payer_account=r["payer_account"]
        )
        decision = decide(CreditFacts(r["amount"], reading, r["virtual_account"], r["payer_account"]), book)
        if not decision.allocations:
            continue
        await conn.execute(
            "UPDATE credits SET state = $2, reason_code = $3, allocated = $4, candidates = '[]' WHERE credit_id = $1",
            r["credit_id"],
            str(decision.state),
            decision.reason_code,
            decision.allocated,
        )
        writer.place(r["credit_id"], credit, decision, channel=Channel.Value(r["channel"]), book=book)
    await writer.flush(conn)
    return len(rows)


__all__ = ["Outcome", "State", "ingest", "lock_school", "retry_unmatched_for"]
