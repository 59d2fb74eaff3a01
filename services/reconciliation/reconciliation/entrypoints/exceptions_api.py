"""The exceptions queue: what the machine could not place, the accountant's actions and their undoing."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from reconciliation.app import actions, queries
from reconciliation.entrypoints.common import Credit
from shared.auth import SchoolStaff
from shared.money import PositiveAmount
from shared.schemas import Out, model_of
from shared.service import Runtime

router = APIRouter()


_ACTED = model_of(
    actions.Acted,
    described={
        "handled": "the money this action moved (matched, refunded, ignored, kept, taken back)",
        "replayed": "true when the same request was answered before: nothing more was done",
    },
)


class ActionResult(_ACTED):  # type: ignore[misc,valid-type]
    """The credit's placement after the action, and what the action moved."""


@router.get(
    "/schools/{school_id}/exceptions",
    tags=["exceptions"],
    summary="Credits the machine could not place, with what it read and the candidate invoices, oldest first, a "
    "page at a time (X-Next-Cursor names the next page's `after`)",
)
async def exceptions(
    school_id: str,
    rt: Runtime,
    _: SchoolStaff,
    response: Response,
    limit: int = Query(queries.PAGE, ge=1, le=queries.MAX_PAGE),
    after: str | None = Query(None, max_length=100, description="the previous page's X-Next-Cursor"),
) -> list[Credit]:
    items = await queries.exceptions_queue(rt.db(), school_id, limit=limit, after=after)
    cursor = queries.next_cursor(items, limit)
    if cursor:
        response.headers["X-Next-Cursor"] = cursor
    return [Credit.model_validate(r, from_attributes=True) for r in items]


class QueueCount(Out):
    open: int = Field(description="credits waiting for the accountant")


@router.get("/schools/{school_id}/exceptions/count", tags=["exceptions"], summary="How many credits are waiting")
async def exceptions_count(school_id: str, rt: Runtime, _: SchoolStaff) -> QueueCount:
    return QueueCount(open=await queries.exceptions_count(rt.db(), school_id))


class AllocationIn(BaseModel):
    invoice_id: uuid.UUID
    amount: PositiveAmount | None = None


class ActionIn(BaseModel):
    kind: Literal["match", "split", "refund", "ignore", "keep", "unmatch", "withdraw"] = Field(
        description="keep: what is left becomes the family's credit balance, applied to its next invoice (the "
        "family of the credit's invoice, or of `allocations[0]`); unmatch: reverse every payment of the credit (a "
        "wrong match); withdraw: a cash entry made by mistake, or a webhook credit the bank's statement never "
        "confirmed. unmatch and withdraw need a reason; all can be undone."
    )
    allocations: list[AllocationIn] = []
    amount: PositiveAmount | None = None
    bank_reference: str = ""
    reason: str = ""
    idempotency_key: str | None = Field(
        default=None,
        max_length=100,
        description="one per intended action: the same key again gets the first answer and does nothing more. "
        "Without one, the same request by the same person within 30 s is taken as the same.",
    )


@router.post(
    "/schools/{school_id}/credits/{credit_id}/actions",
    tags=["exceptions"],
    summary="Resolve a credit: match, split across a family, refund, ignore; reverse a match; withdraw cash",
)
async def act(school_id: str, credit_id: uuid.UUID, body: ActionIn, rt: Runtime, p: SchoolStaff) -> ActionResult:
    action = actions.Action(
        kind=body.kind,
        allocations=tuple((a.invoice_id, a.amount) for a in body.allocations),
        amount=body.amount,
        bank_reference=body.bank_reference,
        reason=body.reason,
        idempotency_key=body.idempotency_key,
    )
    result = await actions.act(
        rt.db(), rt.outbox, school_id=school_id, credit_id=credit_id, action=action, actor=p.subject
    )
    return ActionResult.model_validate(result, from_attributes=True)


@router.post("/schools/{school_id}/actions/{action_id}/undo", tags=["exceptions"])
async def undo(school_id: str, action_id: uuid.UUID, rt: Runtime, p: SchoolStaff) -> ActionResult:
    result = await actions.undo(rt.db(), rt.outbox, school_id=school_id, action_id=action_id, actor=p.subject)
    return ActionResult.model_validate(result, from_attributes=True)
