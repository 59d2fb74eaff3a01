"""Credits: what the dedup rule and the matcher read, their placement totals, and the read side."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from reconciliation.domain.credits import BankCredit, Placement
from reconciliation.domain.dedup import MIN_MEMO_FOR_DEDUP, DedupIndex, Key, Known
from reconciliation.domain.matching import EXCEPTION_STATES
from reconciliation.stores import actions_store
from reconciliation.stores.actions_store import StoredAction
from shared import rows
from shared.db import Executor

# The states of a credit waiting for the accountant, as stored.
_OPEN_STATES = [str(s) for s in EXCEPTION_STATES]
# The same, as SQL literals: where a query must match the partial index on them (`credits_open`), which a bound
# array parameter would not.
_OPEN_STATES_SQL = ", ".join(f"'{s}'" for s in _OPEN_STATES)


@dataclass(frozen=True, kw_only=True)
class StoredCredit:
    """A credit as stored: what arrived, what was read of its memo, where it stands."""

    credit_id: uuid.UUID
    school_id: str
    account_number: str
    amount: int
    booked_at: datetime
    value_date: date
    memo: str
    payer_name: str
    payer_account: str
    virtual_account: str
    channel: str
    first_source: str
    state: str
    reason_code: str
    memo_refs: list[str]
    allocated: int
    refunded: int
    ignored: int
    received_at: datetime
    recorded_by: str
    balance_family: str | None

    @property
    def unallocated(self) -> int:
        return self.amount - self.allocated - self.refunded - self.ignored

    @property
    def credit(self) -> BankCredit:
        """The credit as the matcher and the writer take it (identifiers are already recorded)."""
        return BankCredit(
            account_number=self.account_number,
            amount=self.amount,
            booked_at=self.booked_at,
            memo=self.memo,
            source_kind=self.first_source,
            payer_name=self.payer_name,
            payer_account=self.payer_account,
            virtual_account=self.virtual_account,
            recorded_by=self.recorded_by,
        )

    @property
    def placement(self) -> Placement:
        return Placement(
            state=self.state,
            reason_code=self.reason_code,
            allocated=self.allocated,
            refunded=self.refunded,
            ignored=self.ignored,
        )


@dataclass(frozen=True, kw_only=True)
class ShownCredit(StoredCredit):
    """A credit as the accountant reads it: what its memo was read as, its candidate invoices (ids as stored;
    the queue puts the invoices in), and for the queue what the memo may mean where no invoice is a candidate."""

    memo_read: dict[str, object]
    candidates: list[object]
    suggestions: list[object] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Allocation:
    """A payment placed from a credit, with the pupil and the period it paid for."""

    payment_id: uuid.UUID
    invoice_id: uuid.UUID
    amount: int
    reason_code: str
    action_id: uuid.UUID | None
    created_at: datetime
    reversed_at: datetime | None
    student_code: str | None
    student_name: str | None
    class_name: str | None
    period: str | None
    payment_reference: str | None


@dataclass(frozen=True, kw_only=True)
class Seen:
    """A kind of source that delivered the credit, and when."""

    source_kind: str
    seen_at: datetime


@dataclass(frozen=True, kw_only=True)
class CreditDetail(ShownCredit):
    allocations: list[Allocation]
    sources: list[Seen]
    identifiers: list[str]
    actions: list[StoredAction]


@dataclass(frozen=True, kw_only=True)
class ExportLine:
    """A credit of the export, with the refunds' bank references and the reasons the accountant gave."""

    booked_at: datetime
    account_number: str
    amount: int
    memo: str
    payer_name: str
    channel: str
    state: str
    reason_code: str
    allocated: int
    refunded: int
    ignored: int
    unallocated: int
    refund_references: str | None
    reasons: str | None


@dataclass(frozen=True, kw_only=True)
class DayTotals:
    """One account's side of the daily close, summed from its own records."""

    account_number: str
    credits: int
    received: int
    matched: int
    refunded: int
    ignored: int
    withdrawn: int
    held: int
    in_exceptions: int
    exception_credits: int


@dataclass(frozen=True, kw_only=True)
class OpenState:
    state: str
    n: int
    oldest: float


@dataclass(frozen=True, kw_only=True)
class Difference:
    school_id: str
    difference: int


_KNOWN_COLUMNS = """k.credit_id, k.account_number, k.amount, k.value_date, k.booked_at, k.memo_compact, k.memo_refs,
       k.state, k.reason_code,
       (SELECT coalesce(array_agg(identifier), '{}') FROM credit_identifiers i WHERE i.credit_id = k.credit_id)
         AS identifiers,
       (SELECT coalesce(array_agg(source_kind), '{}') FROM credit_sources s WHERE s.credit_id = k.credit_id)
         AS sources"""


async def load_dedup_index(conn: asyncpg.Connection, keys: list[Key]) -> DedupIndex:
    """Every stored credit of the same account, amount and local date as any of `keys` (a statement: one
    query for all its lines)."""
    rows = await conn.fetch(
        f"""SELECT {_KNOWN_COLUMNS}
           FROM credits k JOIN unnest($1::text[], $2::bigint[], $3::date[]) AS q(account, amount, day)
             ON k.account_number = q.account AND k.amount = q.amount AND k.value_date = q.day""",  # noqa: S608
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    return _index(rows)


@dataclass(frozen=True)
class Probe:
    """What one arriving credit can be recognised by (domain/dedup.py): its key, identifiers, memo."""

    key: Key
    identifiers: list[str]
    refs: list[str]
    memo: str | None  # the compact memo, None when shorter than MIN_MEMO_FOR_DEDUP


async def load_dedup_candidates(conn: asyncpg.Connection, probes: list[Probe]) -> DedupIndex:
    """Only the stored credits a few arriving credits could be (webhooks, cash): those with a shared
    identifier or payment reference, or whose memo is the arriving memo cut short or the other way round, on
    the same key. Bounded by what the credit names, not by how many parents paid the same amount that day."""
    ids = [(p.key[0], i) for p in probes for i in p.identifiers]
    # Every lookup is LATERAL and fenced (OFFSET 0): index probes per value, whatever the planner guesses of a
    # day when thousands of parents paid the same amount to the same account (a hash join reads all of them).
    # A memo cut short is looked for as each prefix of the arriving memo, made here (not sent: 34 a credit).
    rows = await conn.fetch(
        f"""WITH q AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::date[], $4::text[])
                         AS q(account, amount, day, memo)),
                 hit AS MATERIALIZED (
                    SELECT i.credit_id FROM unnest($7::text[], $5::text[]) AS p(account, identifier),
                      LATERAL (SELECT credit_id FROM credit_identifiers
                               WHERE account_number = p.account AND identifier = p.identifier OFFSET 0) i
                    UNION SELECT k.credit_id FROM unnest($6::text[]) AS r(ref),
                      LATERAL (SELECT credit_id FROM credits WHERE memo_refs @> ARRAY[r.ref] OFFSET 0) k
                    UNION SELECT k.credit_id FROM q, generate_series($8::int, length(q.memo)) AS n,
                      LATERAL (SELECT credit_id FROM credits
                               WHERE account_number = q.account AND amount = q.amount AND value_date = q.day
                                 AND memo_compact COLLATE "C" = left(q.memo, n) OFFSET 0) k
                    UNION SELECT k.credit_id FROM q,
                      LATERAL (SELECT credit_id FROM credits
                               WHERE account_number = q.account AND amount = q.amount AND value_date = q.day
                                 AND memo_compact COLLATE "C" >= q.memo
                                 AND memo_compact COLLATE "C" < q.memo || U&'\\+10FFFF' OFFSET 0) k)
            SELECT {_KNOWN_COLUMNS}
            FROM (SELECT DISTINCT credit_id FROM hit) h,
              LATERAL (SELECT * FROM credits WHERE credit_id = h.credit_id OFFSET 0) k
            WHERE EXISTS (SELECT 1 FROM q WHERE k.account_number = q.account AND k.amount = q.amount
                                              AND k.value_date = q.day)""",  # noqa: S608 (the hits' rows, fenced:
        # left to itself the planner read every credit of the probes' keys and then kept the hits among them)
        [p.key[0] for p in probes],
        [p.key[1] for p in probes],
        [p.key[2] for p in probes],
        [p.memo for p in probes],
        [i for _, i in ids],
        [r for p in probes for r in p.refs],
        [a for a, _ in ids],
        MIN_MEMO_FOR_DEDUP,
    )
    return _index(rows)


def _index(rows: list[Mapping[str, Any]]) -> DedupIndex:
    index = DedupIndex()
    seen: set[uuid.UUID] = set()
    for r in rows:
        if r["credit_id"] in seen:  # one stored credit can share the key of several probes
            continue
        seen.add(r["credit_id"])
        known = Known(
            credit_id=r["credit_id"],
            booked_at=r["booked_at"],
            memo_compact=r["memo_compact"],
            memo_refs=frozenset(r["memo_refs"]),
            identifiers=set(r["identifiers"]),
            sources=set(r["sources"]),
            state=r["state"],
            reason_code=r["reason_code"],
        )
        index.add((r["account_number"], r["amount"], r["value_date"]), known)
    return index


async def get_for_update(conn: asyncpg.Connection, school_id: str, credit_id: uuid.UUID) -> StoredCredit | None:
    found = await conn.fetchrow(
        "SELECT * FROM credits WHERE credit_id = $1 AND school_id = $2 FOR UPDATE", credit_id, school_id
    )
    return rows.maybe(StoredCredit, found)


async def set_placement(conn: asyncpg.Connection, credit_id: uuid.UUID, p: Placement) -> None:
    await conn.execute(
        "UPDATE credits SET state = $2, allocated = $3, refunded = $4, ignored = $5, reason_code = $6 "
        "WHERE credit_id = $1",
        credit_id,
        p.state,
        p.allocated,
        p.refunded,
        p.ignored,
        p.reason_code,
    )


async def set_balance_family(conn: asyncpg.Connection, credit_id: uuid.UUID, family: str | None) -> None:
    await conn.execute("UPDATE credits SET balance_family = $2 WHERE credit_id = $1", credit_id, family)


async def family_balances(conn: asyncpg.Connection, school_id: str, family: str) -> list[StoredCredit]:
    """The family's credits kept as a balance, oldest first, locked for this transaction."""
    found = await conn.fetch(
        "SELECT * FROM credits WHERE school_id = $1 AND balance_family = $2 AND state = 'credit_balance' "
        "AND amount > allocated + refunded + ignored ORDER BY booked_at, credit_id FOR UPDATE",
        school_id,
        family,
    )
    return rows.rows(StoredCredit, found)


async def waiting_for(conn: asyncpg.Connection, school_id: str, reference: str) -> list[StoredCredit]:
    """Unplaced credits whose memo named `reference` (an invoice or group that had not arrived yet)."""
    found = await conn.fetch(
        "SELECT * FROM credits WHERE school_id = $1 AND state IN ('unmatched', 'ambiguous') AND allocated = 0 "
        "AND refunded = 0 AND ignored = 0 AND memo_refs @> ARRAY[$2]::text[] ORDER BY booked_at",
        school_id,
        reference,
    )
    return rows.rows(StoredCredit, found)


async def set_late_decision(
    conn: asyncpg.Connection, credit_id: uuid.UUID, *, state: str, reason_code: str, allocated: int
) -> None:
    await conn.execute(
        "UPDATE credits SET state = $2, reason_code = $3, allocated = $4, candidates = '[]' WHERE credit_id = $1",
        credit_id,
        state,
        reason_code,
        allocated,
    )


# --- read side ---------------------------------------------------------------------------------------


def _shown(r: Mapping[str, Any]) -> ShownCredit:
    stored = rows.row(StoredCredit, r)
    return ShownCredit(**vars(stored), memo_read=json.loads(r["memo_read"]), candidates=json.loads(r["candidates"]))


async def list_for_school(
    db: Executor, school_id: str, *, state: str | None, day: date | None, limit: int, offset: int
) -> list[ShownCredit]:
    found = await db.fetch(
        "SELECT * FROM credits WHERE school_id = $1 AND ($2::text IS NULL OR state = $2) "
        "AND ($3::date IS NULL OR value_date = $3) ORDER BY booked_at DESC LIMIT $4 OFFSET $5",
        school_id,
        state,
        day,
        limit,
        offset,
    )
    return [_shown(r) for r in found]


async def in_exceptions(
    db: Executor, school_id: str, *, limit: int, after: tuple[datetime, uuid.UUID] | None = None
) -> list[ShownCredit]:
    """A page of the queue, oldest first: `limit` credits after the (booked_at, credit_id) given."""
    found = await db.fetch(
        "SELECT * FROM credits WHERE school_id = $1 AND state = ANY($2::text[]) "
        "AND ($3::timestamptz IS NULL OR (booked_at, credit_id) > ($3, $4::uuid)) "
        "ORDER BY booked_at, credit_id LIMIT $5",
        school_id,
        _OPEN_STATES,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_shown(r) for r in found]


async def count_in_exceptions(db: Executor, school_id: str) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM credits WHERE school_id = $1 AND state = ANY($2::text[])",
            school_id,
            _OPEN_STATES,
        )
    )


async def detail(db: Executor, school_id: str, credit_id: uuid.UUID) -> CreditDetail | None:
    row = await db.fetchrow("SELECT * FROM credits WHERE credit_id = $1 AND school_id = $2", credit_id, school_id)
    if row is None:
        return None
    allocations = await db.fetch(
        # Each payment with the pupil and the period it paid for: the accountant knows pupils, not invoice ids.
        "SELECT a.payment_id, a.invoice_id, a.amount, a.reason_code, a.action_id, a.created_at, a.reversed_at, "
        "i.student_code, i.student_name, i.class_name, i.period, i.payment_reference "
        "FROM allocations a LEFT JOIN invoices i USING (invoice_id) WHERE a.credit_id = $1 ORDER BY a.created_at",
        credit_id,
    )
    sources = await db.fetch(
        "SELECT source_kind, seen_at FROM credit_sources WHERE credit_id = $1 ORDER BY seen_at", credit_id
    )
    identifiers = await db.fetch(
        "SELECT identifier FROM credit_identifiers WHERE credit_id = $1 ORDER BY identifier", credit_id
    )
    return CreditDetail(
        **vars(_shown(row)),
        allocations=rows.rows(Allocation, allocations),
        sources=rows.rows(Seen, sources),
        identifiers=[r["identifier"] for r in identifiers],
        actions=await actions_store.of_credit(db, credit_id),
    )


async def for_export(
    db: Executor, school_id: str, first: date, last: date, *, needed_a_person: bool, limit: int
) -> list[ExportLine]:
    """Credits booked in the range (local dates), with the refunds' bank references and the reasons given."""
    found = await db.fetch(
        """SELECT c.booked_at, c.account_number, c.amount, c.memo, c.payer_name, c.channel, c.state, c.reason_code,
                  c.allocated, c.refunded, c.ignored, c.amount - c.allocated - c.refunded - c.ignored AS unallocated,
                  (SELECT string_agg(a.payload->>'bank_reference', ', ' ORDER BY a.created_at) FROM credit_actions a
                    WHERE a.credit_id = c.credit_id AND a.kind = 'refund' AND a.undone_by IS NULL) AS refund_references,
                  (SELECT string_agg(a.actor || ': ' || (a.payload->>'reason'), '; ' ORDER BY a.created_at)
                     FROM credit_actions a WHERE a.credit_id = c.credit_id AND a.undone_by IS NULL
                      AND a.kind IN ('ignore', 'unmatch', 'withdraw')) AS reasons
           FROM credits c
           WHERE c.school_id = $1 AND c.value_date BETWEEN $2 AND $3
             AND (NOT $4 OR c.state NOT IN ('matched', 'partial') OR c.refunded > 0 OR c.ignored > 0
                  OR EXISTS (SELECT 1 FROM credit_actions a WHERE a.credit_id = c.credit_id))
           ORDER BY c.booked_at, c.credit_id LIMIT $5""",
        school_id,
        first,
        last,
        needed_a_person,
        limit,
    )
    return rows.rows(ExportLine, found)


async def day_totals(db: Executor, school_id: str, day: date) -> list[DayTotals]:
    """Per account, each side of the daily close summed from its own records."""
    found = await db.fetch(
        """WITH day AS (SELECT * FROM credits WHERE school_id = $1 AND value_date = $2)
           SELECT d.account_number,
                  count(*) AS credits,
                  sum(d.amount)::bigint AS received,
                  coalesce((SELECT sum(a.amount) FROM allocations a JOIN day x USING (credit_id)
                            WHERE a.reversed_at IS NULL AND x.account_number = d.account_number), 0)::bigint
                      AS matched,
                  sum(d.refunded)::bigint AS refunded,
                  sum(d.ignored)::bigint AS ignored,
                  coalesce(sum(d.amount) FILTER (WHERE d.state = 'withdrawn'), 0)::bigint AS withdrawn,
                  coalesce(sum(d.amount - d.allocated - d.refunded - d.ignored)
                           FILTER (WHERE d.state = 'credit_balance'), 0)::bigint AS held,
                  coalesce(sum(d.amount - d.allocated - d.refunded - d.ignored)
                           FILTER (WHERE d.state = ANY($3::text[])), 0)::bigint AS in_exceptions,
                  count(*) FILTER (WHERE d.state = ANY($3::text[])) AS exception_credits
           FROM day d GROUP BY d.account_number ORDER BY d.account_number""",
        school_id,
        day,
        _OPEN_STATES,
    )
    return rows.rows(DayTotals, found)


async def open_by_state(db: Executor) -> list[OpenState]:
    """Credits waiting for the accountant, by state: how many and the oldest one's age in seconds."""
    found = await db.fetch(
        "SELECT state, count(*) AS n, extract(epoch FROM now() - min(received_at))::float8 AS oldest "  # noqa: S608
        f"FROM credits WHERE state IN ({_OPEN_STATES_SQL}) GROUP BY state",  # the states, as literals above
    )
    return rows.rows(OpenState, found)


async def recent_differences(db: Executor) -> list[Difference]:
    """Per school, the daily close's difference over the credits received in the last 48 hours: what was
    received less what is matched, refunded, ignored, held or waiting in an exception. Zero when the
    books add up."""
    found = await db.fetch(
        """WITH recent AS (SELECT * FROM credits WHERE received_at >= now() - interval '48 hours')
           SELECT r.school_id,
                  (sum(r.amount)
                   - coalesce((SELECT sum(a.amount) FROM allocations a JOIN recent x USING (credit_id)
                               WHERE a.reversed_at IS NULL AND x.school_id = r.school_id), 0)
                   - sum(r.refunded) - sum(r.ignored)
                   - coalesce(sum(r.amount - r.allocated - r.refunded - r.ignored)
                              FILTER (WHERE r.state = 'credit_balance' OR r.state = ANY($1::text[])), 0))::bigint
                      AS difference
           FROM recent r GROUP BY r.school_id""",
        _OPEN_STATES,
    )
    return rows.rows(Difference, found)
