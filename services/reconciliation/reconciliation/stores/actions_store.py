"""The accountant's actions on credits: an audit trail of before/after, each undoable once."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg


async def record(
    conn: asyncpg.Connection,
    *,
    action_id: uuid.UUID,
    credit_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    actor: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    await conn.execute(
        "INSERT INTO credit_actions (action_id, credit_id, kind, payload, actor, before, after) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        action_id,
        credit_id,
        kind,
        json.dumps(payload),
        actor,
        json.dumps(before),
        json.dumps(after),
    )


async def get_for_update(conn: asyncpg.Connection, school_id: str, action_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT a.* FROM credit_actions a JOIN credits c USING (credit_id) "
        "WHERE a.action_id = $1 AND c.school_id = $2 FOR UPDATE OF a",
        action_id,
        school_id,
    )


async def mark_undone(conn: asyncpg.Connection, action_id: uuid.UUID, undo_id: uuid.UUID) -> None:
    await conn.execute("UPDATE credit_actions SET undone_by = $2 WHERE action_id = $1", action_id, undo_id)
