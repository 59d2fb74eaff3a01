"""The dashboard's roll-ups against the invoices they sum: random histories of issues, payments, reversals,
adjustments, cancellations and late schools, then every scope read both ways. The oracle is the projection's
per-invoice rows aggregated at request time (what the dashboard did before the roll-ups)."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from reporting.app import projection
from reporting.domain.figures import Figures
from reporting.domain.scope import Scope
from reporting.main import SPEC
from reporting.stores import figures_store
from shared.db import create_pool
from shared.events.envelope import Event, unwrap, wrap
from tuition.invoicing.v1.events_pb2 import (
    InvoiceAdjusted,
    InvoiceCancelled,
    InvoiceIssued,
    InvoiceLine,
    SchoolRegistered,
)
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched, PaymentReversed

pytestmark = pytest.mark.asyncio

TODAY = date(2026, 11, 20)
MONTHS = [("2026-08", "2025-2026"), ("2026-09", "2026-2027"), ("2026-10", "2026-2027"), ("2027-01", "2026-2027")]
SCHOOLS = {"A": "D1", "B": "D1", "C": "D2"}
NO_EVENT: Any = None  # the handlers below read nothing from the envelope when the message carries its times


def _oracle_sql(scope: Scope) -> tuple[str, list[Any]]:
    """Per invoice of the scope, its figures (for the scope's fee type, when one is asked)."""
    args: list[Any] = []
    where = ["NOT i.cancelled"]
    for value, column in ((scope.district, "district_code"), (scope.school, "school_id")):
        if value:
            args.append(value)
            where.append(f"i.{column} = ${len(args)}")
    if scope.period:
        args.append(scope.period)
        where.append(f"i.{scope.period_kind} = ${len(args)}")
    if scope.fee_type:
        args.append(scope.fee_type)
        n = len(args)
        source = (
            "SELECT i.*, f.amount AS amount, coalesce(c.collected, 0) AS got, coalesce(c.cashless, 0) AS got_cashless "  # noqa: S608
            f"FROM invoices i JOIN invoice_fees f ON f.invoice_id = i.invoice_id AND f.category = ${n} "
            f"LEFT JOIN invoice_collected c ON c.invoice_id = i.invoice_id AND c.category = ${n}"
        )
    else:
        source = "SELECT i.*, i.invoiced AS amount, i.collected AS got, i.cashless AS got_cashless FROM invoices i"
    return f"WITH per_inv AS ({source} WHERE {' AND '.join(where)}) ", args


async def _oracle(db: asyncpg.Pool, scope: Scope, by: str | None) -> list[tuple[str, Figures]]:
    sql, args = _oracle_sql(scope)
    key = {"school": "school_id", "grade": "grade", "class": "class_name", "period": "period", None: "''"}[by]
    rows = await db.fetch(
        sql  # noqa: S608
        + f"""SELECT {key} AS key, sum(amount)::bigint AS invoiced, sum(got)::bigint AS collected,
              sum(got_cashless)::bigint AS cashless,
              coalesce(sum(amount - got) FILTER (WHERE due_date < ${len(args) + 1}), 0)::bigint AS overdue,
              count(*) AS invoices, count(DISTINCT student_id) AS students,
              count(DISTINCT student_id) - count(DISTINCT student_id) FILTER (WHERE NOT paid_up) AS fully_paid,
              sum(payments)::bigint AS payments, sum(cashless_payments)::bigint AS cashless_payments
            FROM per_inv GROUP BY 1 ORDER BY 1""",  # noqa: S608 (constant fragments; values are bound)
        *args,
        TODAY,
    )
    return [
        (
            r["key"],
            Figures(
                invoiced=r["invoiced"],
                collected=r["collected"],
                cashless=r["cashless"],
                overdue=r["overdue"],
                students=r["students"],
                students_fully_paid=r["fully_paid"],
                payments=r["payments"],
                cashless_payments=r["cashless_payments"],
                invoices=r["invoices"],
            ),
        )
        for r in rows
    ]


class History:
    """Random events applied through the projection's own handlers."""

    def __init__(self, conn: asyncpg.Connection, rng: random.Random) -> None:
        self.conn, self.rng = conn, rng
        self.invoices: list[str] = []
        self.payments: list[tuple[str, str]] = []
        # A pupil stays in one class here: a pupil who moves is counted in their first class (test below).
        self.pupils = [(school, f"{school}-p{n}", 1 + n % 3) for school in SCHOOLS for n in range(6)]

    async def school(self, school_id: str) -> None:
        m = SchoolRegistered(school_id=school_id, name=school_id, district_code=SCHOOLS[school_id])
        await projection.on_school(self.conn, m, NO_EVENT)

    async def issue(self) -> None:
        school, pupil, grade = self.rng.choice(self.pupils)
        period, school_year = self.rng.choice(MONTHS)
        invoice_id = str(uuid.uuid4())
        lines = [InvoiceLine(category="tuition", amount=self.rng.choice([0, 300_000]))]
        if self.rng.random() < 0.6:
            reduced = self.rng.random() < 0.3
            lines.append(
                InvoiceLine(
                    category="meals",
                    amount=200_000 - 50_000 * reduced,
                    reduction=50_000 * reduced,
                    policy_category="HO_NGHEO" if reduced else "",
                )
            )
        m = InvoiceIssued(
            invoice_id=invoice_id,
            school_id=school,
            student_id=pupil,
            grade=str(grade),
            class_name=f"{grade}A",
            period=period,
            school_year=school_year,
            due_date=f"{period}-{self.rng.choice(['10', '25'])}",
            total=sum(line.amount for line in lines),
            district_code=self.rng.choice([SCHOOLS[school], ""]),  # "" until its school is known
            lines=lines,
        )
        await projection.on_invoices_issued(self.conn, [(m, NO_EVENT)])
        self.invoices.append(invoice_id)

    def _payment(self) -> PaymentMatched:
        m = PaymentMatched(
            payment_id=str(uuid.uuid4()),
            invoice_id=self.rng.choice(self.invoices),
            amount=self.rng.choice([100_000, 200_000, 500_000]),
            channel=self.rng.choice([Channel.VIETQR, Channel.BANK_TRANSFER, Channel.CASH]),
        )
        m.paid_at.FromDatetime(datetime(2026, 9, 1, tzinfo=UTC) + timedelta(minutes=len(self.payments)))
        self.payments.append((m.payment_id, m.invoice_id))
        return m

    async def pay(self) -> None:
        await projection.on_payments(self.conn, [(self._payment(), NO_EVENT)])

    async def pay_together(self) -> None:
        """A run of payments applied as one batch (the same invoice may be paid twice in it)."""
        await projection.on_payments(self.conn, [(self._payment(), NO_EVENT) for _ in range(self.rng.randint(2, 5))])

    async def reverse(self) -> None:
        payment_id, invoice_id = self.rng.choice(self.payments)
        await projection.on_payment_reversed(
            self.conn, PaymentReversed(payment_id=payment_id, invoice_id=invoice_id), NO_EVENT
        )

    async def adjust(self) -> None:
        invoice_id = self.rng.choice(self.invoices)
        total = await self.conn.fetchval("SELECT total FROM invoices WHERE invoice_id = $1", uuid.UUID(invoice_id))
        delta = self.rng.choice([-50_000, 80_000])
        m = InvoiceAdjusted(invoice_id=invoice_id, delta=delta, new_total=total + delta)
        await projection.on_invoice_adjusted(self.conn, m, NO_EVENT)

    async def cancel(self) -> None:
        await projection.on_invoice_cancelled(
            self.conn, InvoiceCancelled(invoice_id=self.rng.choice(self.invoices)), NO_EVENT
        )

    async def step(self) -> None:
        if not self.invoices or self.rng.random() < 0.35:
            await self.issue()
            return
        choice = self.rng.choices(["pay", "pay_together", "reverse", "adjust", "cancel"], weights=[40, 20, 10, 8, 5])[0]
        if choice == "reverse" and not self.payments:
            choice = "pay"
        await getattr(self, choice)()


def _scopes() -> list[Scope]:
    periods = [None, "2026-09", "2026-08", "2026-Q3", "2026-Q4", "2026-2027", "2025-2026", "2026", "2027"]
    places = [{"district": "D1"}, {"district": "D2"}, {"school": "A"}, {"school": "C"}]
    return [
        Scope(**place, period=period, fee_type=fee)  # type: ignore[arg-type]
        for place in places
        for period in periods
        for fee in (None, "meals")
    ]


async def _compare(pool: asyncpg.Pool) -> int:
    compared = 0
    for scope in _scopes():
        expected_total = await _oracle(pool, scope, None)
        total = await figures_store.totals(pool, scope, TODAY)
        assert total.as_dict() == (expected_total[0][1] if expected_total else Figures()).as_dict(), scope
        for by in ("school", "grade", "class", "period"):
            groups = await figures_store.grouped(pool, scope, TODAY, by)
            expected = await _oracle(pool, scope, by)
            assert [(k, f.as_dict()) for k, f in groups] == [(k, f.as_dict()) for k, f in expected], (scope, by)
            compared += len(groups)
    return compared


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_rollups_equal_the_invoices_they_sum_after_any_history(make_database, seed):
    pool = await create_pool(await make_database(SPEC.migrations), min_size=1, max_size=2)
    try:
        rng = random.Random(seed)
        async with pool.acquire() as conn:
            history = History(conn, rng)
            await history.school("A")  # B and C are registered halfway: their invoices learn the district late
            for n in range(160):
                if n == 80:
                    await history.school("B")
                    await history.school("C")
                async with conn.transaction():
                    await history.step()
        assert await _compare(pool) > 100  # non-empty groups compared: the history is not trivial
        # Figures of fee types and of reductions, both ways too.
        for scope in _scopes():
            fee_types = await figures_store.by_fee_type(pool, scope, TODAY)
            for category, r in fee_types:
                one = Scope(scope.district, scope.school, scope.period, category)
                expected = (await _oracle(pool, one, None))[0][1]
                assert (r.invoiced, r.collected, r.cashless, r.overdue) == (
                    expected.invoiced,
                    expected.collected,
                    expected.cashless,
                    expected.overdue,
                ), one
    finally:
        await pool.close()


async def test_a_pupil_who_changed_class_counts_once_in_the_class_first_billed(make_database):
    pool = await create_pool(await make_database(SPEC.migrations), min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await projection.on_school(conn, SchoolRegistered(school_id="A", name="A", district_code="D1"), NO_EVENT)
            for period, class_name in (("2026-09", "3A"), ("2026-10", "3B")):
                m = InvoiceIssued(
                    invoice_id=str(uuid.uuid4()),
                    school_id="A",
                    student_id="p1",
                    grade="3",
                    class_name=class_name,
                    period=period,
                    school_year="2026-2027",
                    due_date=f"{period}-15",
                    total=100_000,
                    lines=[InvoiceLine(category="tuition", amount=100_000)],
                )
                await projection.on_invoices_issued(conn, [(m, NO_EVENT)])
        year = Scope(school="A", period="2026-2027")
        assert (await figures_store.totals(pool, year, TODAY)).students == 1
        by_class = {k: (f.invoices, f.students) for k, f in await figures_store.grouped(pool, year, TODAY, "class")}
        assert by_class == {"3A": (1, 1), "3B": (1, 0)}
        october = Scope(school="A", period="2026-10")
        assert [(k, f.students) for k, f in await figures_store.grouped(pool, october, TODAY, "class")] == [("3B", 1)]
    finally:
        await pool.close()


async def test_two_batches_touching_the_same_schools_rollups_queue_instead_of_deadlocking(make_database):
    # Two consumer transactions (two partitions, or two instances): one pays in school B then in school A, the
    # other pays in school A in between. Each holds roll-up rows of its schools until it commits; the
    # projection's version row, taken first by every event, makes the second wait before touching any.
    pool = await create_pool(await make_database(SPEC.migrations), min_size=2, max_size=3)
    try:
        invoices = {}
        async with pool.acquire() as conn:
            for school in ("A", "B"):
                await projection.on_school(
                    conn, SchoolRegistered(school_id=school, name=school, district_code="D1"), NO_EVENT
                )
                invoices[school] = str(uuid.uuid4())
                m = InvoiceIssued(
                    invoice_id=invoices[school],
                    school_id=school,
                    student_id=f"{school}-p",
                    grade="1",
                    class_name="1A",
                    period="2026-09",
                    school_year="2026-2027",
                    due_date="2026-09-15",
                    total=500_000,
                    lines=[InvoiceLine(category="tuition", amount=500_000)],
                )
                await projection.on_invoices_issued(conn, [(m, NO_EVENT)])
        apply = projection.projection_handlers().handler_for(PaymentMatched.DESCRIPTOR.full_name)
        assert apply is not None

        def payment(school: str) -> Event:
            m = PaymentMatched(
                payment_id=str(uuid.uuid4()), invoice_id=invoices[school], school_id=school, amount=100_000
            )
            m.paid_at.FromDatetime(datetime(2026, 9, 2, tzinfo=UTC))
            return unwrap(wrap(m, producer="test", aggregate_id=invoices[school], school_id=school).SerializeToString())

        first_done, second_started = asyncio.Event(), asyncio.Event()

        async def first() -> None:
            async with pool.acquire() as conn, conn.transaction():
                await apply(conn, payment("B"))
                first_done.set()
                await second_started.wait()
                await asyncio.sleep(0.3)  # the second is now waiting on what this one holds
                await apply(conn, payment("A"))

        async def second() -> None:
            await first_done.wait()
            async with pool.acquire() as conn, conn.transaction():
                second_started.set()
                await apply(conn, payment("A"))

        await asyncio.wait_for(asyncio.gather(first(), second()), timeout=30)
        collected = await figures_store.totals(pool, Scope(district="D1"), TODAY)
        assert (collected.collected, collected.payments) == (300_000, 3)
    finally:
        await pool.close()
