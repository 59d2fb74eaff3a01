"""The accountant's exceptions queue: match, split, refund, ignore; every action audited and undoable."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from reconciliation.app.ingest import lock_school, stored_credit
from reconciliation.app.writer import Writer
from reconciliation.domain.matching import Allocation, Decision, State
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentReversed, RefundRecorded


class ActionError(ValueError):
    status = 422


class ActionNotFound(ActionError):
    status = 404


class ActionConflict(ActionError):
    status = 409


@dataclass(frozen=True)
class Action:
    kind: str  # match | split | refund | ignore
    allocations: tuple[tuple[uuid.UUID, int], ...] = ()
    amount: int | None = None
    bank_reference: str = ""
    reason: str = ""


def _snapshot(row: asyncpg.Record) -> dict[str, Any]:
    return {k: row[k] for k in ("state", "reason_code", "allocated", "refunded", "ignored")}


def _state_after(amount: int, allocated: int, refunded: int, ignored: int, previous: str) -> str:
    if allocated + refunded + ignored == amount:
        return str(State.RESOLVED)
    return previous


async def _credit(conn: asyncpg.Connection, school_id: str, credit_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT * FROM credits WHERE credit_id = $1 AND school_id = $2 FOR UPDATE", credit_id, school_id
    )
    if row is None:
        raise ActionNotFound(f"no credit {credit_id} at school {school_id}")
    return row


async def act(
    pool: asyncpg.Pool, outbox: Outbox, *, school_id: str, credit_id: uuid.UUID, action: Action, actor: str
) -> dict[str, Any]:
    async with pool.acquire() as conn, conn.transaction():
        await lock_school(conn, school_id)
        row = await _credit(conn, school_id, credit_id)
        free = row["amount"] - row["allocated"] - row["refunded"] - row["ignored"]
        if free <= 0:
            raise ActionConflict(f"credit {credit_id} has nothing left to place")
        action_id = uuid.uuid4()
        allocated, refunded, ignored = row["allocated"], row["refunded"], row["ignored"]
        if action.kind in ("match", "split"):
            if not action.allocations:
                raise ActionError("give the invoice(s) and amount(s) to apply the credit to")
            parts = [(inv, amt if amt is not None else free) for inv, amt in action.allocations]
            if any(a <= 0 for _, a in parts) or sum(a for _, a in parts) > free:
                raise ActionError(f"amounts must be positive and add up to at most the {free} đồng left")
            known = {
                r["invoice_id"]
                for r in await conn.fetch(
                    "SELECT invoice_id FROM invoices WHERE school_id = $1 AND invoice_id = ANY($2::uuid[]) "
                    "AND NOT cancelled",
                    school_id,
                    [i for i, _ in parts],
                )
            }
            unknown = [str(i) for i, _ in parts if i not in known]
            if unknown:
                raise ActionError(f"not open invoices of this school: {', '.join(unknown)}")
            decision = Decision(State.RESOLVED, "manual", tuple(Allocation(i, a) for i, a in parts))
            writer = Writer(school_id, outbox)
            writer.place(
                credit_id,
                stored_credit(row),
                decision,
                channel=Channel.Value(row["channel"]),
                book=None,
                action_id=action_id,
            )
            await writer.flush(conn)
            allocated += decision.allocated
        elif action.kind == "refund":
            amount = action.amount if action.amount is not None else free
            if not action.bank_reference.strip():
                raise ActionError("a refund needs the bank reference of the refund transfer")
            if not 0 < amount <= free:
                raise ActionError(f"refund amount must be between 1 and {free}")
            refunded += amount
            await outbox.add(
                conn,
                Topic.RECONCILIATION,
                RefundRecorded(
                    credit_id=str(credit_id),
                    school_id=school_id,
                    amount=amount,
                    bank_reference=action.bank_reference.strip(),
                    recorded_by=actor,
                ),
                aggregate_id=str(credit_id),
                school_id=school_id,
            )
        elif action.kind == "ignore":
            if not action.reason.strip():
                raise ActionError("ignoring a credit needs a reason")
            ignored += free
        else:
            raise ActionError(f"unknown action {action.kind!r}")
        state = _state_after(row["amount"], allocated, refunded, ignored, row["state"])
        after = {
            "state": state,
            "reason_code": row["reason_code"],
            "allocated": allocated,
            "refunded": refunded,
            "ignored": ignored,
        }
        await conn.execute(
            "UPDATE credits SET state = $2, allocated = $3, refunded = $4, ignored = $5 WHERE credit_id = $1",
            credit_id,
            state,
            allocated,
            refunded,
            ignored,
        )
        payload = {
            "kind": action.kind,
            "allocations": [[str(i), a] for i, a in action.allocations],
            "amount": action.amount,
            "bank_reference": action.bank_reference,
            "reason": action.reason,
        }
        await conn.execute(
            "INSERT INTO credit_actions (action_id, credit_id, kind, payload, actor, before, after) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            action_id,
            credit_id,
            action.kind,
            json.dumps(payload),
            actor,
            json.dumps(_snapshot(row)),
            json.dumps(after),
        )
    return {"action_id": str(action_id), **after}


async def undo(
    pool: asyncpg.Pool, outbox: Outbox, *, school_id: str, action_id: uuid.UUID, actor: str
) -> dict[str, Any]:
    async with pool.acquire() as conn, conn.transaction():
        await lock_school(conn, school_id)
        act_row = await conn.fetchrow(
            "SELECT a.* FROM credit_actions a JOIN credits c USING (credit_id) "
            "WHERE a.action_id = $1 AND c.school_id = $2 FOR UPDATE OF a",
            action_id,
            school_id,
        )
        if act_row is None:
            raise ActionNotFound(f"no action {action_id} at school {school_id}")
        if act_row["kind"] == "undo" or act_row["undone_by"] is not None:
            raise ActionConflict(f"action {action_id} cannot be undone (already undone, or an undo itself)")
        row = await _credit(conn, school_id, act_row["credit_id"])
        before = json.loads(act_row["before"])
        allocated, refunded, ignored = row["allocated"], row["refunded"], row["ignored"]
        for alloc in await conn.fetch(
            "UPDATE allocations SET reversed_at = now() WHERE action_id = $1 AND reversed_at IS NULL RETURNING *",
            action_id,
        ):
            await conn.execute(
                "UPDATE invoices SET allocated = allocated - $2 WHERE invoice_id = $1",
                alloc["invoice_id"],
                alloc["amount"],
            )
            allocated -= alloc["amount"]
            await outbox.add(
                conn,
                Topic.RECONCILIATION,
                PaymentReversed(
                    payment_id=str(alloc["payment_id"]),
                    invoice_id=str(alloc["invoice_id"]),
                    school_id=school_id,
                    amount=alloc["amount"],
                    reason=f"undo of action {action_id} by {actor}",
                ),
                aggregate_id=str(alloc["invoice_id"]),
                school_id=school_id,
            )
        after_action = json.loads(act_row["after"])
        refunded -= after_action["refunded"] - before["refunded"]
        ignored -= after_action["ignored"] - before["ignored"]
        state = before["state"] if allocated + refunded + ignored < row["amount"] else str(State.RESOLVED)
        await conn.execute(
            "UPDATE credits SET state = $2, allocated = $3, refunded = $4, ignored = $5 WHERE credit_id = $1",
            row["credit_id"],
            state,
            allocated,
            refunded,
            ignored,
        )
        undo_id = uuid.uuid4()
        after = {
            "state": state,
            "reason_code": row["reason_code"],
            "allocated": allocated,
            "refunded": refunded,
            "ignored": ignored,
        }
        await conn.execute(
            "INSERT INTO credit_actions (action_id, credit_id, kind, payload, actor, before, after) "
            "VALUES ($1, $2, 'undo', $3, $4, $5, $6)",
            undo_id,
            row["credit_id"],
            json.dumps({"undoes": str(action_id)}),
            actor,
            json.dumps(_snapshot(row)),
            json.dumps(after),
        )
        await conn.execute("UPDATE credit_actions SET undone_by = $2 WHERE action_id = $1", action_id, undo_id)
    return {"action_id": str(undo_id), **after}
