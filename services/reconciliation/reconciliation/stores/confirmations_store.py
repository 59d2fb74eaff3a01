"""Does the bank's statement confirm what the aggregators said? The credits of a day by the channels that
delivered them: webhooks only (not in the bank's statement: forged, or failed at the bank), the statement
only (no webhook announced them), or both."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from shared.db import Executor

STATEMENT_KINDS = ["camt053", "camt054", "mt940", "csv"]
WEBHOOK_KINDS = ["webhook_sepay", "webhook_casso", "webhook_payos"]
# The unconfirmed credits /metrics counts are those received in the last weeks: older ones are the close's.
RECENT_DAYS = 35


@dataclass(frozen=True)
class DayCredit:
    credit_id: uuid.UUID
    account_number: str
    amount: int
    booked_at: datetime
    memo: str
    state: str
    in_statement: bool
    by_webhook: bool


async def day_credits(db: Executor, school_id: str, day: date) -> list[DayCredit]:
    """The day's bank credits (cash aside) and whether a statement and a webhook each delivered them."""
    rows = await db.fetch(
        "SELECT c.credit_id, c.account_number, c.amount, c.booked_at, c.memo, c.state, "
        "bool_or(s.source_kind = ANY($3::text[])) AS in_statement, "
        "bool_or(s.source_kind = ANY($4::text[])) AS by_webhook "
        "FROM credits c JOIN credit_sources s USING (credit_id) "
        "WHERE c.school_id = $1 AND c.value_date = $2 AND c.channel <> 'CASH' "
        "GROUP BY c.credit_id ORDER BY c.booked_at, c.credit_id",
        school_id,
        day,
        STATEMENT_KINDS,
        WEBHOOK_KINDS,
    )
    return [DayCredit(**dict(r)) for r in rows]


async def in_a_statement(db: Executor, credit_id: uuid.UUID) -> bool:
    """Has a bank statement brought this credit?"""
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM credit_sources WHERE credit_id = $1 AND source_kind = ANY($2::text[]))",
            credit_id,
            STATEMENT_KINDS,
        )
    )


async def accounts_with_statement(db: Executor, school_id: str, day: date) -> set[str]:
    """The accounts whose bank statement covers the day: one states the day's closing balance, or brought
    credits of the day."""
    rows = await db.fetch(
        "SELECT account_number FROM statements WHERE school_id = $1 AND closing_date = $2 "
        "UNION SELECT DISTINCT c.account_number FROM credits c JOIN credit_sources s USING (credit_id) "
        "WHERE c.school_id = $1 AND c.value_date = $2 AND s.source_kind = ANY($3::text[])",
        school_id,
        day,
        STATEMENT_KINDS,
    )
    return {r["account_number"] for r in rows}


@dataclass(frozen=True)
class Unconfirmed:
    school_id: str
    credits: int
    amount: int
    oldest_s: float


async def unconfirmed_past_a_statement(db: Executor) -> list[Unconfirmed]:
    """Per school, webhook credits that a later day's statement of their account has come without: the bank
    has not confirmed them (a forged webhook, or a transfer that failed at the bank)."""
    rows = await db.fetch(
        f"""WITH covered AS (
              SELECT c.school_id, c.account_number, max(c.value_date) AS last_day
              FROM credits c JOIN credit_sources s USING (credit_id)
              WHERE s.source_kind = ANY($1::text[]) AND c.received_at >= now() - interval '{RECENT_DAYS} days'
              GROUP BY c.school_id, c.account_number
            )
            SELECT c.school_id, count(*) AS credits, sum(c.amount)::bigint AS amount,
                   extract(epoch FROM now() - min(c.received_at))::float8 AS oldest_s
            FROM credits c JOIN covered v ON v.school_id = c.school_id AND v.account_number = c.account_number
            WHERE c.value_date < v.last_day AND c.received_at >= now() - interval '{RECENT_DAYS} days'
              AND c.channel <> 'CASH' AND c.state <> 'withdrawn'
              AND NOT EXISTS (SELECT 1 FROM credit_sources s WHERE s.credit_id = c.credit_id
                              AND s.source_kind = ANY($1::text[]))
            GROUP BY c.school_id""",  # noqa: S608 (a constant)
        STATEMENT_KINDS,
    )
    return [Unconfirmed(**dict(r)) for r in rows]
