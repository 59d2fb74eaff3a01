"""The figures the district watches, and how an invoice's collection splits over fee types. Pure.

Definitions (shown on the dashboard and in exports):
- invoiced: what the (non-cancelled) invoices of the scope ask, by fee type;
- collected: what was paid on them, capped at each invoice's total (an excess is a credit balance, not a
  fee collected);
- each đồng counts by the channel that paid it: an invoice's payments fill it in the order they were made
  (time paid, then payment id), and what comes after the total is reached is the excess, not collected.
  An invoice of 1,000,000 paid 400,000 in cash and then 700,000 by transfer has collected 400,000 cash and
  600,000 cashless (the last 100,000 transferred is a balance). Reversed payments are left out;
- a payment is attributed to its invoice's billing period (month → quarter → school year);
- an invoice's collection splits over its fee types in proportion to their amounts, largest remainder,
  so the fee types add up to the invoice to the đồng;
- collection rate = collected / invoiced; cashless share = cashless / collected (by amount) and
  cashless payments / payments (by number);
- each figure is judged against its own target (`reporting.domain.targets`), never a mix of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from shared.money import allocate

CASHLESS_CHANNELS = {"BANK_TRANSFER", "VIETQR", "CARD", "E_WALLET"}


def split(amount: int, weights: dict[str, int]) -> dict[str, int]:
    """`amount` over `weights` proportionally (largest remainder, a tie to the first key in sorted order);
    never more than a weight when amount ≤ sum."""
    keys = sorted(weights)
    parts = dict(zip(keys, allocate(amount, [weights[k] for k in keys]), strict=True))
    return {k: parts[k] for k in weights}


def counted(total: int, paid: Sequence[tuple[int, bool]]) -> tuple[int, int]:
    """(collected, of which cashless) of an invoice from its payments `(amount, cashless)` in the order paid:
    each payment fills what is still owed; the part past the total is excess and counts for neither."""
    collected = cashless = 0
    for amount, is_cashless in paid:
        take = max(min(amount, total - collected), 0)
        collected += take
        cashless += take if is_cashless else 0
    return collected, cashless


def invoice_collection(
    fees: dict[str, int], total: int, paid: Sequence[tuple[int, bool]]
) -> dict[str, tuple[int, int]]:
    """Per fee type: (collected, of which cashless); `paid` is the invoice's payments in the order paid."""
    collected, cashless = counted(max(total, 0), paid)
    by_fee = split(collected, fees)
    by_fee_cashless = split(cashless, by_fee)
    return {k: (by_fee[k], by_fee_cashless[k]) for k in fees}


def percent(numerator: int, denominator: int) -> float | None:
    """A share in percent with one decimal, as shown; None when there is nothing to measure."""
    return round(100 * numerator / denominator, 1) if denominator else None


def quarter_of(period: str) -> str:
    year, month = period.split("-")
    return f"{year}-Q{(int(month) - 1) // 3 + 1}"


def school_year_of(period: str) -> str:
    """The school year (September to August) a month "YYYY-MM" belongs to: "2026-09" → "2026-2027"."""
    year, month = (int(x) for x in period.split("-"))
    first = year if month >= 9 else year - 1
    return f"{first}-{first + 1}"


@dataclass(kw_only=True)
class Figures:
    invoiced: int = 0
    collected: int = 0
    cashless: int = 0
    overdue: int = 0
    students: int = 0
    students_fully_paid: int = 0
    payments: int = 0
    cashless_payments: int = 0
    invoices: int = 0

    @property
    def cash(self) -> int:
        return self.collected - self.cashless

    @property
    def outstanding(self) -> int:
        return self.invoiced - self.collected

    @property
    def collection_rate_pct(self) -> float | None:
        return percent(self.collected, self.invoiced)

    @property
    def cashless_share_pct(self) -> float | None:
        return percent(self.cashless, self.collected)

    @property
    def cashless_share_by_count_pct(self) -> float | None:
        return percent(self.cashless_payments, self.payments)

    def measures(self) -> dict[str, tuple[int, int]]:
        """The plans' rates as exact fractions (numerator, denominator), by indicator."""
        return {
            "collection": (self.collected, self.invoiced),
            "cashless_amount": (self.cashless, self.collected),
            "cashless_count": (self.cashless_payments, self.payments),
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "invoiced": self.invoiced,
            "collected": self.collected,
            "cashless": self.cashless,
            "cash": self.cash,
            "outstanding": self.outstanding,
            "overdue": self.overdue,
            "invoices": self.invoices,
            "students": self.students,
            "students_fully_paid": self.students_fully_paid,
            "payments": self.payments,
            "cashless_payments": self.cashless_payments,
            "collection_rate_pct": self.collection_rate_pct,
            "cashless_share_pct": self.cashless_share_pct,
            "cashless_share_by_count_pct": self.cashless_share_by_count_pct,
        }


@dataclass(frozen=True, kw_only=True)
class InvoiceFacts:
    """One invoice with what was paid on it, as the check recomputes it from events."""

    invoice_id: str
    school_id: str
    student_id: str
    period: str
    due_date: date
    fees: dict[str, int]
    total: int
    paid: tuple[tuple[int, bool], ...]  # (amount, cashless) of each payment in force, in the order paid

    @property
    def payments(self) -> int:
        return len(self.paid)

    @property
    def cashless_payments(self) -> int:
        return sum(cashless for _, cashless in self.paid)


def figures_of(invoices: list[InvoiceFacts], *, today: date, fee_type: str | None = None) -> Figures:
    f = Figures()
    students: dict[str, bool] = {}
    for inv in invoices:
        split_ = invoice_collection(inv.fees, inv.total, inv.paid)
        cats = [c for c in inv.fees if fee_type is None or c == fee_type]
        invoiced = sum(inv.fees[c] for c in cats)
        collected = sum(split_[c][0] for c in cats)
        f.invoiced += invoiced
        f.collected += collected
        f.cashless += sum(split_[c][1] for c in cats)
        if inv.due_date < today:
            f.overdue += invoiced - collected
        f.invoices += 1
        f.payments += inv.payments
        f.cashless_payments += inv.cashless_payments
        paid_up = sum(v[0] for v in split_.values()) >= inv.total
        students[inv.student_id] = students.get(inv.student_id, True) and paid_up
    f.students = len(students)
    f.students_fully_paid = sum(students.values())
    return f
