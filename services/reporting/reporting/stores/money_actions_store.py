"""The district's audit of money actions: written from events, read by district and period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from reporting.domain.money_actions import label
from shared import rows as mapped
from shared.db import Executor


@dataclass(frozen=True, kw_only=True)
class MoneyAction:
    action_key: str
    school_id: str
    kind: str
    actor: str
    amount: int
    subject: str = ""
    reason: str = ""
    occurred_at: datetime
    items: int = 1


async def add(conn: asyncpg.Connection, actions: list[MoneyAction]) -> None:
    """Record actions; one already recorded (the same key) adds its amount and items: an issuing run's invoices
    arrive as many events (each applied once: the inbox remembers events)."""
    if not actions:
        return
    await conn.executemany(
        "INSERT INTO money_actions (action_key, school_id, kind, actor, amount, items, subject, reason, occurred_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (action_key) DO UPDATE "
        "SET amount = money_actions.amount + EXCLUDED.amount, items = money_actions.items + EXCLUDED.items",
        [
            (a.action_key, a.school_id, a.kind, a.actor, a.amount, a.items, a.subject, a.reason, a.occurred_at)
            for a in actions
        ],
    )


async def invoice_total(conn: asyncpg.Connection, invoice_id: str) -> int:
    total = await conn.fetchval("SELECT total FROM invoices WHERE invoice_id = $1::uuid", invoice_id)
    return int(total or 0)


@dataclass(frozen=True, kw_only=True)
class LoggedAction:
    """An action that moved money, with its school's name."""

    occurred_at: datetime
    school_id: str
    school_name: str
    kind: str
    actor: str
    amount: int
    items: int
    subject: str
    reason: str

    @property
    def label(self) -> str:
        return label(self.kind)


async def of_district(
    db: Executor, district: str, *, since: datetime, until: datetime, school_id: str | None, limit: int
) -> list[LoggedAction]:
    """The district's schools' actions in [since, until), newest first, at most `limit`."""
    found = await db.fetch(
        "SELECT m.*, s.name AS school_name FROM money_actions m JOIN schools s USING (school_id) "
        "WHERE s.district_code = $1 AND m.occurred_at >= $2 AND m.occurred_at < $3 "
        "AND ($4::text IS NULL OR m.school_id = $4) ORDER BY m.occurred_at DESC, m.action_key LIMIT $5",
        district,
        since,
        until,
        school_id,
        limit,
    )
    return mapped.rows(LoggedAction, found)
