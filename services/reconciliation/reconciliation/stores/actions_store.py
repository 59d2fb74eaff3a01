"""The accountant's actions on credits: an audit trail of before/after, each undoable once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import asyncpg

from reconciliation.domain.credits import Placement

# What an action was asked and did, as its audit trail keeps it (JSON).
Payload = Mapping[str, object]


@dataclass(frozen=True, kw_only=True)
class StoredAction:
    """An action on a credit, in the credit's audit trail."""

    action_id: uuid.UUID
    credit_id: uuid.UUID
    kind: str
    payload: Payload
    actor: str
    before: Placement
    after: Placement
    created_at: datetime
    undone_by: uuid.UUID | None
    request_key: str | None
    handled: int


def _stored(r: Mapping[str, Any]) -> StoredAction:
    return StoredAction(
        action_id=r["action_id"],
        credit_id=r["credit_id"],
        kind=r["kind"],
        payload=json.loads(r["payload"]),
        actor=r["actor"],
        before=Placement.of(json.loads(r["before"])),
        after=Placement.of(json.loads(r["after"])),
        created_at=r["created_at"],
        undone_by=r["undone_by"],
        request_key=r["request_key"],
        handled=r["handled"],
    )


async def record(
    conn: asyncpg.Connection,
    *,
    action_id: uuid.UUID,
    credit_id: uuid.UUID,
    kind: str,
    payload: Payload,
    actor: str,
    before: Placement,
    after: Placement,
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
        json.dumps(asdict(before)),
        json.dumps(asdict(after)),
        request_key,
        handled,
    )


@dataclass(frozen=True)
class Answered:
    """An action already done for a request: what it answered."""

    action_id: uuid.UUID
    after: Placement
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


def _answered(row: Mapping[str, Any]) -> Answered:
    return Answered(row["action_id"], Placement.of(json.loads(row["after"])), row["handled"])


async def get_for_update(conn: asyncpg.Connection, school_id: str, action_id: uuid.UUID) -> StoredAction | None:
    found = await conn.fetchrow(
        "SELECT a.* FROM credit_actions a JOIN credits c USING (credit_id) "
        "WHERE a.action_id = $1 AND c.school_id = $2 FOR UPDATE OF a",
        action_id,
        school_id,
    )
    return None if found is None else _stored(found)


async def of_credit(db: asyncpg.Pool | asyncpg.Connection, credit_id: uuid.UUID) -> list[StoredAction]:
    """The credit's audit trail, oldest first."""
    found = await db.fetch("SELECT * FROM credit_actions WHERE credit_id = $1 ORDER BY created_at", credit_id)
    return [_stored(r) for r in found]


async def mark_undone(conn: asyncpg.Connection, action_id: uuid.UUID, undo_id: uuid.UUID) -> None:
    await conn.execute("UPDATE credit_actions SET undone_by = $2 WHERE action_id = $1", action_id, undo_id)
