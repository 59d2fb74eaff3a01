"""Daily close: per school and account, credits received = matched + in exceptions + refunded + ignored + held.

Each side is summed from its own records (allocations, the credits' refund/ignore amounts, the credits
left in exception states), so a credit whose books do not add up shows as a difference, to the đồng. Once
the day's statement has come, the bank confirms the webhooks: a webhook credit the statement does not
contain (forged, or failed at the bank) keeps the day from balancing; statement credits no webhook
announced are counted beside it.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import asyncpg

from reconciliation.app.confirmations import confirmations
from reconciliation.stores import approvals_store, credits_store, reversals_store, schools_store, statements_store
from shared.db import Executor
from shared.errors import Conflict


async def daily_close(db: Executor, school_id: str, day: date) -> dict[str, Any]:
    """The day's close, with the principal's latest approval of it (and whether it still holds)."""
    figures = await _close(db, school_id, day)
    approval = await approvals_store.latest(db, school_id, day)
    figures["approval"] = (
        None
        if approval is None
        else {
            "approved_at": approval["approved_at"],
            "approved_by": approval["approved_by"],
            "note": approval["note"],
            "still_holds": json.loads(approval["figures"]) == _approved_part(figures),
        }
    )
    return figures


# What an approval fixes: each account's figures (not the statement's flags, which the bank may add later).
APPROVED = ("received", "matched", "in_exceptions", "refunded", "ignored", "withdrawn", "held", "credits")


def _approved_part(figures: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"account_number": a["account_number"]} | {k: a[k] for k in APPROVED} for a in figures["accounts"]]


async def approve(pool: asyncpg.Pool, school_id: str, day: date, *, by: str, note: str) -> dict[str, Any]:
    """The principal approves a balanced day: refused while it does not balance (a difference, money the bank
    took back unanswered, a webhook its statement does not confirm)."""
    async with pool.acquire() as conn, conn.transaction():
        # Under the school's lock: no action changes the day between the figures read and the approval stored.
        await schools_store.lock(conn, school_id)
        figures = await _close(conn, school_id, day)
        if not figures["balanced"]:
            raise Conflict(
                f"Sổ ngày {day:%d/%m/%Y} chưa cân (còn chênh lệch, khoản bị ngân hàng thu hồi chưa xử lý hoặc "
                "khoản chưa được sao kê xác nhận): chưa duyệt được."
            )
        at = await approvals_store.add(conn, school_id, day, by=by, note=note, figures=_approved_part(figures))
    # The figures just read are those approved: the answer needs no second reading of the day.
    return figures | {"approval": {"approved_at": at, "approved_by": by, "note": note, "still_holds": True}}


async def _close(db: Executor, school_id: str, day: date) -> dict[str, Any]:
    accounts = []
    closing = await statements_store.closing_balances(db, school_id, day)
    # Money the bank took back that no credit answers for yet: the books cannot be closed over it.
    reversed_open = {r["account_number"]: r["n"] for r in await reversals_store.open_on(db, school_id, day)}
    bank = {c.account_number: c for c in await confirmations(db, school_id, day)}
    for r in await credits_store.day_totals(db, school_id, day):
        open_here = reversed_open.get(r["account_number"], 0)
        difference = r["received"] - r["matched"] - r["in_exceptions"] - r["refunded"] - r["ignored"] - r["held"]
        said = bank.get(r["account_number"])
        accounts.append(
            dict(r)
            | {
                "difference": difference,
                "balanced": difference == 0 and open_here == 0 and not (said and said.unconfirmed),
                "statement_closing_balance": closing.get(r["account_number"]),
                "open_reversals": open_here,
                "statement_received": bool(said and said.statement_received),
                "unconfirmed_by_bank": len(said.unconfirmed) if said else 0,
                "unconfirmed_amount": said.unconfirmed_amount if said else 0,
                "not_announced_by_webhook": len(said.unannounced) if said else 0,
            }
        )
    open_reversals = sum(reversed_open.values())
    return {
        "school_id": school_id,
        "date": day.isoformat(),
        "accounts": accounts,
        "open_reversals": open_reversals,
        "balanced": all(a["balanced"] for a in accounts) and open_reversals == 0,
    }
