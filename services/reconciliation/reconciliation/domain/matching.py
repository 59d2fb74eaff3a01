"""How a credit is placed: one decision per credit, with the reason, never a guess. Pure.

Order of evidence (issue 5): a per-student virtual account; then valid payment references in the memo
(check character verified); then, with no valid reference, the student code plus an amount equal to
that student's open invoice, a family's open invoices summing exactly to the credit, and the payer
account already seen paying for a student. Anything else goes to the accountant with what was read.
Amounts: exact → matched; less → partial; more → the invoice is paid and the rest waits as a credit
balance (overpaid); a credit for an invoice already paid → duplicate.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from reconciliation.domain.memo import MemoReading


class State(StrEnum):
    MATCHED = "matched"
    PARTIAL = "partial"
    OVERPAID = "overpaid"
    DUPLICATE = "duplicate"
    UNMATCHED = "unmatched"
    AMBIGUOUS = "ambiguous"
    RESOLVED = "resolved"  # settled by the accountant
    CREDIT_BALANCE = "credit_balance"  # an excess kept for the family's next invoice
    WITHDRAWN = "withdrawn"  # a cash entry recorded by mistake, taken back (kept for the audit)


EXCEPTION_STATES = (State.UNMATCHED, State.AMBIGUOUS, State.OVERPAID, State.DUPLICATE)


@dataclass(kw_only=True)
class OpenInvoice:
    invoice_id: uuid.UUID
    student_id: uuid.UUID
    student_code: str
    student_name: str
    family_key: str
    reference: str
    total: int
    allocated: int
    due_date: date
    cancelled: bool = False
    virtual_account: str | None = None

    @property
    def outstanding(self) -> int:
        return 0 if self.cancelled else max(self.total - self.allocated, 0)


@dataclass
class Book:
    """The invoices a decision may touch. Decisions applied to it (`apply`) are seen by the next credit."""

    invoices: dict[uuid.UUID, OpenInvoice] = field(default_factory=dict)
    groups: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    students_by_payer: dict[str, set[uuid.UUID]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_ref: dict[str, OpenInvoice] = {}
        self._by_student: dict[uuid.UUID, list[OpenInvoice]] = defaultdict(list)
        self._by_code: dict[str, set[uuid.UUID]] = defaultdict(set)
        self._by_family: dict[str, list[OpenInvoice]] = defaultdict(list)
        self._by_virtual: dict[str, set[uuid.UUID]] = defaultdict(set)
        for inv in self.invoices.values():
            self._index(inv)

    def _index(self, inv: OpenInvoice) -> None:
        self._by_ref[inv.reference] = inv
        self._by_student[inv.student_id].append(inv)
        self._by_code[inv.student_code.upper()].add(inv.student_id)
        self._by_family[inv.family_key].append(inv)
        if inv.virtual_account:
            self._by_virtual[inv.virtual_account].add(inv.student_id)

    def add(self, inv: OpenInvoice) -> None:
        self.invoices[inv.invoice_id] = inv
        self._index(inv)

    def by_reference(self, ref: str) -> list[OpenInvoice]:
        if ref in self.groups:
            return [self.invoices[i] for i in self.groups[ref] if i in self.invoices]
        inv = self._by_ref.get(ref)
        return [inv] if inv else []

    def of_students(self, students: set[uuid.UUID]) -> list[OpenInvoice]:
        return _ordered([inv for s in students for inv in self._by_student.get(s, [])])

    def students_with_code(self, code: str) -> set[uuid.UUID]:
        return self._by_code.get(code, set())

    def students_with_virtual_account(self, account: str) -> set[uuid.UUID]:
        return self._by_virtual.get(account, set())

    def family_of(self, students: set[uuid.UUID]) -> list[OpenInvoice]:
        families = {inv.family_key for s in students for inv in self._by_student.get(s, [])}
        return _ordered([inv for f in families for inv in self._by_family.get(f, [])])

    def apply(self, decision: Decision) -> None:
        for a in decision.allocations:
            self.invoices[a.invoice_id].allocated += a.amount


def _ordered(invoices: list[OpenInvoice]) -> list[OpenInvoice]:
    return sorted({i.invoice_id: i for i in invoices}.values(), key=lambda i: (i.due_date, i.reference))


@dataclass(frozen=True)
class Allocation:
    invoice_id: uuid.UUID
    amount: int


@dataclass(frozen=True)
class Decision:
    state: State
    reason_code: str
    allocations: tuple[Allocation, ...] = ()
    candidates: tuple[uuid.UUID, ...] = ()

    @property
    def allocated(self) -> int:
        return sum(a.amount for a in self.allocations)


@dataclass(frozen=True)
class CreditFacts:
    amount: int
    reading: MemoReading
    virtual_account: str = ""
    payer_account: str = ""


def _pay_in_order(invoices: list[OpenInvoice], amount: int, reason: str, *, all_or_nothing: bool = False) -> Decision:
    """Oldest due first; partial on the last; excess stays on the credit."""
    open_ = [i for i in invoices if i.outstanding > 0]
    if not open_:
        if all(i.cancelled for i in invoices):
            return Decision(State.UNMATCHED, "invoice_cancelled", candidates=tuple(i.invoice_id for i in invoices))
        return Decision(State.DUPLICATE, "already_paid", candidates=tuple(i.invoice_id for i in invoices))
    owed = sum(i.outstanding for i in open_)
    if all_or_nothing and amount < owed:
        return Decision(State.AMBIGUOUS, reason + "_short", candidates=tuple(i.invoice_id for i in open_))
    remaining, allocations = amount, []
    for inv in open_:
        if remaining == 0:
            break
        part = min(inv.outstanding, remaining)
        allocations.append(Allocation(inv.invoice_id, part))
        remaining -= part
    if amount == owed:
        state = State.MATCHED
    elif amount < owed:
        state = State.PARTIAL
    else:
        state = State.OVERPAID
    return Decision(state, reason, tuple(allocations))


# A transfer may settle any subset of a family's (or a pupil's) open invoices, as long as exactly one subset
# adds up to it; searched only among this many open invoices (2**5 subsets), as large payment systems do.
SUBSET_LIMIT = 5


def _exact(invoices: list[OpenInvoice], amount: int, reason: str, sum_reason: str) -> Decision | None:
    """Only an exact amount: one open invoice equal to it, all open invoices summing to it, or (among at most
    SUBSET_LIMIT) exactly one subset summing to it; several equal candidates are ambiguous, never a guess."""
    open_ = [i for i in invoices if i.outstanding > 0]
    single = [i for i in open_ if i.outstanding == amount]
    if len(single) == 1:
        return Decision(State.MATCHED, reason, (Allocation(single[0].invoice_id, amount),))
    if len(single) > 1:
        return Decision(State.AMBIGUOUS, reason + "_several", candidates=tuple(i.invoice_id for i in single))
    if len(open_) > 1 and sum(i.outstanding for i in open_) == amount:
        return Decision(State.MATCHED, sum_reason, tuple(Allocation(i.invoice_id, i.outstanding) for i in open_))
    if 2 < len(open_) <= SUBSET_LIMIT:
        return _subset(open_, amount, sum_reason)
    return None


def _subset(open_: list[OpenInvoice], amount: int, sum_reason: str) -> Decision | None:
    fits = [
        combo
        for size in range(2, len(open_))
        for combo in itertools.combinations(open_, size)
        if sum(i.outstanding for i in combo) == amount
    ]
    if len(fits) == 1:
        return Decision(
            State.MATCHED, sum_reason + "_subset", tuple(Allocation(i.invoice_id, i.outstanding) for i in fits[0])
        )
    if fits:
        ids = tuple(dict.fromkeys(i.invoice_id for combo in fits for i in combo))
        return Decision(State.AMBIGUOUS, sum_reason + "_several", candidates=ids)
    return None


def decide(credit: CreditFacts, book: Book) -> Decision:
    amount, reading = credit.amount, credit.reading
    if credit.virtual_account:
        students = book.students_with_virtual_account(credit.virtual_account)
        if students:
            return _pay_in_order(book.of_students(students), amount, "virtual_account")
    targets: list[OpenInvoice] = []
    group_ref = False
    for ref in reading.references:
        found = book.by_reference(ref)
        targets.extend(found)
        group_ref = group_ref or ref in book.groups
    targets = _ordered(targets)
    if targets:
        if len(targets) == 1 or group_ref:
            return _pay_in_order(targets, amount, "group_reference" if group_ref else "reference")
        # Several references of single invoices: only when the amount settles exactly what they name.
        return _pay_in_order(targets, amount, "references", all_or_nothing=True)
    candidates: list[OpenInvoice] = []
    students = {s for n in reading.numbers for s in book.students_with_code(n)}
    payer_students = book.students_by_payer.get(credit.payer_account, set()) if credit.payer_account else set()
    for whose, reasons in (
        (students, ("student_code_amount", "student_codes_sum", "family_sum", "family_sum")),
        (payer_students, ("payer_history", "payer_history", "payer_history_family", "payer_history_family")),
    ):
        if not whose:
            continue
        exact = _exact(book.of_students(whose), amount, *reasons[:2]) or _exact(
            book.family_of(whose), amount, *reasons[2:]
        )
        if exact:
            return exact
        candidates += book.of_students(whose)
    reason = (
        "reference_check_failed"
        if reading.near_misses
        else ("reference_unknown" if reading.references else "no_reference")
    )
    open_candidates = tuple(dict.fromkeys(i.invoice_id for i in candidates if i.outstanding > 0))
    if open_candidates:
        return Decision(State.AMBIGUOUS, reason, candidates=open_candidates)
    return Decision(State.UNMATCHED, reason)
