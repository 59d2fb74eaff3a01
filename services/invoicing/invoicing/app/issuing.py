"""Issue every invoice of a school for a billing period, in one call, idempotently."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
from google.protobuf.message import Message

from invoicing.app.fees import load_fee_items, load_policies
from invoicing.app.schools import get_school
from invoicing.domain.fees import FeeItem, Line, Period, Policy, preview_totals, price_student
from invoicing.domain.invoices import Status, status_for
from invoicing.stores import issuing_store
from shared import payref
from shared.errors import Invalid
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from shared.logging import get_logger
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

    school: dict[str, object]
    billed: list[tuple[asyncpg.Record, list[Line]]]
    nothing_billed: int
    already_issued: int


async def _plan(conn: asyncpg.Connection, cmd: IssuePeriod) -> Plan:
    period = cmd.period
    school = await get_school(conn, cmd.school_id)
    await issuing_store.lock_period(conn, cmd.school_id, period.code, cmd.round_code)
    days = cmd.school_days
    if days is None:
        days = await issuing_store.school_days(conn, cmd.school_id, period.code)
    items = list(cmd.items) if cmd.items is not None else await load_fee_items(conn, cmd.school_id)
    if days is None and any(i.per_day and i.billed_in(period) for i in items):
        raise Invalid(
            f"school days of {period.code} are not set: meals are billed per day "
            f"(PUT /schools/{cmd.school_id}/calendar/{period.code} or pass school_days)"
        )
    policies = await load_policies(conn, cmd.school_id)
    students = await issuing_store.students_not_billed(
        conn, cmd.school_id, period.code, cmd.round_code, class_name=cmd.class_name, grade=cmd.grade
    )
    already = await issuing_store.count_issued(conn, cmd.school_id, period.code, cmd.round_code)
    ownership = str(school["ownership"])
    priced = [(s, _price(s, items, policies, period, days or 0, ownership)) for s in students]
    billed = [(s, lines) for s, lines in priced if lines]
    return Plan(school, billed, len(priced) - len(billed), already)


async def preview_period(pool: asyncpg.Pool, cmd: IssuePeriod) -> dict[str, object]:
    """What issuing would create, without creating it: totals per class, fee item and exemption."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        plan = await _plan(conn, cmd)
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
    plan = await _plan(conn, cmd)
    batch = Batch(school=plan.school, period=period, due=due, round_code=cmd.round_code)
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
    s: asyncpg.Record, items: list[FeeItem], policies: list[Policy], period: Period, school_days: int, ownership: str
) -> list[Line]:
    return price_student(
        grade=s["grade"],
        class_name=s["class_name"],
        categories=frozenset(s["policy_categories"]),
        items=items,
        policies=policies,
        period=period,
        school_days=school_days,
        ownership=ownership,
    )


def _line_row(invoice_id: uuid.UUID, n: int, ln: Line) -> tuple[object, ...]:
    return (
        invoice_id,
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


@dataclass(frozen=True, kw_only=True)
class Batch:
    """What the invoices written together share."""

    school: dict[str, object]
    period: Period
    due: date
    round_code: str = ""


def _issued_event(
    invoice_id: uuid.UUID, batch: Batch, s: asyncpg.Record, ref: str, lines: list[Line], total: int
) -> InvoiceIssued:
    school, period, due = batch.school, batch.period, batch.due
    return InvoiceIssued(
        round_code=batch.round_code,
        invoice_id=str(invoice_id),
        school_id=str(school["school_id"]),
        district_code=str(school["district_code"]),
        student_id=str(s["student_id"]),
        student_code=s["student_code"],
        student_name=s["full_name"],
        guardian_name=s["guardian_name"],
        grade=s["grade"],
        class_name=s["class_name"],
        period=period.code,
        school_year=period.school_year,
        payment_reference=ref,
        total=total,
        due_date=due.isoformat(),
        family_key=s["family_key"],
        virtual_account=s["virtual_account"] or "",
        bank_bin=str(school["bank_bin"]),
        account_number=str(school["account_number"]),
        lines=[
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
        ],
    )


async def _write(
    conn: asyncpg.Connection, outbox: Outbox, batch: Batch, priced: list[tuple[asyncpg.Record, list[Line]]]
) -> int:
    if not priced:
        return 0
    school, period, due = batch.school, batch.period, batch.due
    refs = await next_references(conn, len(priced))
    now = datetime.now(UTC)
    invoices: list[tuple[object, ...]] = []
    lines_rows: list[tuple[object, ...]] = []
    events: list[tuple[Message, str, str]] = []
    grand_total = 0
    for (s, lines), ref in zip(priced, refs, strict=True):
        invoice_id = uuid.uuid4()
        total = sum(line.amount for line in lines)
        grand_total += total
        status = status_for(total, 0)
        invoices.append(
            (
                invoice_id,
                school["school_id"],
                s["student_id"],
                period.code,
                period.school_year,
                ref,
                secrets.token_urlsafe(18),
                total,
                0,
                str(status),
                due,
                now,
                batch.round_code,
            )
        )
        lines_rows.extend(_line_row(invoice_id, n, ln) for n, ln in enumerate(lines, start=1))
        event = _issued_event(invoice_id, batch, s, ref, lines, total)
        event.issued_at.FromDatetime(now)
        events.append((event, str(invoice_id), str(school["school_id"])))
        if status is Status.PAID:
            log.info("invoicing.invoice.nothing_due", invoice_id=str(invoice_id))
    await issuing_store.add_invoices(conn, invoices, lines_rows)
    await outbox.add_many(conn, Topic.INVOICING, events)
    return grand_total
