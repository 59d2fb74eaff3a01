"""Concurrent credits of several schools share one transaction (app/intake/queue.py): each school is still matched
against its own invoices only, each credit gets its own answer, and a batch that fails fails only the credit
that broke it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import pytest

from reconciliation.app.intake import take_in as take_in_module
from reconciliation.app.intake.queue import GroupCommit
from reconciliation.domain.credits import BankCredit
from reconciliation.main import SPEC
from reconciliation.stores import schools_store
from shared import payref
from shared.db import create_pool
from shared.events.outbox import Outbox

pytestmark = pytest.mark.asyncio


async def _statement(pool, school_id: str, credits: list[BankCredit]):  # type: ignore[no-untyped-def]
    """Credits taken in as a statement's are: in their own transaction, under their school's lock."""
    async with pool.acquire() as conn, conn.transaction():
        await schools_store.lock(conn, school_id)
        outcomes = await take_in_module.take_in(conn, Outbox("reconciliation"), {school_id: credits}, whole_books=True)
        return outcomes[school_id]


COLUMNS = [
    "invoice_id",
    "school_id",
    "student_id",
    "student_code",
    "student_name",
    "class_name",
    "family_key",
    "payment_reference",
    "period",
    "due_date",
    "total",
]


def _credit(school: str, memo: str, amount: int, ref: str) -> BankCredit:
    return BankCredit(
        account_number=f"ACC-{school}",
        amount=amount,
        booked_at=datetime(2026, 9, 5, 3, tzinfo=UTC),
        memo=memo,
        source_kind="webhook_sepay",
        identifiers=(ref,),
    )


async def test_credits_of_several_schools_in_one_transaction_each_match_their_own_school(make_database, monkeypatch):
    pool = await create_pool(await make_database(SPEC.migrations), min_size=1, max_size=4)
    try:
        # The same pupil code in two schools, and a family in each: a school's credit must never reach the
        # other school's invoices, even when both are placed in the same transaction.
        rows = []
        for n, school in enumerate(("A", "B")):
            for k in range(3):
                rows.append(
                    (
                        uuid.uuid4(),
                        school,
                        uuid.uuid4(),
                        f"HS00{k}",
                        "Hoc Sinh",
                        "3A",
                        f"fam-{k}",  # the same family key in both schools
                        payref.make_reference(10 * n + k),
                        "2026-09",
                        date(2026, 9, 15),
                        300_000 + 1_000 * k,
                    )
                )
        await pool.copy_records_to_table("invoices", records=rows, columns=COLUMNS)
        by = {(r[1], r[3]): r for r in rows}
        calls: list[list[str]] = []
        real = take_in_module.take_in

        async def spy(conn, outbox, credits):  # type: ignore[no-untyped-def]
            calls.append(sorted(credits))
            return await real(conn, outbox, credits)

        monkeypatch.setattr(take_in_module, "take_in", spy)
        intake = GroupCommit(pool, Outbox("reconciliation"))
        credits = [
            ("A", _credit("A", "HS001 NOP HOC PHI", 301_000, "FT1")),  # code + amount: A's pupil HS001
            ("B", _credit("B", "HS001 NOP HOC PHI", 301_000, "FT2")),  # the same words: B's pupil HS001
            ("B", _credit("B", f"{by[('B', 'HS002')][7]} T09", 302_000, "FT3")),
            ("A", _credit("A", f"{by[('B', 'HS000')][7]} T09", 300_000, "FT4")),  # B's reference sent to A
        ]
        outcomes = await asyncio.gather(*(intake.submit(s, c) for s, c in credits))
        assert calls == [["A", "B"]]  # one transaction for both schools
        assert [o.state for o in outcomes] == ["matched", "matched", "matched", "unmatched"]
        paid = {
            (r["school_id"], r["student_code"]): r["allocated"]
            for r in await pool.fetch("SELECT school_id, student_code, allocated FROM invoices")
        }
        assert paid == {
            ("A", "HS000"): 0,
            ("A", "HS001"): 301_000,
            ("A", "HS002"): 0,
            ("B", "HS000"): 0,
            ("B", "HS001"): 301_000,
            ("B", "HS002"): 302_000,
        }
        credit_schools = {r["credit_id"]: r["school_id"] for r in await pool.fetch("SELECT * FROM credits")}
        assert [credit_schools[o.credit_id] for o in outcomes] == ["A", "B", "B", "A"]
    finally:
        await pool.close()


async def test_a_batch_that_fails_is_retried_so_only_the_breaking_credit_fails(make_database, monkeypatch):
    pool = await create_pool(await make_database(SPEC.migrations), min_size=1, max_size=4)
    try:
        real = take_in_module.take_in

        async def breaks_on_poison(conn, outbox, credits):  # type: ignore[no-untyped-def]
            if any(c.memo == "POISON" for cs in credits.values() for c in cs):
                raise RuntimeError("this credit breaks its transaction")
            return await real(conn, outbox, credits)

        monkeypatch.setattr(take_in_module, "take_in", breaks_on_poison)
        intake = GroupCommit(pool, Outbox("reconciliation"))
        credits = [("A", "HOC PHI 1", "FT1"), ("B", "POISON", "FT2"), ("B", "HOC PHI 3", "FT3"), ("C", "X 4", "FT4")]
        answers = await asyncio.gather(
            *(intake.submit(s, _credit(s, memo, 100_000, ref)) for s, memo, ref in credits), return_exceptions=True
        )
        assert [type(a).__name__ for a in answers] == ["Outcome", "RuntimeError", "Outcome", "Outcome"]
        stored = {r["memo"] for r in await pool.fetch("SELECT memo FROM credits")}
        assert stored == {"HOC PHI 1", "HOC PHI 3", "X 4"}  # nothing of the failed credit, all of the others
    finally:
        await pool.close()


def _invoice(school: str, n: int, total: int) -> tuple[object, ...]:
    return (
        uuid.uuid4(),
        school,
        uuid.uuid4(),
        f"HS{n:03d}",
        "Hoc Sinh",
        "3A",
        f"fam-{n}",
        payref.make_reference(n),
        "2026-09",
        date(2026, 9, 15),
        total,
    )


async def test_a_process_waiting_for_its_turn_writes_everything_that_queued_meanwhile_in_one_batch(
    make_database, monkeypatch
):
    pool = await create_pool(await make_database(SPEC.migrations), min_size=1, max_size=4)
    try:
        a, c = _invoice("A", 7, 400_000), _invoice("C", 8, 200_000)
        await pool.copy_records_to_table("invoices", records=[a, c], columns=COLUMNS)
        ref = str(a[7])
        first_in, release = asyncio.Event(), asyncio.Event()
        batches: list[int] = []
        real = take_in_module.take_in

        async def holds_the_first(conn, outbox, credits):  # type: ignore[no-untyped-def]
            batches.append(sum(len(cs) for cs in credits.values()))
            if not first_in.is_set():  # the first batch keeps the intake's turn until released
                first_in.set()
                await release.wait()
            return await real(conn, outbox, credits)

        monkeypatch.setattr(take_in_module, "take_in", holds_the_first)
        # Two processes: each its own queue and drain, one database.
        one, two = GroupCommit(pool, Outbox("reconciliation")), GroupCommit(pool, Outbox("reconciliation"))
        first = asyncio.create_task(one.submit("A", _credit("A", f"{ref} T09", 400_000, "FT1")))
        await first_in.wait()
        # The same webhook again, another transfer for the same invoice, and another school's credit, arriving
        # one after the other at the second process while the first one writes.
        later = []
        for school, memo, amount, bank_ref in (
            ("A", f"{ref} T09", 400_000, "FT1"),
            ("A", f"{ref} LAN 2", 400_000, "FT2"),
            ("C", f"{c[7]} T09", 200_000, "FT3"),
        ):
            later.append(asyncio.create_task(two.submit(school, _credit(school, memo, amount, bank_ref))))
            await asyncio.sleep(0.1)
        waited = not any(t.done() for t in later)  # for the first process's turn
        release.set()
        paid, again, other, c_paid = await asyncio.gather(first, *later)
        assert waited
        assert batches == [1, 3]  # what queued during the wait: one transaction
        assert (paid.new, paid.state) == (True, "matched")
        assert (again.new, again.credit_id) == (False, paid.credit_id)
        assert other.new and other.state != "matched"
        assert c_paid.state == "matched"
        allocated = dict(await pool.fetch("SELECT school_id, allocated FROM invoices"))
        assert allocated == {"A": 400_000, "C": 200_000}  # A paid once
    finally:
        await pool.close()


async def test_a_school_busy_with_a_statement_holds_back_only_its_own_webhooks(make_database):
    pool = await create_pool(await make_database(SPEC.migrations), min_size=1, max_size=4)
    try:
        a, b = _invoice("A", 1, 300_000), _invoice("B", 2, 300_000)
        await pool.copy_records_to_table("invoices", records=[a, b], columns=COLUMNS)
        intake = GroupCommit(pool, Outbox("reconciliation"))
        async with pool.acquire() as statement, statement.transaction():
            await schools_store.lock(statement, "A")  # school A's statement is being matched
            held = asyncio.create_task(intake.submit("A", _credit("A", f"{a[7]} T09", 300_000, "FT1")))
            goes = await asyncio.wait_for(intake.submit("B", _credit("B", f"{b[7]} T09", 300_000, "FT2")), 10)
            assert goes.state == "matched"
            await asyncio.sleep(0.3)
            assert not held.done()
        assert (await asyncio.wait_for(held, 10)).state == "matched"
        allocated = dict(await pool.fetch("SELECT school_id, allocated FROM invoices"))
        assert allocated == {"A": 300_000, "B": 300_000}
    finally:
        await pool.close()


async def test_a_webhook_finds_the_same_credit_stored_with_its_memo_cut_short_or_whole(make_database):
    """No identifier in common and no payment reference in the memo: the memo alone, one of the two cut
    short by a bank, says it is the same transfer (and a memo merely starting alike does not)."""
    pool = await create_pool(await make_database(SPEC.migrations), min_size=1, max_size=4)
    try:
        intake = GroupCommit(pool, Outbox("reconciliation"))
        whole = "NGUYEN VAN AN NOP TIEN AN BAN TRU THANG 11 CHO CON"

        def credit(memo: str, ref: str, source: str) -> BankCredit:
            return BankCredit(
                account_number="ACC-A",
                amount=735_000,
                booked_at=datetime(2026, 11, 2, 3, tzinfo=UTC),
                memo=memo,
                source_kind=source,
                identifiers=(ref,),
            )

        cut_first = await _statement(pool, "A", [credit(whole[:30], "S1", "mt940")])
        later_whole = await intake.submit("A", credit(whole, "FT1", "webhook_sepay"))
        whole_first = await intake.submit("A", credit("TRAN THI BINH " + whole[14:], "FT2", "webhook_sepay"))
        later_cut = await _statement(pool, "A", [credit(("TRAN THI BINH " + whole[14:])[:28], "S2", "mt940")])
        alike = await intake.submit("A", credit(whole[:20] + " HOC PHI", "FT3", "webhook_sepay"))
        assert (later_whole.new, later_whole.credit_id) == (False, cut_first[0].credit_id)
        assert (later_cut[0].new, later_cut[0].credit_id) == (False, whole_first.credit_id)
        assert alike.new
        assert await pool.fetchval("SELECT count(*) FROM credits") == 3
    finally:
        await pool.close()
