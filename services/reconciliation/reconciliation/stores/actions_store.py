"""The accountant's actions on credits: an audit trail of before/after, each undoable once."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
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
    request_key: str | None = None,
    handled: int = 0,
) -> None:
    await conn.execute(
        "INSERT INTO credit_actions (action_id, credit_id, kind, payload, actor, before, after, request_key, handled) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        action_id,
        credit_id,
        kind,
        json.dumps(payload),
        actor,
        json.dumps(before),
        json.dumps(after),
        request_key,
        handled,
    )


@dataclass(frozen=True)
class Answered:
    """An action already done for a request: what it answered."""

    action_id: uuid.UUID
    after: dict[str, Any]
    handled: int


async def answered(
    conn: asyncpg.Connection, credit_id: uuid.UUID, request_key: str, *, within_s: int | None
) -> Answered | None:
    """The action that answered this request on this credit (within the last `within_s` seconds when the key
    is a digest of the request, not the client's own key)."""
    row = await conn.fetchrow(
        "SELECT action_id, after, handled FROM credit_actions WHERE credit_id = $1 AND request_key = $2 "
        "AND ($3::int IS NULL OR created_at > now() - make_interval(secs => $3)) ORDER BY created_at DESC LIMIT 1",
        credit_id,
        request_key,
        within_s,
    )
    return _answered(row) if row else None


async def answer_of(conn: asyncpg.Connection, action_id: uuid.UUID) -> Answered:
    row = await conn.fetchrow("SELECT action_id, after, handled FROM credit_actions WHERE action_id = $1", action_id)
    return _answered(row)


def _answered(row: asyncpg.Record) -> Answered:
    return Answered(row["action_id"], json.loads(row["after"]), row["handled"])


async def get_for_update(conn: asyncpg.Connection, school_id: str, action_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT a.* FROM credit_actions a JOIN credits c USING (credit_id) "
        "WHERE a.action_id = $1 AND c.school_id = $2 FOR UPDATE OF a",
        action_id,
        school_id,
    )


async def mark_undone(conn: asyncpg.Connection, action_id: uuid.UUID, undo_id: uuid.UUID) -> None:
    await conn.execute("UPDATE credit_actions SET undone_by = $2 WHERE action_id = $1", action_id, undo_id)
