"""Daily close: per school and account, credits received = matched + in exceptions + refunded + ignored + held.

Each side is summed from its own records (allocations, the credits' refund/ignore amounts, the credits
left in exception states), so a credit whose books do not add up shows as a difference, to the đồng.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from reconciliation.stores import credits_store, reversals_store, statements_store
from shared.db import Executor


async def daily_close(db: Executor, school_id: str, day: date) -> dict[str, Any]:
    accounts = []
    closing = await statements_store.closing_balances(db, school_id, day)
    # Money the bank took back that no credit answers for yet: the books cannot be closed over it.
    reversed_open = {r["account_number"]: r for r in await reversals_store.open_on(db, school_id, day)}
    for r in await credits_store.day_totals(db, school_id, day):
        open_here = reversed_open[r["account_number"]]["n"] if r["account_number"] in reversed_open else 0
        difference = r["received"] - r["matched"] - r["in_exceptions"] - r["refunded"] - r["ignored"] - r["held"]
        accounts.append(
            dict(r)
            | {
                "difference": difference,
                "balanced": difference == 0 and open_here == 0,
                "statement_closing_balance": closing.get(r["account_number"]),
                "open_reversals": open_here,
            }
        )
    open_reversals = sum(r["n"] for r in reversed_open.values())
    return {
        "school_id": school_id,
        "date": day.isoformat(),
        "accounts": accounts,
        "open_reversals": open_reversals,
        "balanced": all(a["balanced"] for a in accounts) and open_reversals == 0,
    }
