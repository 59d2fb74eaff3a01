"""Consistency check: a school's figures recomputed from its events (pure Python, no projection tables)
and compared with what the dashboard shows (the SQL projections)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

import asyncpg

from reporting.domain.figures import CASHLESS_CHANNELS, Figures, InvoiceFacts, figures_of
from reporting.domain.scope import Scope
from reporting.stores import figures_store
from shared.events.envelope import unwrap
from tuition.invoicing.v1.events_pb2 import InvoiceAdjusted, InvoiceCancelled, InvoiceIssued
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched, PaymentReversed

COMPARED = (
    "invoiced",
    "collected",
    "cashless",
    "cash",
    "outstanding",
    "overdue",
    "invoices",
    "students",
    "students_fully_paid",
    "payments",
    "cashless_payments",
)


def replay(envelopes: list[bytes]) -> list[InvoiceFacts]:
    invoices: dict[str, dict[str, Any]] = {}
    payments: dict[str, dict[str, Any]] = {}
    for raw in envelopes:
        event = unwrap(raw)
        m = event.payload
        if isinstance(m, InvoiceIssued) and m.invoice_id not in invoices:
            fees: dict[str, int] = defaultdict(int)
            for line in m.lines:
                fees[line.category] += line.amount
            invoices[m.invoice_id] = {
                "school": m.school_id,
                "student": m.student_id,
                "period": m.period,
                "due": date.fromisoformat(m.due_date),
                "fees": fees,
                "total": m.total,
                "cancelled": False,
            }
        elif isinstance(m, InvoiceAdjusted) and m.invoice_id in invoices:
            invoices[m.invoice_id]["fees"]["adjustment"] += m.delta
            invoices[m.invoice_id]["total"] = m.new_total
        elif isinstance(m, InvoiceCancelled) and m.invoice_id in invoices:
            invoices[m.invoice_id]["cancelled"] = True
        elif isinstance(m, PaymentMatched) and m.payment_id not in payments:
            at = m.paid_at if m.HasField("paid_at") else event.envelope.occurred_at
            payments[m.payment_id] = {
                "id": m.payment_id,
                "at": at.ToDatetime(tzinfo=UTC),
                "invoice": m.invoice_id,
                "amount": m.amount,
                "reversed": False,
                "cashless": Channel.Name(m.channel) in CASHLESS_CHANNELS,
            }
        elif isinstance(m, PaymentReversed) and m.payment_id in payments:
            payments[m.payment_id]["reversed"] = True
    by_invoice: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in payments.values():
        if not p["reversed"]:
            by_invoice[p["invoice"]].append(p)
    facts = []
    for invoice_id, inv in invoices.items():
        if inv["cancelled"]:
            continue
        paid = sorted(by_invoice[invoice_id], key=lambda p: (p["at"], p["id"]))
        facts.append(
            InvoiceFacts(
                invoice_id=invoice_id,
                school_id=inv["school"],
                student_id=inv["student"],
                period=inv["period"],
                due_date=inv["due"],
                fees=dict(inv["fees"]),
                total=inv["total"],
                paid=tuple((p["amount"], p["cashless"]) for p in paid),
            )
        )
    return facts


@dataclass(frozen=True)
class Difference:
    from_events: int
    shown: int


@dataclass(frozen=True, kw_only=True)
class Consistency:
    school_id: str
    events: int
    differences: dict[str, Difference]
    figures: Figures

    @property
    def consistent(self) -> bool:
        return not self.differences


async def check_school(pool: asyncpg.Pool, school_id: str, today: date) -> Consistency:
    envelopes = await figures_store.logged_envelopes(pool, school_id)
    recomputed = figures_of(replay(envelopes), today=today)
    projected = await figures_store.totals(pool, Scope(school=school_id), today)
    differences = {
        k: Difference(getattr(recomputed, k), getattr(projected, k))
        for k in COMPARED
        if getattr(recomputed, k) != getattr(projected, k)
    }
    return Consistency(school_id=school_id, events=len(envelopes), differences=differences, figures=projected)
