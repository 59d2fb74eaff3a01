"""Banks' reversals read from a statement: each takes back the credit it names, or waits for the accountant.

A reversal names its credit by a bank reference they share, else by account, amount and date; when exactly
one credit fits, its payments are reversed (the invoices owe them again, their receipts are cancelled) and
the credit is set aside as reversed by the bank. When none fits, or several do, the reversal stays open in
the exceptions queue, and the daily close counts it. The same reversal in a second file of the bank is
recognised and not applied twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from reconciliation.app.actions import reverse_by_bank
from reconciliation.domain.credits import BankReversal, normal_identifiers
from reconciliation.stores import credits_store, reversals_store, schools_store
from shared.errors import Conflict, Invalid, NotFound
from shared.events.outbox import Outbox
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class ReversalsTaken:
    applied: int
    open: int
    known: int  # already on record from another file

    @property
    def already_known(self) -> int:
        return self.known


async def take_reversals(
    conn: asyncpg.Connection,
    outbox: Outbox,
    *,
    school_id: str,
    statement_id: uuid.UUID,
    reversals: list[BankReversal],
    actor: str,
) -> ReversalsTaken:
    """Inside the statement's transaction, after its credits are in (a credit and its reversal may share a
    file, or the credit may have come by webhook the day before)."""
    applied = opened = known = 0
    for r in reversals:
        ids = normal_identifiers(r.identifiers)
        if await reversals_store.already_known(conn, school_id, r, ids):
            known += 1
            continue
        named = await reversals_store.credits_named(conn, school_id, r, ids)
        credit_id = named[0] if len(named) == 1 else None
        if credit_id is not None and not await reverse_by_bank(
            conn, outbox, school_id=school_id, credit_id=credit_id, actor=actor, where=r.where
        ):
            credit_id = None
        await reversals_store.record(
            conn, school_id=school_id, statement_id=statement_id, reversal=r, ids=ids, credit_id=credit_id
        )
        applied, opened = applied + (credit_id is not None), opened + (credit_id is None)
    if reversals:
        log.info("reconciliation.reversals.taken", school_id=school_id, applied=applied, open=opened, known=known)
    return ReversalsTaken(applied, opened, known)


@dataclass(frozen=True, kw_only=True)
class Resolution:
    credit_id: uuid.UUID | None  # the credit the open reversal takes back; None dismisses it
    note: str


async def resolve_reversal(
    pool: asyncpg.Pool, outbox: Outbox, *, school_id: str, reversal_id: uuid.UUID, how: Resolution, actor: str
) -> reversals_store.StoredReversal:
    """The accountant settles an open reversal: names the credit it takes back, or dismisses it with a note
    (a credit from before the suite kept the books)."""
    if not how.note.strip():
        raise Invalid("Xử lý một lần ngân hàng thu hồi cần ghi chú lý do.")
    async with pool.acquire() as conn, conn.transaction():
        await schools_store.lock(conn, school_id)
        r = await reversals_store.get_for_update(conn, school_id, reversal_id)
        if r is None:
            raise NotFound(f"Không có lần thu hồi {reversal_id} ở trường {school_id}.")
        if r.state != "open":
            raise Conflict(f"Lần thu hồi {reversal_id} đã được xử lý ({r.state}).")
        if how.credit_id is not None:
            await _apply(conn, outbox, school_id, r, how.credit_id, actor)
        state = "applied" if how.credit_id is not None else "dismissed"
        await reversals_store.resolve(conn, reversal_id, state=state, credit_id=how.credit_id, by=actor, note=how.note)
        return (await reversals_store.get_for_update(conn, school_id, reversal_id)) or r


async def _apply(
    conn: asyncpg.Connection,
    outbox: Outbox,
    school_id: str,
    r: reversals_store.StoredReversal,
    credit_id: uuid.UUID,
    actor: str,
) -> None:
    credit = await credits_store.get_for_update(conn, school_id, credit_id)
    if credit is None:
        raise NotFound(f"Không có khoản tiền về {credit_id} ở trường {school_id}.")
    if credit.amount != r.amount:
        raise Invalid(f"Lần thu hồi {r.amount} đồng không khớp với khoản tiền về {credit.amount} đồng.")
    if not await reverse_by_bank(conn, outbox, school_id=school_id, credit_id=credit_id, actor=actor, where=r.line):
        raise Conflict(f"Khoản tiền {credit_id} đã bị thu hồi, hoặc đã hoàn một phần.")
