"""What reconciliation's routes share: a credit as the queue and the list show it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import Field

from shared.schemas import Row


class Credit(Row):
    credit_id: uuid.UUID
    school_id: str
    account_number: str
    amount: int
    booked_at: datetime
    value_date: date
    memo: str
    channel: str
    state: str
    reason_code: str
    allocated: int
    refunded: int
    ignored: int
    unallocated: int
    memo_read: dict[str, Any]
    candidates: list[Any]
    suggestions: list[Any] = Field(
        default=[],
        description="the queue only, for a credit without candidates: open invoices whose pupil the memo names, "
        "or whose reference is one character from one in the memo (why: name | reference_one_off)",
    )
