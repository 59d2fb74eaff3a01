"""Placed credits, batched: the rows for `placements_store.write` (COPY) and their events, in order.

Every path that places money (webhooks, statements, the accountant's actions, late invoices) goes through
this one writer, so an allocation always comes with its invoice total, its payer history and its event.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC

import asyncpg
from google.protobuf.message import Message

from reconciliation.domain.credits import BankCredit
from reconciliation.domain.matching import EXCEPTION_STATES, Book, Decision
from reconciliation.domain.memo import MemoReading
from reconciliation.stores import invoices_store, placements_store
from reconciliation.stores.credits_store import StoredCredit
from shared.events import pupil_keys
from shared.events.outbox import Outbox
from shared.events.pupil_keys import seal
from shared.events.topics import Topic
from tuition.common.v1.sealed_pb2 import Names
from tuition.reconciliation.v1.events_pb2 import Channel, CreditReceived, PaymentMatched, PaymentUnmatched

# Reasons confident enough to learn "this payer account pays for this student".
CONFIDENT = {"reference", "group_reference", "references", "virtual_account", "manual"}


@dataclass
class Writer:
    school_id: str
    outbox: Outbox
    credits: list[tuple[object, ...]] = field(default_factory=list)
    identifiers: list[tuple[str, str, uuid.UUID]] = field(default_factory=list)
    sources: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    allocations: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, int, str, uuid.UUID | None]] = field(default_factory=list)
    invoice_deltas: dict[uuid.UUID, int] = field(default_factory=lambda: defaultdict(int))
    payers: set[tuple[str, uuid.UUID]] = field(default_factory=set)
    events: list[tuple[Message, str, str]] = field(default_factory=list)

    def new_credit(
        self,
        credit_id: uuid.UUID,
        c: BankCredit,
        reading: MemoReading,
        memo_compact: str,
        channel: int,
        decision: Decision,
    ) -> None:
        self.credits.append(
            (
                credit_id,
                self.school_id,
                c.account_number,
                c.amount,
                c.booked_at,
                c.value_date,
                c.memo,
                memo_compact,
                c.payer_name,
                c.payer_account,
                c.virtual_account,
                Channel.Name(channel),
                c.source_kind,
                str(decision.state),
                decision.reason_code,
                json.dumps(reading.as_dict()),
                json.dumps([str(i) for i in decision.candidates]),
                list(reading.references),
                decision.allocated,
                c.recorded_by,
            )
        )
        msg = CreditReceived(
            credit_id=str(credit_id),
            school_id=self.school_id,
            amount=c.amount,
            channel=channel,
            source=c.source_kind,
            account_number=c.account_number,
            recorded_by=c.recorded_by,
        )
        msg.booked_at.FromDatetime(c.booked_at.astimezone(UTC))
        self.events.append((msg, str(credit_id), self.school_id))

    def seen(self, credit_id: uuid.UUID, account: str, identifiers: list[str], source_kind: str) -> None:
        self.identifiers.extend((account, i, credit_id) for i in identifiers)
        self.sources.append((credit_id, source_kind))

    def place(
        self,
        credit_id: uuid.UUID,
        c: BankCredit,
        decision: Decision,
        *,
        channel: int,
        book: Book | None,
        bank_reference: str = "",
        action_id: uuid.UUID | None = None,
    ) -> None:
        for a in decision.allocations:
            payment_id = uuid.uuid4()
            self.allocations.append((payment_id, credit_id, a.invoice_id, a.amount, decision.reason_code, action_id))
            self.invoice_deltas[a.invoice_id] += a.amount
            msg = PaymentMatched(
                payment_id=str(payment_id),
                credit_id=str(credit_id),
                invoice_id=str(a.invoice_id),
                school_id=self.school_id,
                amount=a.amount,
                channel=channel,
                payer_name=c.payer_name,
                bank_reference=bank_reference,
                reason_code=decision.reason_code,
            )
            msg.paid_at.FromDatetime(c.booked_at.astimezone(UTC))
            self.events.append((msg, str(a.invoice_id), self.school_id))
            if c.payer_account and decision.reason_code in CONFIDENT and book and a.invoice_id in book.invoices:
                self.payers.add((c.payer_account, book.invoices[a.invoice_id].student_id))
        if decision.state in EXCEPTION_STATES:
            self.events.append(
                (
                    PaymentUnmatched(
                        credit_id=str(credit_id),
                        school_id=self.school_id,
                        state=str(decision.state),
                        reason_code=decision.reason_code,
                        unallocated=c.amount - decision.allocated,
                    ),
                    str(credit_id),
                    self.school_id,
                )
            )

    def place_stored(
        self, row: StoredCredit, decision: Decision, *, book: Book | None = None, action_id: uuid.UUID | None = None
    ) -> None:
        """Place a credit already stored (an accountant's action, a late invoice, a kept balance)."""
        channel = Channel.Value(row.channel)
        self.place(row.credit_id, row.credit, decision, channel=channel, book=book, action_id=action_id)

    async def flush(self, conn: asyncpg.Connection) -> None:
        await flush_together(conn, [self])


async def flush_together(conn: asyncpg.Connection, writers: list[Writer]) -> None:
    """The writers' rows (of one school each) in one write per table, and their events in one outbox write."""
    deltas: dict[uuid.UUID, int] = defaultdict(int)
    for w in writers:
        for invoice_id, amount in w.invoice_deltas.items():
            deltas[invoice_id] += amount
    await placements_store.write(
        conn,
        credits=[row for w in writers for row in w.credits],
        identifiers=[row for w in writers for row in w.identifiers],
        sources=[row for w in writers for row in w.sources],
        allocations=[row for w in writers for row in w.allocations],
        invoice_deltas=deltas,
        payers=sorted((p, s, w.school_id) for w in writers for p, s in w.payers),
    )
    events = [e for w in writers for e in w.events]
    if events and writers:
        await _seal_payers(conn, [m for m, _, _ in events if isinstance(m, PaymentMatched) and m.payer_name])
        await writers[0].outbox.add_many(conn, Topic.RECONCILIATION, events)


async def _seal_payers(conn: asyncpg.Connection, payments: list[PaymentMatched]) -> None:
    """The payer's name goes out only sealed with the key of the invoice's pupil (shared/events/pupil_keys.py);
    where that key has not arrived yet, it does not go out (the receipt names the guardian)."""
    if not payments:
        return
    pupils = await invoices_store.pupils_of(conn, list({uuid.UUID(m.invoice_id) for m in payments}))
    keys = await pupil_keys.keys_of_students(conn, list(set(pupils.values())))
    for m in payments:
        student_id = pupils.get(uuid.UUID(m.invoice_id))
        key = keys.get(student_id) if student_id is not None else None
        if key is not None:
            m.sealed_payer_name.CopyFrom(seal(key, Names(payer_name=m.payer_name), bound_to=m.payment_id))
        m.ClearField("payer_name")
