"""What reconciliation's routes share: a credit as the queue and the list show it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import Field

from reconciliation.app.intake.channels import Intake
from reconciliation.settings import ReconciliationSettings
from shared.schemas import Row
from shared.service import ServiceRuntime


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
    payer_name: str
    payer_account: str
    virtual_account: str
    first_source: str = Field(description="the kind of source that delivered it first (webhook_sepay, camt054, …)")
    memo_refs: list[str] = Field(description="the payment references read in the memo")
    received_at: datetime
    recorded_by: str = Field(description="cash: the account that recorded it")
    balance_family: str | None = Field(description="kept as this family's credit balance")
    memo_read: dict[str, Any]
    candidates: list[Any]
    suggestions: list[Any] = Field(
        default=[],
        description="the queue only, for a credit without candidates: open invoices whose pupil the memo names, "
        "or whose reference is one character from one in the memo (why: name | reference_one_off)",
    )


def _new_intake(rt: ServiceRuntime) -> Intake:
    return Intake(rt.db(), rt.outbox, rt.settings_as(ReconciliationSettings).sealer())


def intake_of(rt: ServiceRuntime) -> Intake:
    """The runtime's intake: its queue and the webhook secrets it keeps."""
    return rt.keep(Intake, _new_intake)
