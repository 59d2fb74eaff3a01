"""Read side: credits, the exceptions queue with candidates, an audit trail."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import asyncpg

from reconciliation.domain.matching import EXCEPTION_STATES


def _credit(r: asyncpg.Record) -> dict[str, Any]:
    out = dict(r)
    out["memo_read"] = json.loads(r["memo_read"])
    out["candidates"] = json.loads(r["candidates"])
    out["unallocated"] = r["amount"] - r["allocated"] - r["refunded"] - r["ignored"]
    out.pop("memo_compact", None)
    return out


async def list_credits(
    pool: asyncpg.Pool, school_id: str, *, state: str | None, day: date | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT * FROM credits WHERE school_id = $1 AND ($2::text IS NULL OR state = $2) "
        "AND ($3::date IS NULL OR value_date = $3) ORDER BY booked_at DESC LIMIT $4 OFFSET $5",
        school_id,
        state,
        day,
        limit,
        offset,
    )
    return [_credit(r) for r in rows]


async def exceptions_queue(pool: asyncpg.Pool, school_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT * FROM credits WHERE school_id = $1 AND state = ANY($2::text[]) ORDER BY booked_at",
        school_id,
        [str(s) for s in EXCEPTION_STATES],
    )
    out = []
    for r in rows:
        item = _credit(r)
        ids = [uuid.UUID(i) for i in item["candidates"]]
        item["candidates"] = (
            [
                dict(c) | {"outstanding": max(c["total"] - c["allocated"], 0)}
                for c in await pool.fetch(
                    "SELECT invoice_id, student_code, student_name, class_name, payment_reference, period, total, "
                    "allocated FROM invoices WHERE invoice_id = ANY($1::uuid[])",
                    ids,
                )
            ]
            if ids
            else []
        )
        out.append(item)
    return out


async def credit_detail(pool: asyncpg.Pool, school_id: str, credit_id: uuid.UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow("SELECT * FROM credits WHERE credit_id = $1 AND school_id = $2", credit_id, school_id)
    if row is None:
        return None
    item = _credit(row)
    item["allocations"] = [
        dict(a)
        for a in await pool.fetch(
            "SELECT payment_id, invoice_id, amount, reason_code, action_id, created_at, reversed_at FROM allocations "
            "WHERE credit_id = $1 ORDER BY created_at",
            credit_id,
        )
    ]
    item["sources"] = [
        dict(s)
        for s in await pool.fetch(
            "SELECT source_kind, seen_at FROM credit_sources WHERE credit_id = $1 ORDER BY seen_at", credit_id
        )
    ]
    item["identifiers"] = [
        r["identifier"]
        for r in await pool.fetch(
            "SELECT identifier FROM credit_identifiers WHERE credit_id = $1 ORDER BY identifier", credit_id
        )
    ]
    item["actions"] = [
        dict(a)
        | {"payload": json.loads(a["payload"]), "before": json.loads(a["before"]), "after": json.loads(a["after"])}
        for a in await pool.fetch("SELECT * FROM credit_actions WHERE credit_id = $1 ORDER BY created_at", credit_id)
    ]
    return item
