"""The accountant's exceptions queue: match, split, refund, ignore; every action audited and undoable.

Two actions correct what was placed before, by the machine or by hand: `unmatch` takes back every payment of a
credit in force (a wrong automatic match; the credit returns to the queue), `withdraw` takes back a cash entry
recorded by mistake (its payments reversed, the credit set aside as withdrawn). Each reversed payment is a
PaymentReversed event: the invoice owes it again, its receipt is cancelled (the number is kept), the dashboard
follows. Undoing either puts the same amounts back on the same invoices as new payments (new receipts).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import asyncpg

from reconciliation.app.intake.writer import Writer
from reconciliation.domain.credits import Placement
from reconciliation.domain.matching import Allocation, Decision, State
from reconciliation.stores import (
    actions_store,
    confirmations_store,
    credits_store,
    invoices_store,
    placements_store,
    schools_store,
)
from reconciliation.stores.actions_store import Payload, StoredAction
from reconciliation.stores.credits_store import StoredCredit
from reconciliation.stores.placements_store import Reversed
from shared.errors import Conflict, Invalid, NotFound
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from tuition.reconciliation.v1.events_pb2 import CreditActionTaken, PaymentReversed, RefundRecorded


@dataclass(frozen=True, kw_only=True)
class Action:
    kind: str  # match | split | refund | ignore | unmatch | withdraw
    allocations: tuple[tuple[uuid.UUID, int | None], ...] = ()
    amount: int | None = None
    bank_reference: str = ""
    reason: str = ""
    idempotency_key: str | None = None  # the same key again gets the first answer; nothing more is done

    def payload(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "allocations": [[str(i), a] for i, a in self.allocations],
            "amount": self.amount,
            "bank_reference": self.bank_reference,
            "reason": self.reason,
        }


@dataclass(frozen=True, kw_only=True)
class Step:
    """What one action does to a credit, inside the command's transaction."""

    conn: asyncpg.Connection
    outbox: Outbox
    school_id: str
    credit: StoredCredit
    action_id: uuid.UUID
    actor: str
    notes: dict[str, object] = field(default_factory=dict)  # what the action did, kept in its audit payload

    @property
    def free(self) -> int:
        return self.credit.unallocated


@dataclass(frozen=True, kw_only=True)
class Acted:
    """What an action answers: the credit's placement after it, the money it moved, and whether the same
    request had been answered before (nothing more done)."""

    action_id: uuid.UUID
    state: str
    reason_code: str
    allocated: int
    refunded: int
    ignored: int
    handled: int
    replayed: bool


def _settled(amount: int, p: Placement, previous: str) -> str:
    return str(State.RESOLVED) if p.allocated + p.refunded + p.ignored == amount else previous


async def _credit(conn: asyncpg.Connection, school_id: str, credit_id: uuid.UUID) -> StoredCredit:
    row = await credits_store.get_for_update(conn, school_id, credit_id)
    if row is None:
        raise NotFound(f"Trường {school_id} không có khoản tiền về {credit_id}.")
    return row


async def _allocate(step: Step, action: Action, p: Placement) -> Placement:
    """An amount per invoice: given, or what the invoice still owes (at most what is left of the credit). Never
    more than an invoice owes: the rest stays on the credit, for another invoice, the family's balance (keep)
    or a refund, each an explicit choice."""
    if not action.allocations:
        raise Invalid("Hãy chọn hóa đơn (và số tiền) để gán khoản tiền về vào.")
    ids = [i for i, _ in action.allocations]
    if len(set(ids)) != len(ids):
        raise Invalid("Một hóa đơn được chọn hai lần: mỗi hóa đơn chỉ ghi một số tiền.")
    owed = await invoices_store.owed_among(step.conn, step.school_id, ids)
    unknown = [str(i) for i in ids if i not in owed]
    if unknown:
        raise Invalid(f"Không phải hóa đơn còn mở của trường: {', '.join(unknown)}.")
    left, parts = step.free, []
    for inv, asked in action.allocations:
        amount = asked if asked is not None else min(left, owed[inv])
        if owed[inv] == 0:
            raise Invalid(
                f"Hóa đơn {inv} không còn phải nộp (đã nộp đủ): hãy giữ tiền làm số dư của gia đình hoặc hoàn lại."
            )
        if amount <= 0 or amount > owed[inv]:
            raise Invalid(
                f"{amount} đồng vào hóa đơn {inv}, trong khi hóa đơn còn phải nộp {owed[inv]} đồng: tối đa bằng số còn "
                "phải nộp; phần còn lại giữ làm số dư của gia đình hoặc hoàn lại."
            )
        left -= amount
        parts.append((inv, amount))
    if left < 0:
        raise Invalid(
            f"Tổng các số tiền là {step.free - left} đồng, nhiều hơn {step.free} đồng còn lại của khoản tiền về."
        )
    decision = Decision(State.RESOLVED, "manual", tuple(Allocation(i, a) for i, a in parts))
    await _place(step, decision)
    return replace(p, allocated=p.allocated + decision.allocated)


async def _place(step: Step, decision: Decision) -> None:
    """The decision's payments from the step's credit, made by this action."""
    writer = Writer(step.school_id, step.outbox)
    writer.place_stored(step.credit, decision, action_id=step.action_id)
    await writer.flush(step.conn)


async def _refund(step: Step, action: Action, p: Placement) -> Placement:
    amount = action.amount if action.amount is not None else step.free
    if not action.bank_reference.strip():
        raise Invalid("Hoàn tiền cần số tham chiếu của giao dịch chuyển trả (bank reference).")
    if not 0 < amount <= step.free:
        raise Invalid(f"Số tiền hoàn phải từ 1 đến {step.free} đồng.")
    credit_id = str(step.credit.credit_id)
    refund = RefundRecorded(
        credit_id=credit_id,
        school_id=step.school_id,
        amount=amount,
        bank_reference=action.bank_reference.strip(),
        recorded_by=step.actor,
    )
    await step.outbox.add(step.conn, Topic.RECONCILIATION, refund, aggregate_id=credit_id, school_id=step.school_id)
    return replace(p, refunded=p.refunded + amount)


async def _ignore(step: Step, action: Action, p: Placement) -> Placement:
    if not action.reason.strip():
        raise Invalid("Bỏ qua một khoản tiền về cần ghi lý do.")
    return replace(p, ignored=p.ignored + step.free)


async def _keep(step: Step, action: Action, p: Placement) -> Placement:
    """What is left of the credit becomes the family's credit balance, for its next invoice."""
    credit_id = step.credit.credit_id
    if action.allocations:
        family = await invoices_store.family_of(step.conn, step.school_id, action.allocations[0][0])
    else:
        family = await invoices_store.family_of_credit(step.conn, credit_id)
    if not family:
        raise Invalid(
            "Giữ làm số dư của gia đình nào? Hãy chọn một hóa đơn của gia đình (allocations[0]) "
            "hoặc gán một phần trước."
        )
    await credits_store.set_balance_family(step.conn, credit_id, family)
    step.notes["family"] = family
    return replace(p, state=str(State.CREDIT_BALANCE), reason_code="credit_balance")


async def _unmatch(step: Step, action: Action, p: Placement) -> Placement:
    if not action.reason.strip():
        raise Invalid("Hủy khớp cần ghi lý do.")
    if p.allocated <= 0:
        raise Conflict(f"Khoản tiền về {step.credit.credit_id} không có khoản nộp nào để hủy khớp.")
    taken = await _take_back_all(step, f"match reversed by {step.actor}: {action.reason.strip()}")
    return replace(p, allocated=p.allocated - taken, state=str(State.UNMATCHED), reason_code="reversed_by_accountant")


async def _withdraw(step: Step, action: Action, p: Placement) -> Placement:
    """A cash entry recorded by mistake, or a webhook credit the bank's statement never confirmed (forged, or
    failed at the bank): its payments taken back, the credit set aside. A credit the bank confirmed is
    refunded or ignored instead: its money is in the account."""
    if step.credit.channel != "CASH" and await confirmations_store.in_a_statement(step.conn, step.credit.credit_id):
        raise Invalid("Sao kê ngân hàng đã xác nhận khoản này: hãy hoàn tiền hoặc bỏ qua thay vì rút.")
    if not action.reason.strip():
        raise Invalid("Rút một khoản cần ghi lý do.")
    if step.credit.state == State.WITHDRAWN:
        raise Conflict(f"Khoản {step.credit.credit_id} đã được rút trước đó.")
    taken = await _take_back_all(step, f"credit withdrawn by {step.actor}: {action.reason.strip()}")
    rest = step.credit.amount - (p.allocated - taken) - p.refunded - p.ignored
    reason_code = "withdrawn" if step.credit.channel == "CASH" else "withdrawn_unconfirmed"
    return replace(
        p, allocated=p.allocated - taken, ignored=p.ignored + rest, state=str(State.WITHDRAWN), reason_code=reason_code
    )


KINDS: dict[str, Callable[[Step, Action, Placement], Awaitable[Placement]]] = {
    "match": _allocate,
    "split": _allocate,
    "refund": _refund,
    "ignore": _ignore,
    "keep": _keep,
    "unmatch": _unmatch,
    "withdraw": _withdraw,
}
# The actions that place what is left of a credit (the others correct what was placed).
PLACING = {"match", "split", "refund", "ignore", "keep"}


# A request without the client's own key is known by what it asks, for this long: a double click, a retry, ten
# tabs sending the same thing at once. The same action asked again later is a new action.
SAME_REQUEST_S = 30


def _request_key(action: Action, actor: str) -> tuple[str, int | None]:
    if action.idempotency_key:
        return f"key:{actor}:{action.idempotency_key}", None
    digest = hashlib.sha256(json.dumps([actor, action.payload()], sort_keys=True).encode()).hexdigest()
    return f"asked:{digest}", SAME_REQUEST_S


def _handled(kind: str, before: Placement, after: Placement, free: int) -> int:
    """The money the action moved, as the accountant is told (not the credit's amount)."""
    if kind == "keep":
        return free
    return (
        abs(after.allocated - before.allocated)
        + abs(after.refunded - before.refunded)
        + abs(after.ignored - before.ignored)
    )


def _moved(before: Placement, after: Placement) -> int:
    """The đồng an action moved between the credit's parts (free, placed, refunded, set aside): what one part
    gained, which the others lost. A withdrawal of 300,000 placed is 300,000 (taken back and set aside), not
    the 600,000 of both changes."""
    changes = [
        after.allocated - before.allocated,
        after.refunded - before.refunded,
        after.ignored - before.ignored,
    ]
    freed = -sum(changes)
    return sum(c for c in [*changes, freed] if c > 0)


async def _audited(
    step: Step,
    kind: str,
    payload: Payload,
    before: Placement,
    after: Placement,
    handled: int,
    *,
    request_key: str | None = None,
    reason: str = "",
) -> None:
    """The action in the credit's audit trail and, for the district, as CreditActionTaken (who moved which
    money), in the action's transaction."""
    await actions_store.record(
        step.conn,
        action_id=step.action_id,
        credit_id=step.credit.credit_id,
        kind=kind,
        payload=payload,
        actor=step.actor,
        before=before,
        after=after,
        request_key=request_key,
        handled=handled,
    )
    credit_id = str(step.credit.credit_id)
    event = CreditActionTaken(
        action_id=str(step.action_id),
        credit_id=credit_id,
        school_id=step.school_id,
        kind=kind,
        amount=handled if kind == "keep" else _moved(before, after),
        actor=step.actor,
        reason=reason or str(payload.get("reason") or "").strip(),
        undoes=str(payload.get("undoes") or ""),
    )
    event.taken_at.FromDatetime(datetime.now(UTC))
    await step.outbox.add(step.conn, Topic.RECONCILIATION, event, aggregate_id=credit_id, school_id=step.school_id)


def _answer(action_id: uuid.UUID, after: Placement, handled: int, *, replayed: bool) -> Acted:
    return Acted(action_id=action_id, **vars(after), handled=handled, replayed=replayed)


async def act(
    pool: asyncpg.Pool, outbox: Outbox, *, school_id: str, credit_id: uuid.UUID, action: Action, actor: str
) -> Acted:
    do = KINDS.get(action.kind)
    if do is None:
        raise Invalid(f"Không có thao tác {action.kind!r}.")
    request_key, within_s = _request_key(action, actor)
    async with pool.acquire() as conn, conn.transaction():
        await schools_store.lock(conn, school_id)
        row = await _credit(conn, school_id, credit_id)
        # Under the school's lock and the credit's row lock: the same request at once waits here, then finds
        # the first one's answer.
        done = await actions_store.answered(conn, credit_id, request_key, within_s=within_s)
        if done is not None:
            return _answer(done.action_id, done.after, done.handled, replayed=True)
        step = Step(conn=conn, outbox=outbox, school_id=school_id, credit=row, action_id=uuid.uuid4(), actor=actor)
        if action.kind in PLACING and step.free <= 0:
            raise Conflict(f"Khoản tiền về {credit_id} không còn tiền nào để xử lý.")
        before = row.placement
        after = await do(step, action, before)
        if action.kind in PLACING:
            after = replace(after, state=_settled(row.amount, after, after.state))
        handled = _handled(action.kind, before, after, step.free)
        await credits_store.set_placement(conn, credit_id, after)
        await _audited(
            step, action.kind, action.payload() | step.notes, before, after, handled, request_key=request_key
        )
    return _answer(step.action_id, after, handled, replayed=False)


async def reverse_by_bank(
    conn: asyncpg.Connection, outbox: Outbox, *, school_id: str, credit_id: uuid.UUID, actor: str, where: str
) -> bool:
    """The bank took the credit back (a reversal in its statement): every payment of it is reversed and the
    credit set aside as reversed by the bank, audited as an action no one can undo. A credit partly refunded
    is left to the accountant (False): the refund and the reversal cannot both have left the account."""
    row = await _credit(conn, school_id, credit_id)
    if row.refunded > 0 or row.state == State.WITHDRAWN:
        return False
    step = Step(conn=conn, outbox=outbox, school_id=school_id, credit=row, action_id=uuid.uuid4(), actor=actor)
    before = row.placement
    taken = await _take_back_all(step, f"reversed by the bank ({where})")
    left = before.allocated - taken
    after = replace(
        before,
        allocated=left,
        ignored=row.amount - left - before.refunded,
        state=str(State.WITHDRAWN),
        reason_code="reversed_by_bank",
    )
    await credits_store.set_placement(conn, credit_id, after)
    payload = {"kind": "bank_reversal", "where": where} | step.notes
    handled = _handled("bank_reversal", before, after, 0)
    await _audited(step, "bank_reversal", payload, before, after, handled, reason=where)
    return True


# What no one undoes: an undo, and what the bank did.
NOT_UNDOABLE = {"undo", "bank_reversal"}


async def _reverse_allocations(step: Step, undone: uuid.UUID) -> int:
    """Take back what the undone action allocated; returns the total."""
    allocations = await placements_store.reverse_allocations_of(step.conn, undone)
    return await _reversed(step, allocations, f"undo of action {undone} by {step.actor}")


async def _take_back_all(step: Step, reason: str) -> int:
    """Take back every payment of the credit in force, noted for the undo; returns the total."""
    allocations = await placements_store.reverse_payments_of_credit(step.conn, step.credit.credit_id)
    step.notes["reversed"] = [[str(a.invoice_id), a.amount] for a in allocations]
    return await _reversed(step, allocations, reason)


async def _reversed(step: Step, allocations: list[Reversed], reason: str) -> int:
    """Each payment taken back from its invoice with its PaymentReversed; returns the total."""
    total = 0
    for alloc in allocations:
        await invoices_store.take_back(step.conn, alloc.invoice_id, alloc.amount)
        total += alloc.amount
        reversal = PaymentReversed(
            payment_id=str(alloc.payment_id),
            invoice_id=str(alloc.invoice_id),
            school_id=step.school_id,
            amount=alloc.amount,
            reason=reason,
        )
        await step.outbox.add(
            step.conn, Topic.RECONCILIATION, reversal, aggregate_id=str(alloc.invoice_id), school_id=step.school_id
        )
    return total


async def _put_back(step: Step, reversed_: object, free: int) -> int:
    """Undo of a reversal: the same amounts on the same invoices, as new payments; returns the total. Refused
    when the money has gone elsewhere since: the credit no longer has it free, or an invoice was paid by
    another credit meanwhile."""
    if not isinstance(reversed_, list) or not reversed_:
        return 0
    parts = [(uuid.UUID(i), int(a)) for i, a in reversed_]
    total = sum(a for _, a in parts)
    if total > free:
        raise Conflict(
            f"Không hoàn tác được: {total} đồng sẽ trả lại các hóa đơn nhưng khoản tiền chỉ còn {free} đồng chưa dùng; "
            "khoản tiền đã được khớp, hoàn hoặc bỏ qua sau đó: hoàn tác thao tác đó trước."
        )
    owed = await invoices_store.owed_among(step.conn, step.school_id, [i for i, _ in parts])
    closed = [str(i) for i, _ in parts if i not in owed]
    if closed:
        raise Conflict(f"Không khôi phục được các khoản nộp: hóa đơn không còn mở: {', '.join(closed)}.")
    paid = [str(i) for i, a in parts if a > owed[i]]
    if paid:
        raise Conflict(
            f"Không khôi phục được các khoản nộp: hóa đơn đã được nộp bằng khoản tiền khác: {', '.join(paid)}."
        )
    decision = Decision(State.RESOLVED, "undo", tuple(Allocation(i, a) for i, a in parts))
    await _place(step, decision)
    return decision.allocated


async def undo(pool: asyncpg.Pool, outbox: Outbox, *, school_id: str, action_id: uuid.UUID, actor: str) -> Acted:
    async with pool.acquire() as conn, conn.transaction():
        await schools_store.lock(conn, school_id)
        act_row = await actions_store.get_for_update(conn, school_id, action_id)
        if act_row is None:
            raise NotFound(f"Không có thao tác {action_id} ở trường {school_id}.")
        if act_row.undone_by is not None:  # undone already (a double click): that undo's answer
            done = await actions_store.answer_of(conn, act_row.undone_by)
            return _answer(done.action_id, done.after, done.handled, replayed=True)
        if act_row.kind in NOT_UNDOABLE:
            raise Conflict(
                f"Thao tác {action_id} không hoàn tác được (đó là một lần hoàn tác, hoặc ngân hàng đã thu hồi "
                "khoản tiền)."
            )
        row = await _credit(conn, school_id, act_row.credit_id)
        if row.reason_code == "reversed_by_bank":
            raise Conflict(
                f"Ngân hàng đã thu hồi khoản tiền {row.credit_id}: không hoàn tác được thao tác nào trên khoản này nữa."
            )
        step = Step(conn=conn, outbox=outbox, school_id=school_id, credit=row, action_id=uuid.uuid4(), actor=actor)
        before = row.placement
        after = await _undone(step, act_row, before)
        handled = _handled("undo", before, after, 0)
        await credits_store.set_placement(conn, row.credit_id, after)
        await _audited(step, "undo", {"undoes": str(action_id)}, before, after, handled)
        await actions_store.mark_undone(conn, action_id, step.action_id)
    return _answer(step.action_id, after, handled, replayed=False)


async def _undone(step: Step, done: StoredAction, now: Placement) -> Placement:
    """The credit's placement once the action is undone: what it placed taken back, what it reversed put back."""
    before_action, after_action = done.before, done.after
    taken_back = await _reverse_allocations(step, done.action_id)
    after = replace(
        now,
        allocated=now.allocated - taken_back,
        refunded=now.refunded - (after_action.refunded - before_action.refunded),
        ignored=now.ignored - (after_action.ignored - before_action.ignored),
    )
    free = step.credit.amount - after.allocated - after.refunded - after.ignored
    after = replace(after, allocated=after.allocated + await _put_back(step, done.payload.get("reversed", []), free))
    numbers = ("allocated", "refunded", "ignored")
    if all(getattr(after, k) == getattr(before_action, k) for k in numbers):
        return replace(after, state=before_action.state, reason_code=before_action.reason_code)
    settled = after.allocated + after.refunded + after.ignored >= step.credit.amount
    return replace(after, state=str(State.RESOLVED) if settled else before_action.state)
