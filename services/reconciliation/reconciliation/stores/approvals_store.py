"""The principals' approvals of days' closes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from shared.db import Executor


async def add(conn: asyncpg.Connection, school_id: str, day: date, *, by: str, note: str, figures: Any) -> datetime:
    """The approval stored; when it was made."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO close_approvals (school_id, day, approved_by, note, figures) VALUES ($1, $2, $3, $4, $5) "
        "RETURNING approved_at",
        school_id,
        day,
        by,
        note,
        json.dumps(figures, sort_keys=True),
    )


@dataclass(frozen=True, kw_only=True)
class Approval:
    """A principal's approval of a day's close, with the figures approved (as stored: JSON)."""

    approved_at: datetime
    approved_by: str
    note: str
    figures: Any


async def latest(db: Executor, school_id: str, day: date) -> Approval | None:
    found = await db.fetchrow(
        "SELECT approved_at, approved_by, note, figures FROM close_approvals WHERE school_id = $1 AND day = $2 "
        "ORDER BY approved_at DESC LIMIT 1",
        school_id,
        day,
    )
    return None if found is None else Approval(**{**found, "figures": json.loads(found["figures"])})
