"""Read side of the invoicing service: lists, details, the parent page, the reimbursement report."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from invoicing.adapters import vietqr
from invoicing.domain.banks import bank_name
from invoicing.domain.fees import STATE_FUNDED
from invoicing.domain.invoices import Status, outstanding, qr_purpose
from shared.errors import NotFound


async def list_invoices(
    pool: asyncpg.Pool,
    school_id: str,
    *,
    period: str | None,
    status: str | None,
    limit: int,
    offset: int,
    public_url: str = "",
) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        """SELECT i.invoice_id, i.period, i.payment_reference, i.total, i.amount_paid, i.status, i.due_date,
                  i.public_token, s.student_code, s.full_name, s.class_name
           FROM invoices i JOIN students s USING (student_id)
           WHERE i.school_id = $1 AND ($2::text IS NULL OR i.period = $2) AND ($3::text IS NULL OR i.status = $3)
           ORDER BY s.class_name, s.student_code, i.period LIMIT $4 OFFSET $5""",
        school_id,
        period,
        status,
        limit,
        offset,
    )
    return [
        {k: v for k, v in r.items() if k != "public_token"}
        | {"outstanding": outstanding(r["total"], r["amount_paid"]), "pay_url": f"{public_url}/pay/{r['public_token']}"}
        for r in rows
    ]


async def invoice_detail(pool: asyncpg.Pool, invoice_id: uuid.UUID, school_id: str | None = None) -> dict[str, Any]:
    row = await pool.fetchrow(
        """SELECT i.*, s.student_code, s.full_name, s.class_name, s.grade, s.guardian_name, s.virtual_account,
                  sc.name AS school_name, sc.bank_bin, sc.account_number, sc.account_name
           FROM invoices i JOIN students s USING (student_id) JOIN schools sc ON sc.school_id = i.school_id
           WHERE i.invoice_id = $1 AND ($2::text IS NULL OR i.school_id = $2)""",
        invoice_id,
        school_id,
    )
    if row is None:
        raise NotFound(f"no invoice {invoice_id}")
    detail = dict(row)
    detail["outstanding"] = outstanding(row["total"], row["amount_paid"])
    detail["lines"] = [
        dict(r)
        for r in await pool.fetch(
            "SELECT line_no, item_code, name, category, quantity, unit_amount, list_amount, reduction, "
            "policy_category, amount FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no",
            invoice_id,
        )
    ]
    detail["adjustments"] = [
        dict(r)
        for r in await pool.fetch(
            "SELECT delta, reason, adjusted_by, created_at FROM invoice_adjustments WHERE invoice_id = $1 "
            "ORDER BY created_at",
            invoice_id,
        )
    ]
    detail["payments"] = [
        dict(r)
        for r in await pool.fetch(
            "SELECT payment_id, amount, channel, bank_reference, paid_at, reversed_at FROM invoice_payments "
            "WHERE invoice_id = $1 ORDER BY paid_at",
            invoice_id,
        )
    ]
    detail["receipts"] = [
        dict(r)
        for r in await pool.fetch(
            "SELECT receipt_id, number, url, issued_at FROM invoice_receipts WHERE invoice_id = $1 ORDER BY issued_at",
            invoice_id,
        )
    ]
    return detail


def invoice_qr_payload(detail: dict[str, Any]) -> str:
    """The VietQR of what is still owed; a per-student virtual account replaces the school's account."""
    if detail["status"] == Status.CANCELLED or detail["outstanding"] == 0:
        raise NotFound("nothing is owed on this invoice: no payment QR")
    account = detail.get("virtual_account") or detail["account_number"]
    return vietqr.encode(
        bin=detail["bank_bin"],
        account=account,
        amount=detail["outstanding"],
        purpose=qr_purpose(detail["payment_reference"], detail["period"]),
    )


async def payment_page(pool: asyncpg.Pool, token: str) -> dict[str, Any]:
    """What the parent's link shows: one invoice, or a family's group of invoices. Nothing else."""
    invoice_id = await pool.fetchval("SELECT invoice_id FROM invoices WHERE public_token = $1", token)
    if invoice_id is not None:
        detail = await invoice_detail(pool, invoice_id)
        payload = (
            None if detail["outstanding"] == 0 or detail["status"] == Status.CANCELLED else invoice_qr_payload(detail)
        )
        return {
            "kind": "invoice",
            "invoices": [detail],
            "qr_payload": payload,
            "amount_due": detail["outstanding"],
            "reference": detail["payment_reference"],
            "bank_name": bank_name(detail["bank_bin"]),
            "account_number": detail.get("virtual_account") or detail["account_number"],
            "account_name": detail["account_name"],
            "school_name": detail["school_name"],
            "memo": qr_purpose(detail["payment_reference"], detail["period"]),
        }
    group = await pool.fetchrow("SELECT * FROM payment_groups WHERE public_token = $1", token)
    if group is None:
        raise NotFound("this payment link is not valid")
    ids = [
        r["invoice_id"]
        for r in await pool.fetch(
            "SELECT invoice_id FROM payment_group_invoices WHERE group_id = $1 ORDER BY invoice_id", group["group_id"]
        )
    ]
    details = [await invoice_detail(pool, i) for i in ids]
    due = sum(d["outstanding"] for d in details if d["status"] != Status.CANCELLED)
    first = details[0]
    memo = f"{group['payment_reference']} GIA DINH"
    payload = (
        vietqr.encode(bin=first["bank_bin"], account=first["account_number"], amount=due, purpose=memo)
        if due > 0
        else None
    )
    return {
        "kind": "group",
        "invoices": details,
        "qr_payload": payload,
        "amount_due": due,
        "reference": group["payment_reference"],
        "bank_name": bank_name(first["bank_bin"]),
        "account_number": first["account_number"],
        "account_name": first["account_name"],
        "school_name": first["school_name"],
        "memo": memo,
    }


async def reimbursement_report(
    pool: asyncpg.Pool, school_id: str, *, school_year: str | None, period: str | None
) -> list[dict[str, Any]]:
    """Exempted/reduced amounts per policy category and fee category: what a public school claims from the
    state budget (STATE_FUNDED: the state-funded tuition of every pupil)."""
    rows = await pool.fetch(
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
        STATE_FUNDED,
    )
    return [dict(r) for r in rows]
