"""Read side: credits, the exceptions queue with candidates, an audit trail."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from reconciliation.stores import credits_store, invoices_store
from shared.db import Executor
from shared.errors import NotFound


async def list_credits(
    db: Executor, school_id: str, *, state: str | None, day: date | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    return await credits_store.list_for_school(db, school_id, state=state, day=day, limit=limit, offset=offset)


async def exceptions_queue(db: Executor, school_id: str) -> list[dict[str, Any]]:
    items = await credits_store.in_exceptions(db, school_id)
    for item in items:
        item["candidates"] = await invoices_store.candidates(db, [uuid.UUID(i) for i in item["candidates"]])
    return items


async def credit_detail(db: Executor, school_id: str, credit_id: uuid.UUID) -> dict[str, Any]:
    detail = await credits_store.detail(db, school_id, credit_id)
    if detail is None:
        raise NotFound(f"no credit {credit_id}")
    return detail
