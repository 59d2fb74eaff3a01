"""Credits in, exactly once, and placed: the same credit by any channel, any number of times, is one credit.

Recognising a credit seen before (issue 5 §2): any identifier it shares with a stored credit of the same
account, amount and local date (webhook id, bank reference, NtryRef, AcctSvcrRef, TxId); otherwise a stored
credit of the same account, amount and local date whose memo is the same (or one is the other cut short, or
both name the same payment reference) and that has not yet been delivered by this kind of source. The
second rule keeps two genuinely identical transfers apart: each statement line takes one webhook credit.
All writes of one school are serialised by an advisory lock, so concurrent retries cannot both insert.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC

import asyncpg

from reconciliation.app.book import load_book_for, load_school_book
from reconciliation.domain.credits import BankCredit
from reconciliation.domain.matching import EXCEPTION_STATES, Book, CreditFacts, Decision, State, decide
from reconciliation.domain.memo import MemoReading, compact, read_memo
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from shared.logging import get_logger
from tuition.reconciliation.v1.events_pb2 import Channel, CreditReceived, PaymentMatched, PaymentUnmatched

log = get_logger(__name__)

# The statement-less fallback is only trusted when memos carry this much text.
MIN_MEMO_FOR_DEDUP = 8
# Reasons whose payer account may be learnt as paying for that student.
_CONFIDENT = {"reference", "group_reference", "references", "virtual_account"}


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


async def _seen_before(
    conn: asyncpg.Connection, c: BankCredit, ids: list[str], memo_c: str, refs: list[str]
) -> uuid.UUID | None:
    if ids:
        found = await conn.fetchval(
            "SELECT k.credit_id FROM credit_identifiers i JOIN credits k USING (credit_id) "
            "WHERE i.account_number = $1 AND i.identifier = ANY($2::text[]) AND k.amount = $3 AND k.value_date = $4 "
            "LIMIT 1",
            c.account_number,
            ids,
            c.amount,
            c.value_date,
        )
        if found:
            return found  # type: ignore[no-any-return]
    if len(memo_c) < MIN_MEMO_FOR_DEDUP and not refs:
        return None
    return await conn.fetchval(  # type: ignore[no-any-return]
        """SELECT k.credit_id FROM credits k
           WHERE k.account_number = $1 AND k.amount = $2 AND k.value_date = $3
             AND (k.memo_refs && $5::text[]
                  OR (length($4) >= $7 AND length(k.memo_compact) >= $7
                      AND (starts_with(k.memo_compact, $4) OR starts_with($4, k.memo_compact))))
             AND NOT EXISTS (SELECT 1 FROM credit_sources s WHERE s.credit_id = k.credit_id AND s.source_kind = $6)
           ORDER BY k.booked_at, k.received_at LIMIT 1""",
        c.account_number,
        c.amount,
        c.value_date,
        memo_c,
        refs,
        c.source_kind,
        MIN_MEMO_FOR_DEDUP,
    )


async def _remember(conn: asyncpg.Connection, credit_id: uuid.UUID, c: BankCredit, ids: list[str]) -> None:
    await conn.executemany(
        "INSERT INTO credit_identifiers VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [(c.account_number, i, credit_id) for i in ids],
    )
    await conn.execute(
        "INSERT INTO credit_sources (credit_id, source_kind) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        credit_id,
        c.source_kind,
    )


async def apply_decision(
    conn: asyncpg.Connection,
    outbox: Outbox,
    *,
    school_id: str,
    credit_id: uuid.UUID,
    credit: BankCredit,
    decision: Decision,
    channel: int,
    action_id: uuid.UUID | None = None,
    bank_reference: str = "",
) -> None:
    """Allocations, invoice totals, events: inside the caller's transaction."""
    for a in decision.allocations:
        payment_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO allocations (payment_id, credit_id, invoice_id, amount, reason_code, action_id) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            payment_id,
            credit_id,
            a.invoice_id,
            a.amount,
            decision.reason_code,
            action_id,
        )
        await conn.execute(
            "UPDATE invoices SET allocated = allocated + $2 WHERE invoice_id = $1", a.invoice_id, a.amount
        )
        msg = PaymentMatched(
            payment_id=str(payment_id),
            credit_id=str(credit_id),
            invoice_id=str(a.invoice_id),
            school_id=school_id,
            amount=a.amount,
            channel=channel,
            bank_reference=bank_reference,
            payer_name=credit.payer_name,
            reason_code=decision.reason_code,
        )
        msg.paid_at.FromDatetime(credit.booked_at.astimezone(UTC))
        await outbox.add(conn, Topic.RECONCILIATION, msg, aggregate_id=str(a.invoice_id), school_id=school_id)
    if decision.allocations and credit.payer_account and decision.reason_code in _CONFIDENT:
        await conn.execute(
            "INSERT INTO payer_accounts (payer_account, student_id, school_id) "
            "SELECT $1, student_id, school_id FROM invoices WHERE invoice_id = ANY($2::uuid[]) "
            "ON CONFLICT (payer_account, student_id) DO UPDATE SET last_seen = now()",
            credit.payer_account,
            [a.invoice_id for a in decision.allocations],
        )


async def _emit_unmatched(
    conn: asyncpg.Connection, outbox: Outbox, school_id: str, credit_id: uuid.UUID, decision: Decision, unallocated: int
) -> None:
    if decision.state in EXCEPTION_STATES:
        await outbox.add(
            conn,
            Topic.RECONCILIATION,
            PaymentUnmatched(
                credit_id=str(credit_id),
                school_id=school_id,
                state=str(decision.state),
                reason_code=decision.reason_code,
                unallocated=unallocated,
            ),
            aggregate_id=str(credit_id),
            school_id=school_id,
        )


async def ingest(
    pool: asyncpg.Pool, outbox: Outbox, school_id: str, credits: list[BankCredit], *, bulk: bool = False
) -> list[Outcome]:
    """Store and place credits of one school in one transaction (all or nothing)."""
    async with pool.acquire() as conn, conn.transaction():
        await lock_school(conn, school_id)
        book: Book | None = await load_school_book(conn, school_id) if bulk else None
        return [await _ingest_one(conn, outbox, school_id, c, book) for c in credits]


async def _ingest_one(
    conn: asyncpg.Connection, outbox: Outbox, school_id: str, c: BankCredit, book: Book | None
) -> Outcome:
    ids = list(dict.fromkeys(i.strip().upper() for i in c.identifiers if i.strip()))
    reading = read_memo(c.memo)
    memo_c = compact(c.memo)
    existing = await _seen_before(conn, c, ids, memo_c, list(reading.references))
    if existing is not None:
        await _remember(conn, existing, c, ids)
        row = await conn.fetchrow("SELECT state, reason_code FROM credits WHERE credit_id = $1", existing)
        return Outcome(existing, False, row["state"], row["reason_code"])
    if book is None:
        book = await load_book_for(
            conn, school_id, reading, virtual_account=c.virtual_account, payer_account=c.payer_account
        )
    decision = decide(CreditFacts(c.amount, reading, c.virtual_account, c.payer_account), book)
    book.apply(decision)
    credit_id = uuid.uuid4()
    channel = channel_for(c, reading)
    await conn.execute(
        """INSERT INTO credits (credit_id, school_id, account_number, amount, booked_at, value_date, memo, memo_compact,
                                payer_name, payer_account, virtual_account, channel, first_source, state, reason_code,
                                memo_read, candidates, memo_refs, allocated)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)""",
        credit_id,
        school_id,
        c.account_number,
        c.amount,
        c.booked_at,
        c.value_date,
        c.memo,
        memo_c,
        c.payer_name,
        c.payer_account,
        c.virtual_account,
        Channel.Name(channel),
        c.source_kind,
        str(decision.state),
        decision.reason_code,
        json.dumps(reading.as_dict()),
        json.dumps([str(i) for i in decision.candidates]),
        list(reading.references),
        decision.allocated,
    )
    await _remember(conn, credit_id, c, ids)
    received = CreditReceived(
        credit_id=str(credit_id),
        school_id=school_id,
        amount=c.amount,
        channel=channel,
        source=c.source_kind,
        account_number=c.account_number,
    )
    received.booked_at.FromDatetime(c.booked_at.astimezone(UTC))
    await outbox.add(conn, Topic.RECONCILIATION, received, aggregate_id=str(credit_id), school_id=school_id)
    await apply_decision(
        conn,
        outbox,
        school_id=school_id,
        credit_id=credit_id,
        credit=c,
        decision=decision,
        channel=channel,
        bank_reference=ids[0] if ids else "",
    )
    await _emit_unmatched(conn, outbox, school_id, credit_id, decision, c.amount - decision.allocated)
    log.info(
        "reconciliation.credit.placed",
        credit_id=str(credit_id),
        state=str(decision.state),
        reason=decision.reason_code,
        source=c.source_kind,
    )
    return Outcome(credit_id, True, str(decision.state), decision.reason_code)


async def retry_unmatched_for(conn: asyncpg.Connection, outbox: Outbox, school_id: str, reference: str) -> int:
    """An invoice (or group) arrived after a credit that named it: place those credits now."""
    rows = await conn.fetch(
        "SELECT * FROM credits WHERE school_id = $1 AND state IN ('unmatched', 'ambiguous') AND allocated = 0 "
        "AND refunded = 0 AND ignored = 0 AND memo_refs @> ARRAY[$2]::text[] ORDER BY booked_at",
        school_id,
        reference,
    )
    for r in rows:
        credit = BankCredit(
            r["account_number"],
            r["amount"],
            r["booked_at"],
            r["memo"],
            r["first_source"],
            (),
            r["payer_name"],
            r["payer_account"],
            r["virtual_account"],
        )
        reading = read_memo(r["memo"])
        book = await load_book_for(
            conn, school_id, reading, virtual_account=r["virtual_account"], payer_account=r["payer_account"]
        )
        decision = decide(CreditFacts(r["amount"], reading, r["virtual_account"], r["payer_account"]), book)
        if not decision.allocations:
            continue
        await conn.execute(
            "UPDATE credits SET state = $2, reason_code = $3, allocated = $4, candidates = $5 WHERE credit_id = $1",
            r["credit_id"],
            str(decision.state),
            decision.reason_code,
            decision.allocated,
            json.dumps([str(i) for i in decision.candidates]),
        )
        await apply_decision(
            conn,
            outbox,
            school_id=school_id,
            credit_id=r["credit_id"],
            credit=credit,
            decision=decision,
            channel=Channel.Value(r["channel"]),
        )
        await _emit_unmatched(conn, outbox, school_id, r["credit_id"], decision, r["amount"] - decision.allocated)
    return len(rows)


__all__ = ["Outcome", "State", "ingest", "lock_school", "retry_unmatched_for"]
