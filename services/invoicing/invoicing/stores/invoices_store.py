"""Invoices after issuing: their balance, payments, cancellation and adjustments; the read side's lists and
details; family payment groups."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from invoicing.domain.invoices import outstanding
from shared import rows
from shared.db import Executor, as_columns


@dataclass(frozen=True, kw_only=True)
class Invoice:
    """An invoice as stored."""

    invoice_id: uuid.UUID
    school_id: str
    student_id: uuid.UUID
    period: str
    school_year: str
    payment_reference: str
    public_token: str
    total: int
    amount_paid: int
    status: str
    due_date: date
    issued_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None
    cancelled_by: str | None
    round_code: str
    link_expires_on: date | None


@dataclass(frozen=True, kw_only=True)
class FamilyInvoice(Invoice):
    """An invoice with its pupil's family key."""

    family_key: str


@dataclass(frozen=True, kw_only=True)
class InvoiceShown(Invoice):
    """An invoice with its pupil and its school's account, as its detail and the parent's page show it."""

    student_code: str
    full_name: str
    class_name: str
    grade: str
    guardian_name: str
    virtual_account: str | None
    school_name: str
    bank_bin: str
    account_number: str
    account_name: str


@dataclass(frozen=True, kw_only=True)
class FamilyOpen:
    """An open invoice of a family, with its pupil's name and class."""

    invoice_id: uuid.UUID
    school_id: str
    period: str
    total: int
    amount_paid: int
    full_name: str
    class_name: str

    @property
    def outstanding(self) -> int:
        return outstanding(self.total, self.amount_paid)


@dataclass(frozen=True, kw_only=True)
class Group:
    """A family's payment group: one reference and one link for several invoices."""

    group_id: uuid.UUID
    school_id: str
    payment_reference: str
    public_token: str
    total: int


@dataclass(frozen=True, kw_only=True)
class Listed:
    """An invoice of the school's list, with its pupil."""

    invoice_id: uuid.UUID
    period: str
    round_code: str
    payment_reference: str
    total: int
    amount_paid: int
    status: str
    due_date: date
    public_token: str
    student_code: str
    full_name: str
    class_name: str


@dataclass(frozen=True, kw_only=True)
class Line:
    line_no: int
    item_code: str
    name: str
    category: str
    quantity: int
    unit_amount: int
    list_amount: int
    reduction: int
    policy_category: str | None
    amount: int


@dataclass(frozen=True, kw_only=True)
class Adjustment:
    delta: int
    reason: str
    adjusted_by: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class Payment:
    payment_id: str
    amount: int
    channel: str
    bank_reference: str
    paid_at: datetime
    reversed_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class Reduction:
    """Exempted and reduced amounts of a policy category and a fee category."""

    policy_category: str
    category_name: str
    category: str
    students: int
    list_amount: int
    reduction: int


@dataclass(frozen=True, kw_only=True)
class LinkState:
    """Why a parent's link no longer opens: replaced (retired_at), or ended (expires_on)."""

    retired_at: datetime | None
    school_name: str
    expires_on: date | None


async def lock(conn: asyncpg.Connection, invoice_id: uuid.UUID, school_id: str | None = None) -> Invoice | None:
    """The invoice, locked for this transaction (of that school, when one is given). The lock is NO KEY UPDATE
    (what an UPDATE of the row takes): rows inserted elsewhere that refer to the invoice (a message, a receipt,
    a group member) take KEY SHARE on it, which FOR UPDATE would block, and two such transactions taking
    their invoices in different orders deadlocked."""
    found = await conn.fetchrow(
        "SELECT * FROM invoices WHERE invoice_id = $1 AND ($2::text IS NULL OR school_id = $2) FOR NO KEY UPDATE",
        invoice_id,
        school_id,
    )
    return rows.maybe(Invoice, found)


async def lock_many(conn: asyncpg.Connection, invoice_ids: list[uuid.UUID]) -> list[Invoice]:
    """The invoices, locked for this transaction in id order (two batches sharing invoices cannot deadlock)."""
    found = await conn.fetch(
        "SELECT * FROM invoices WHERE invoice_id = ANY($1::uuid[]) ORDER BY invoice_id FOR NO KEY UPDATE",
        invoice_ids,
    )
    return rows.rows(Invoice, found)


async def record_payments(
    conn: asyncpg.Connection, payments: list[tuple[str, uuid.UUID, int, str, str, datetime]]
) -> set[str]:
    """(payment id, invoice, amount, channel, bank reference, paid at): the ids of those that are new."""
    found = await conn.fetch(
        "INSERT INTO invoice_payments (payment_id, invoice_id, amount, channel, bank_reference, paid_at) "
        "SELECT * FROM unnest($1::text[], $2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::timestamptz[]) "
        "ON CONFLICT (payment_id) DO NOTHING RETURNING payment_id",
        *as_columns(payments, 6),
    )
    return {r["payment_id"] for r in found}


async def set_paid_many(conn: asyncpg.Connection, balances: list[tuple[uuid.UUID, int, str]]) -> None:
    """(invoice, amount paid, status) of each invoice."""
    await conn.execute(
        "UPDATE invoices i SET amount_paid = n.paid, status = n.status "
        "FROM unnest($1::uuid[], $2::bigint[], $3::text[]) AS n(invoice_id, paid, status) "
        "WHERE i.invoice_id = n.invoice_id",
        *as_columns(balances, 3),
    )


async def reverse_payment(conn: asyncpg.Connection, payment_id: str) -> int | None:
    """The amount of the payment now reversed; None if there is no such payment in force."""
    amount = await conn.fetchval(
        "UPDATE invoice_payments SET reversed_at = now() WHERE payment_id = $1 AND reversed_at IS NULL "
        "RETURNING amount",
        payment_id,
    )
    return None if amount is None else int(amount)


async def set_paid(conn: asyncpg.Connection, invoice_id: uuid.UUID, paid: int, status: str) -> None:
    await conn.execute(
        "UPDATE invoices SET amount_paid = $2, status = $3 WHERE invoice_id = $1", invoice_id, paid, status
    )


async def cancel(conn: asyncpg.Connection, invoice_id: uuid.UUID, *, reason: str, by: str) -> None:
    await conn.execute(
        "UPDATE invoices SET status = 'cancelled', cancelled_at = now(), cancel_reason = $2, "
        "cancelled_by = $3 WHERE invoice_id = $1",
        invoice_id,
        reason,
        by,
    )


async def adjust(
    conn: asyncpg.Connection, invoice_id: uuid.UUID, *, delta: int, new_total: int, status: str, reason: str, by: str
) -> None:
    """The new total, with the adjustment kept in the invoice's history."""
    await conn.execute(
        "INSERT INTO invoice_adjustments (adjustment_id, invoice_id, delta, reason, adjusted_by) "
        "VALUES ($1, $2, $3, $4, $5)",
        uuid.uuid4(),
        invoice_id,
        delta,
        reason,
        by,
    )
    await conn.execute(
        "UPDATE invoices SET total = $2, status = $3 WHERE invoice_id = $1", invoice_id, new_total, status
    )


async def lock_with_families(conn: asyncpg.Connection, invoice_ids: list[uuid.UUID]) -> list[FamilyInvoice]:
    """The invoices (locked as `lock` does, in id order) with their pupil's family key."""
    found = await conn.fetch(
        "SELECT i.*, s.family_key FROM invoices i JOIN students s USING (student_id) "
        "WHERE i.invoice_id = ANY($1::uuid[]) ORDER BY i.invoice_id FOR NO KEY UPDATE OF i",
        invoice_ids,
    )
    return rows.rows(FamilyInvoice, found)


async def add_group(
    conn: asyncpg.Connection,
    *,
    group_id: uuid.UUID,
    school_id: str,
    reference: str,
    token: str,
    total: int,
    invoice_ids: list[uuid.UUID],
) -> None:
    await conn.execute(
        "INSERT INTO payment_groups VALUES ($1, $2, $3, $4, $5)", group_id, school_id, reference, token, total
    )
    await conn.executemany("INSERT INTO payment_group_invoices VALUES ($1, $2)", [(group_id, i) for i in invoice_ids])


async def open_of_family(db: Executor, invoice_id: uuid.UUID) -> list[FamilyOpen]:
    """The open invoices (something owed, not cancelled) of the invoice's family at its school, itself included."""
    found = await db.fetch(
        """SELECT i.invoice_id, i.school_id, i.period, i.total, i.amount_paid, s.full_name, s.class_name
           FROM invoices me JOIN students ms ON ms.student_id = me.student_id
           JOIN students s ON s.family_key = ms.family_key AND s.school_id = ms.school_id
           JOIN invoices i ON i.student_id = s.student_id
           WHERE me.invoice_id = $1 AND i.status <> 'cancelled' AND i.total > i.amount_paid
           ORDER BY i.due_date, s.full_name, i.invoice_id""",
        invoice_id,
    )
    return rows.rows(FamilyOpen, found)


async def group_of_exactly(db: Executor, school_id: str, invoice_ids: list[uuid.UUID]) -> str | None:
    """The public token of a payment group of exactly these invoices, if one exists."""
    token = await db.fetchval(
        """SELECT g.public_token FROM payment_groups g
           WHERE g.school_id = $1
             AND (SELECT array_agg(invoice_id ORDER BY invoice_id) FROM payment_group_invoices p
                  WHERE p.group_id = g.group_id) = (SELECT array_agg(x ORDER BY x) FROM unnest($2::uuid[]) x)
           LIMIT 1""",
        school_id,
        invoice_ids,
    )
    return None if token is None else str(token)


async def group_by_token(db: Executor, token: str) -> Group | None:
    """The family group of a link that still opens: every one of its invoices' links still open."""
    found = await db.fetchrow(
        "SELECT g.* FROM payment_groups g WHERE g.public_token = $1 AND NOT EXISTS (SELECT 1 FROM "
        "payment_group_invoices gi JOIN invoices i USING (invoice_id) WHERE gi.group_id = g.group_id AND "
        "payment_link_end(i.link_expires_on, i.issued_at) < vn_today())",
        token,
    )
    return rows.maybe(Group, found)


async def group_invoice_ids(db: Executor, group_id: uuid.UUID) -> list[uuid.UUID]:
    found = await db.fetch(
        "SELECT invoice_id FROM payment_group_invoices WHERE group_id = $1 ORDER BY invoice_id", group_id
    )
    return [r["invoice_id"] for r in found]


async def id_by_token(db: Executor, token: str) -> uuid.UUID | None:
    """The invoice of a link that still opens (not past its end)."""
    return await db.fetchval(  # type: ignore[no-any-return]
        "SELECT invoice_id FROM invoices WHERE public_token = $1 "
        "AND payment_link_end(link_expires_on, issued_at) >= vn_today()",
        token,
    )


async def school_list(
    db: Executor,
    school_id: str,
    *,
    period: str | None,
    status: str | None,
    limit: int,
    offset: int,
    class_name: str | None = None,
    student: str | None = None,
    owing: bool = False,
) -> list[Listed]:
    """The school's invoices, filtered; `student` is a pupil's code or part of their name, with or without its
    marks, in any case (migration 0012's vn_fold); `owing`: only the invoices still to pay."""
    found = await db.fetch(
        """SELECT i.invoice_id, i.period, i.round_code, i.payment_reference, i.total, i.amount_paid, i.status,
                  i.due_date, i.public_token, s.student_code, s.full_name, s.class_name
           FROM invoices i JOIN students s USING (student_id)
           WHERE i.school_id = $1 AND ($2::text IS NULL OR i.period = $2) AND ($3::text IS NULL OR i.status = $3)
             AND ($6::text IS NULL OR s.class_name = $6)
             AND ($7::text IS NULL OR upper(s.student_code) = upper($7) OR strpos(s.search_name, vn_fold($7)) > 0)
             AND (NOT $8 OR i.status IN ('open', 'partially_paid'))
           ORDER BY s.class_name, s.student_code, i.period LIMIT $4 OFFSET $5""",
        school_id,
        period,
        status,
        limit,
        offset,
        class_name,
        student,
        owing,
    )
    return rows.rows(Listed, found)


async def with_pupil_and_school(db: Executor, invoice_id: uuid.UUID, school_id: str | None) -> InvoiceShown | None:
    found = await db.fetchrow(
        """SELECT i.*, s.student_code, s.full_name, s.class_name, s.grade, s.guardian_name, s.virtual_account,
                  sc.name AS school_name, sc.bank_bin, sc.account_number, sc.account_name
           FROM invoices i JOIN students s USING (student_id) JOIN schools sc ON sc.school_id = i.school_id
           WHERE i.invoice_id = $1 AND ($2::text IS NULL OR i.school_id = $2)""",
        invoice_id,
        school_id,
    )
    return rows.maybe(InvoiceShown, found)


async def lines(db: Executor, invoice_id: uuid.UUID) -> list[Line]:
    found = await db.fetch(
        "SELECT line_no, item_code, name, category, quantity, unit_amount, list_amount, reduction, "
        "policy_category, amount FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no",
        invoice_id,
    )
    return rows.rows(Line, found)


async def adjustments(db: Executor, invoice_id: uuid.UUID) -> list[Adjustment]:
    found = await db.fetch(
        "SELECT delta, reason, adjusted_by, created_at FROM invoice_adjustments WHERE invoice_id = $1 "
        "ORDER BY created_at",
        invoice_id,
    )
    return rows.rows(Adjustment, found)


async def payments(db: Executor, invoice_id: uuid.UUID) -> list[Payment]:
    found = await db.fetch(
        "SELECT payment_id, amount, channel, bank_reference, paid_at, reversed_at FROM invoice_payments "
        "WHERE invoice_id = $1 ORDER BY paid_at",
        invoice_id,
    )
    return rows.rows(Payment, found)


async def reductions_by_policy(
    db: Executor, school_id: str, *, school_year: str | None, period: str | None, state_funded: str
) -> list[Reduction]:
    """Exempted and reduced amounts per policy category and fee category; the state-funded tuition first."""
    found = await db.fetch(
        """SELECT l.policy_category, coalesce(pc.name, 'Nhà nước chi trả học phí') AS category_name, l.category,
                  count(DISTINCT i.student_id) AS students, sum(l.list_amount)::bigint AS list_amount,
                  sum(l.reduction)::bigint AS reduction
           FROM invoice_lines l JOIN invoices i USING (invoice_id)
           LEFT JOIN policy_categories pc ON pc.code = l.policy_category
           WHERE i.school_id = $1 AND i.status <> 'cancelled' AND l.reduction > 0
             AND ($2::text IS NULL OR i.school_year = $2) AND ($3::text IS NULL OR i.period = $3)
           GROUP BY 1, 2, 3 ORDER BY (l.policy_category = $4) DESC, 1, 3""",
        school_id,
        school_year,
        period,
        state_funded,
    )
    return rows.rows(Reduction, found)


# Parents' links: their end, their replacement.


async def link_state(db: Executor, token: str) -> LinkState | None:
    """For a link that no longer opens: whether it was replaced, or when it ended, and its school's name."""
    retired = await db.fetchrow(
        "SELECT r.retired_at, s.name AS school_name, NULL::date AS expires_on "
        "FROM payment_links_retired r JOIN schools s USING (school_id) "
        "WHERE r.public_token = $1",
        token,
    )
    if retired is not None:
        return rows.row(LinkState, retired)
    ended = await db.fetchrow(
        "SELECT NULL::timestamptz AS retired_at, s.name AS school_name, "
        "min(payment_link_end(i.link_expires_on, i.issued_at)) AS expires_on "
        "FROM invoices i JOIN schools s USING (school_id) "
        "LEFT JOIN payment_group_invoices gi ON gi.invoice_id = i.invoice_id "
        "LEFT JOIN payment_groups g ON g.group_id = gi.group_id "
        "WHERE i.public_token = $1 OR g.public_token = $1 GROUP BY s.name",
        token,
    )
    return rows.maybe(LinkState, ended)


async def set_period_link_end(conn: Executor, school_id: str, period: str, expires_on: object) -> int:
    done = await conn.execute(
        "UPDATE invoices SET link_expires_on = $3 WHERE school_id = $1 AND period = $2", school_id, period, expires_on
    )
    return int(done.split()[-1])


async def replace_link(conn: asyncpg.Connection, school_id: str, invoice_id: uuid.UUID, token: str, by: str) -> bool:
    """The invoice's link, and the links of the family groups holding it, replaced; the old ones retired."""
    old = await conn.fetch(
        "SELECT public_token FROM invoices WHERE invoice_id = $1 AND school_id = $2 "
        "UNION ALL SELECT g.public_token FROM payment_groups g JOIN payment_group_invoices gi USING (group_id) "
        "WHERE gi.invoice_id = $1 AND g.school_id = $2",
        invoice_id,
        school_id,
    )
    if not old:
        return False
    await conn.executemany(
        "INSERT INTO payment_links_retired (public_token, school_id, retired_by) VALUES ($1, $2, $3)",
        [(r["public_token"], school_id, by) for r in old],
    )
    await conn.execute("UPDATE invoices SET public_token = $2 WHERE invoice_id = $1", invoice_id, token)
    groups = await conn.fetch("SELECT group_id FROM payment_group_invoices WHERE invoice_id = $1", invoice_id)
    for g in groups:
        await conn.execute(
            "UPDATE payment_groups SET public_token = $2 WHERE group_id = $1", g["group_id"], secrets.token_urlsafe(18)
        )
    return True
