"""Daily close: per school and account, credits received = matched + in exceptions + refunded + ignored.

Each side is summed from its own records (allocations, the credits' refund/ignore amounts, the credits
left in exception states), so a credit whose books do not add up shows as a difference, to the đồng.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from reconciliation.domain.matching import EXCEPTION_STATES


async def daily_close(pool: asyncpg.Pool, school_id: str, day: date) -> dict[str, Any]:
    rows = await pool.fetch(
        """WITH day AS (SELECT * FROM credits WHERE school_id = $1 AND value_date = $2)
           SELECT d.account_number,
                  count(*) AS credits,
                  sum(d.amount)::bigint AS received,
                  coalesce((SELECT sum(a.amount) FROM allocations a JOIN day x USING (credit_id)
                            WHERE a.reversed_at IS NULL AND x.account_number = d.account_number), 0)::bigint
                      AS matched,
                  sum(d.refunded)::bigint AS refunded,
                  sum(d.ignored)::bigint AS ignored,
                  coalesce(sum(d.amount - d.allocated - d.refunded - d.ignored)
                           FILTER (WHERE d.state = ANY($3::text[])), 0)::bigint AS in_exceptions,
                  count(*) FILTER (WHERE d.state = ANY($3::text[])) AS exception_credits
           FROM day d GROUP BY d.account_number ORDER BY d.account_number""",
        school_id,
        day,
        [str(s) for s in EXCEPTION_STATES],
    )
    accounts = []
    for r in rows:
        difference = r["received"] - r["matched"] - r["in_exceptions"] - r["refunded"] - r["ignored"]
        accounts.append(dict(r) | {"difference": difference, "balanced": difference == 0})
    return {
        "school_id": school_id,
        "date": day.isoformat(),
        "accounts": accounts,
        "balanced": all(a["balanced"] for a in accounts),
    }
