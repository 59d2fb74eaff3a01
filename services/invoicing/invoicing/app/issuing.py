"""Issue every invoice of a school for a billing period, in one call, idempotently."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import asyncpg
from google.protobuf.message import Message

from invoicing.app import pupil_keys
from invoicing.app.fees import load_fee_items, load_policies
from invoicing.app.schools import get_school
from invoicing.domain.fees import FeeItem, Line, Period, Policy, preview_totals, price_student
from invoicing.domain.invoices import Status, status_for
from invoicing.stores import issuing_store
from invoicing.stores.roster_store import Pupil
from invoicing.stores.schools_store import School
from shared import payref
from shared.errors import Invalid
from shared.events.outbox import Outbox
from shared.events.pupil_keys import PupilKey, seal
from shared.events.topics import Topic
from shared.logging import get_logger
from tuition.common.v1.sealed_pb2 import Names
from tuition.invoicing.v1.events_pb2 import InvoiceIssued, InvoiceLine

log = get_logger(__name__)


@dataclass(frozen=True)
class IssuePeriod:
    school_id: str
    period: Period
    due_date: date | None = None
    school_days: int | None = None
    # A collection round: its own code, fee items and pupils (a class or a grade); none for the period's invoice.
    round_code: str = ""
    items: tuple[FeeItem, ...] | None = None
    class_name: str | None = None
    grade: str | None = None
    issued_by: str = ""  # the account that issues (in each invoice's event, for the district's audit)


@dataclass(frozen=True)
class IssueResult:
    period: str
    created: int
    already_issued: int
    nothing_billed: int
    total_invoiced: int


async def next_references(conn: asyncpg.Connection, count: int, kind: str = "HP") -> list[str]:
    return [payref.make_reference(n, kind) for n in await issuing_store.next_counters(conn, count)]


@dataclass(frozen=True)
class Plan:
    """What issuing the period would create: each pupil not yet billed with their lines."""

    school: School
    billed: list[tuple[Pupil, list[Line]]]
    nothing_billed: int
    already_issued: int


class IssuingBooks(Protocol):
    """What issuing reads to decide what to bill. `PgIssuingBooks` reads the service's database (and takes the
    period's lock); a test may hold them in memory (the pricing then runs without PostgreSQL)."""

    async def school(self, school_id: str) -> School: ...

    async def lock_period(self, school_id: str, period: str, round_code: str) -> None: ...

    async def school_days(self, school_id: str, period: str) -> int | None: ...

    async def fee_items(self, school_id: str) -> list[FeeItem]: ...

    async def policies(self, school_id: str) -> list[Policy]: ...

    async def not_billed(self, cmd: IssuePeriod) -> list[Pupil]: ...

    async def count_issued(self, school_id: str, period: str, round_code: str) -> int: ...


@dataclass(frozen=True)
class PgIssuingBooks:
    """Issuing's books in the service's database, in the caller's transaction."""

    conn: asyncpg.Connection

    async def school(self, school_id: str) -> School:
        return await get_school(self.conn, school_id)

    async def lock_period(self, school_id: str, period: str, round_code: str) -> None:
        await issuing_store.lock_period(self.conn, school_id, period, round_code)

    async def school_days(self, school_id: str, period: str) -> int | None:
        return await issuing_store.school_days(self.conn, school_id, period)

    async def fee_items(self, school_id: str) -> list[FeeItem]:
        return await load_fee_items(self.conn, school_id)

    async def policies(self, school_id: str) -> list[Policy]:
        return await load_policies(self.conn, school_id)

    async def not_billed(self, cmd: IssuePeriod) -> list[Pupil]:
        return await issuing_store.students_not_billed(
            self.conn, cmd.school_id, cmd.period.code, cmd.round_code, class_name=cmd.class_name, grade=cmd.grade
        )

    async def count_issued(self, school_id: str, period: str, round_code: str) -> int:
        return await issuing_store.count_issued(self.conn, school_id, period, round_code)


async def _plan(books: IssuingBooks, cmd: IssuePeriod) -> Plan:
    period = cmd.period
    school = await books.school(cmd.school_id)
    await books.lock_period(cmd.school_id, period.code, cmd.round_code)
    days = cmd.school_days
    if days is None:
        days = await books.school_days(cmd.school_id, period.code)
    items = list(cmd.items) if cmd.items is not None else await books.fee_items(cmd.school_id)
    if days is None and any(i.per_day and i.billed_in(period) for i in items):
        raise Invalid(
            f"Chưa nhập số ngày học của kỳ {period.code}: tiền ăn tính theo ngày. "
            f"Nhập «Số ngày học» rồi «Lưu lịch học» (PUT /schools/{cmd.school_id}/calendar/{period.code})."
        )
    policies = await books.policies(cmd.school_id)
    students = await books.not_billed(cmd)
    already = await books.count_issued(cmd.school_id, period.code, cmd.round_code)
    ownership = school.ownership
    # Pupils of the same grade, class and policy categories owe the same lines: priced once.
    prices: dict[tuple[str, str, frozenset[str]], list[Line]] = {}
    priced = []
    for s in students:
        key = (s.grade, s.class_name, frozenset(s.policy_categories))
        lines = prices.get(key)
        if lines is None:
            lines = prices[key] = _price(key, items, policies, period, days or 0, ownership)
        priced.append((s, lines))
    billed = [(s, lines) for s, lines in priced if lines]
    return Plan(school, billed, len(priced) - len(billed), already)


async def preview_period(pool: asyncpg.Pool, cmd: IssuePeriod) -> dict[str, object]:
    """What issuing would create, without creating it: totals per class, fee item and exemption."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        return await preview(PgIssuingBooks(conn), cmd)


async def preview(books: IssuingBooks, cmd: IssuePeriod) -> dict[str, object]:
    """What issuing `cmd` would create, read from `books`."""
    plan = await _plan(books, cmd)
    return {
        "period": cmd.period.code,
        "invoices": len(plan.billed),
        "already_issued": plan.already_issued,
        "nothing_billed": plan.nothing_billed,
        "total": sum(ln.amount for _, lines in plan.billed for ln in lines),
        **preview_totals(plan.billed),
    }


async def issue_period(pool: asyncpg.Pool, outbox: Outbox, cmd: IssuePeriod) -> IssueResult:
    async with pool.acquire() as conn, conn.transaction():
        return await issue_in(conn, outbox, cmd)


async def issue_in(conn: asyncpg.Connection, outbox: Outbox, cmd: IssuePeriod) -> IssueResult:
    """Issue inside the caller's transaction (a collection round is created and issued in one)."""
    period = cmd.period
    due = cmd.due_date or period.start + timedelta(days=14)
    plan = await _plan(PgIssuingBooks(conn), cmd)
    batch = Batch(school=plan.school, period=period, due=due, round_code=cmd.round_code, issued_by=cmd.issued_by)
    total = await _write(conn, outbox, batch, plan.billed)
    already = plan.already_issued
    result = IssueResult(period.code, len(plan.billed), already, plan.nothing_billed, total)
    log.info(
        "invoicing.period.issued",
        school_id=cmd.school_id,
        period=period.code,
        created=result.created,
        already_issued=already,
        total=total,
    )
    return result


def _price(
    key: tuple[str, str, frozenset[str]],
    items: list[FeeItem],
    policies: list[Policy],
    period: Period,
    school_days: int,
    ownership: str,
) -> list[Line]:
    grade, class_name, categories = key
    return price_student(
        grade=grade,
        class_name=class_name,
        categories=categories,
        items=items,
        policies=policies,
        period=period,
        school_days=school_days,
        ownership=ownership,
    )


@dataclass(frozen=True, kw_only=True)
class Batch:
    """What the invoices written together share."""

    school: School
    period: Period
    due: date
    round_code: str = ""
    issued_by: str = ""


@dataclass(frozen=True)
class _Priced:
    """One set of lines as written: the line rows after the invoice id, the event's lines, the total."""

    rows: list[tuple[object, ...]]
    messages: list[InvoiceLine]
    total: int

    @classmethod
    def of(cls, lines: list[Line]) -> _Priced:
        rows: list[tuple[object, ...]] = [
            (
                n,
                ln.item_code,
                ln.name,
                str(ln.category),
                ln.quantity,
                ln.unit_amount,
                ln.list_amount,
                ln.reduction,
                ln.policy_category,
                ln.amount,
            )
            for n, ln in enumerate(lines, start=1)
        ]
        messages = [
            InvoiceLine(
                item_code=ln.item_code,
                name=ln.name,
                category=str(ln.category),
                quantity=ln.quantity,
                unit_amount=ln.unit_amount,
                list_amount=ln.list_amount,
                reduction=ln.reduction,
                policy_category=ln.policy_category or "",
                amount=ln.amount,
            )
            for ln in lines
        ]
        return cls(rows, messages, sum(ln.amount for ln in lines))


def _batch_event(batch: Batch, now: datetime) -> InvoiceIssued:
    """The fields every invoice of the batch shares."""
    school, period = batch.school, batch.period
    event = InvoiceIssued(
        round_code=batch.round_code,
        school_id=str(school.school_id),
        district_code=str(school.district_code),
        period=period.code,
        school_year=period.school_year,
        due_date=batch.due.isoformat(),
        bank_bin=str(school.bank_bin),
        account_number=str(school.account_number),
        issued_by=batch.issued_by,
    )
    event.issued_at.FromDatetime(now)
    return event


def _issued_event(
    shared: InvoiceIssued, invoice_id: uuid.UUID, s: Pupil, ref: str, priced: _Priced, key: PupilKey
) -> InvoiceIssued:
    # The names travel sealed with the pupil's key: erasing the pupil makes every copy unreadable.
    names = Names(student_name=s.full_name, guardian_name=s.guardian_name)
    event = InvoiceIssued(
        invoice_id=str(invoice_id),
        student_id=str(s.student_id),
        student_code=s.student_code,
        sealed_names=seal(key, names, bound_to=str(invoice_id)),
        grade=s.grade,
        class_name=s.class_name,
        payment_reference=ref,
        total=priced.total,
        family_key=s.family_key,
        virtual_account=s.virtual_account or "",
        lines=priced.messages,
    )
    event.MergeFrom(shared)
    return event


async def _write(conn: asyncpg.Connection, outbox: Outbox, batch: Batch, billed: list[tuple[Pupil, list[Line]]]) -> int:
    if not billed:
        return 0
    school_id, period, due = batch.school.school_id, batch.period, batch.due
    refs = await next_references(conn, len(billed))
    now = datetime.now(UTC)
    shared = _batch_event(batch, now)
    keys = await pupil_keys.keys_for(conn, outbox, str(school_id), [s.student_id for s, _ in billed])
    # Pupils priced alike share one list of lines (see _plan): its rows and messages are made once.
    made: dict[int, _Priced] = {}
    invoices: list[tuple[object, ...]] = []
    lines_rows: list[tuple[object, ...]] = []
    events: list[tuple[Message, str, str]] = []
    grand_total = 0
    for (s, lines), ref in zip(billed, refs, strict=True):
        priced = made.get(id(lines))
        if priced is None:
            priced = made[id(lines)] = _Priced.of(lines)
        invoice_id = uuid.uuid4()
        grand_total += priced.total
        status = status_for(priced.total, 0)
        invoices.append(
            (
                invoice_id,
                school_id,
                s.student_id,
                period.code,
                period.school_year,
                ref,
                secrets.token_urlsafe(18),
                priced.total,
                0,
                str(status),
                due,
                now,
                batch.round_code,
            )
        )
        lines_rows.extend((invoice_id, *row) for row in priced.rows)
        events.append(
            (_issued_event(shared, invoice_id, s, ref, priced, keys[s.student_id]), str(invoice_id), str(school_id))
        )
        if status is Status.PAID:
            log.info("invoicing.invoice.nothing_due", invoice_id=str(invoice_id))
    await issuing_store.add_invoices(conn, invoices, lines_rows)
    await outbox.add_many(conn, Topic.INVOICING, events, occurred_at=now)
    return grand_total
