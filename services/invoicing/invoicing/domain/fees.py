"""Fee schedules, exemption policies and how one student's invoice lines are priced. Pure, no I/O.

Rules (Decree 238/2025/NĐ-CP replaced Decrees 81/2021 and 97/2023 for tuition exemption, reduction and
support from 3 September 2025; Resolution 217/2025/QH15 exempts public tuition from school year 2025–26):
- an item's amount is the class rate, else the grade rate, else the school-wide rate; no rate → not billed;
- per-day items (meals, bán trú) cost rate × school days of the period;
- exemptions, reductions and state support are dated rules (`Policy`): a percentage or a fixed amount of a
  fee category, optionally capped, for the pupils of a policy category or for every pupil (`everyone`),
  optionally only at public or only at private schools, each citing its article. Public preschool and
  general-education tuition is such a rule (every pupil, public schools, 100%, from 2025-09-01, category
  STATE_FUNDED); private-school tuition support is another (every pupil, private schools, a fixed amount
  up to the line: the level the provincial council sets, category STATE_SUPPORT);
- a change of the law is a new rule: for the same category, fee category, scope (national or the
  school's) and ownership, the rule in force with the latest start replaces the earlier ones from its date;
- where several rules apply, the learner gets the highest reduction (a tie goes to the rule for everyone);
  a reduction never exceeds the line;
- an item flagged `state_funded` is paid by the state in full whatever the rules (kept for schools that
  flag it themselves).
Percentage reductions are rounded down to the đồng (the parent pays the rounding, the state claim is
never overstated).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Protocol

from shared.errors import Invalid


class FeeCategory(StrEnum):
    TUITION = "tuition"
    MEALS = "meals"
    SERVICES = "services"
    INSURANCE = "insurance"
    EXTRA_CLASSES = "extra_classes"
    OTHER = "other"


class Cadence(StrEnum):
    MONTHLY = "monthly"
    SEMESTER = "semester"
    YEARLY = "yearly"
    ONE_OFF = "one_off"


STATE_FUNDED = "STATE_FUNDED"
STATE_SUPPORT = "STATE_SUPPORT"
# Categories of rules for every pupil of a school (public tuition exemption, private tuition support): never
# a pupil's own category on a roster.
EVERY_PUPIL = frozenset({STATE_FUNDED, STATE_SUPPORT})
# Billing months of a Vietnamese school year (September to May); semesters start in September and January.
SCHOOL_MONTHS = (9, 10, 11, 12, 1, 2, 3, 4, 5)
SEMESTER_MONTHS = (9, 1)
YEAR_MONTH = 9


class FeeError(Invalid, ValueError):
    """A fee schedule or period the rules refuse; the message says which rule."""


@dataclass(frozen=True, order=True)
class Period:
    """A monthly billing period, "YYYY-MM"."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise FeeError(f"Kỳ thu phải có dạng năm-tháng, ví dụ 2026-09 (nhận được {text!r}).")
        return cls(int(m.group(1)), int(m.group(2)))

    @property
    def code(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def school_year(self) -> str:
        first = self.year if self.month >= 8 else self.year - 1
        return f"{first}-{first + 1}"


@dataclass(frozen=True)
class Rate:
    amount: int
    grade: str | None = None
    class_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class FeeItem:
    code: str
    name: str
    category: FeeCategory
    cadence: Cadence
    rates: tuple[Rate, ...]
    per_day: bool = False
    state_funded: bool = False
    one_off_period: str | None = None

    def __post_init__(self) -> None:
        if any(r.amount < 0 for r in self.rates):
            raise FeeError(f"Khoản thu {self.code}: mức thu không được âm.")
        if self.cadence is Cadence.ONE_OFF and not self.one_off_period:
            raise FeeError(f"Khoản thu {self.code}: khoản thu một lần cần kỳ thu (tháng) của nó.")

    def rate_for(self, grade: str, class_name: str) -> int | None:
        by_class = [r.amount for r in self.rates if r.class_name == class_name]
        if by_class:
            return by_class[0]
        by_grade = [r.amount for r in self.rates if r.grade == grade and r.class_name is None]
        if by_grade:
            return by_grade[0]
        default = [r.amount for r in self.rates if r.grade is None and r.class_name is None]
        return default[0] if default else None

    def billed_in(self, period: Period) -> bool:
        if self.cadence is Cadence.MONTHLY:
            return period.month in SCHOOL_MONTHS
        if self.cadence is Cadence.SEMESTER:
            return period.month in SEMESTER_MONTHS
        if self.cadence is Cadence.YEARLY:
            return period.month == YEAR_MONTH
        return self.one_off_period == period.code


class ReductionKind(StrEnum):
    PERCENT = "percent"
    FIXED = "fixed"


@dataclass(frozen=True, kw_only=True)
class Policy:
    """An exemption or reduction for learners of one policy category on one fee category."""

    category: str  # policy category code, e.g. HO_NGHEO
    fee_category: FeeCategory
    kind: ReductionKind
    value: int  # percent (0–100) or đồng
    effective_from: date
    effective_to: date | None = None
    legal_basis: str = ""
    everyone: bool = False  # every pupil, whatever their categories
    ownership: str | None = None  # only schools of this ownership ("public", "private")
    cap: int | None = None  # the most it reduces a line by (support up to an amount)
    article: str = ""  # the article of the law it applies, cited on the rule
    school_specific: bool = False  # a school's own rule (else national)

    def __post_init__(self) -> None:
        if self.kind is ReductionKind.PERCENT and not 0 <= self.value <= 100:
            raise FeeError(f"Chính sách {self.category}: tỷ lệ miễn giảm phải từ 0 đến 100 (nhận được {self.value}).")
        if self.value < 0:
            raise FeeError(f"Chính sách {self.category}: mức giảm không được âm.")

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def applies(self, fee: FeeCategory, categories: Collection[str], ownership: str, on: date) -> bool:
        return (
            self.fee_category is fee
            and (self.everyone or self.category in categories)
            and (self.ownership is None or self.ownership == ownership)
            and self.in_force(on)
        )

    @property
    def lineage(self) -> tuple[object, ...]:
        """Rules of one lineage replace one another by date."""
        return (self.category, self.fee_category, self.school_specific, self.ownership, self.everyone)

    def reduction(self, amount: int) -> int:
        reduced = amount * self.value // 100 if self.kind is ReductionKind.PERCENT else self.value
        return min(reduced, amount, self.cap if self.cap is not None else amount)


@dataclass(frozen=True, kw_only=True)
class Line:
    item_code: str
    name: str
    category: FeeCategory
    quantity: int
    unit_amount: int
    list_amount: int
    reduction: int
    policy_category: str | None
    amount: int  # what the parent owes for this line

    @property
    def state_funded(self) -> bool:
        return self.policy_category == STATE_FUNDED


class Billed(Protocol):
    """A pupil about to be billed, as the preview counts them."""

    @property
    def class_name(self) -> str: ...

    @property
    def student_code(self) -> str: ...


def preview_totals(billed: Sequence[tuple[Billed, Sequence[Line]]]) -> dict[str, list[dict[str, Any]]]:
    """Totals of the invoices a period would create: per class, per fee item, per exemption category."""
    by_class: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_item: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    by_policy: dict[str, list[Any]] = defaultdict(lambda: [set(), 0])
    for pupil, lines in billed:
        by_class[pupil.class_name][0] += 1
        for ln in lines:
            by_class[pupil.class_name][1] += ln.amount
            item = by_item[(ln.item_code, ln.name)]
            item[0] += ln.list_amount
            item[1] += ln.reduction
            item[2] += ln.amount
            if ln.reduction and ln.policy_category:
                by_policy[ln.policy_category][0].add(pupil.student_code)
                by_policy[ln.policy_category][1] += ln.reduction
    return {
        "by_class": [{"class_name": k, "invoices": v[0], "total": v[1]} for k, v in sorted(by_class.items())],
        "by_item": [
            {"item_code": c, "name": n, "list_amount": v[0], "reduction": v[1], "amount": v[2]}
            for (c, n), v in sorted(by_item.items())
        ],
        "exemptions": [
            {"policy_category": k, "students": len(v[0]), "reduction": v[1]} for k, v in sorted(by_policy.items())
        ],
    }


def rules_in_force(
    policies: Iterable[Policy], fee: FeeCategory, categories: Collection[str], ownership: str, on: date
) -> list[Policy]:
    """The rules that apply to a pupil's line on a date: of each lineage, the latest in force."""
    latest: dict[tuple[object, ...], Policy] = {}
    for policy in policies:
        if policy.applies(fee, categories, ownership, on):
            held = latest.get(policy.lineage)
            if held is None or policy.effective_from >= held.effective_from:
                latest[policy.lineage] = policy
    return list(latest.values())


def _best_reduction(
    item: FeeItem,
    list_amount: int,
    policies: Iterable[Policy],
    categories: Collection[str],
    on: date,
    ownership: str,
) -> tuple[int, str | None]:
    """The largest reduction the rules give on the item, and the category giving it."""
    best, best_policy, best_everyone = 0, None, False
    for policy in rules_in_force(policies, item.category, categories, ownership, on):
        reduction = policy.reduction(list_amount)
        if reduction > 0 and (reduction > best or (reduction == best and policy.everyone and not best_everyone)):
            best, best_policy, best_everyone = reduction, policy.category, policy.everyone
    return best, best_policy


def price_student(
    *,
    grade: str,
    class_name: str,
    categories: frozenset[str],
    items: list[FeeItem],
    policies: list[Policy],
    period: Period,
    school_days: int,
    ownership: str = "public",
) -> list[Line]:
    """The invoice lines of one student for one period (empty when nothing is billed)."""
    if school_days < 0:
        raise FeeError("Số ngày học không được âm.")
    on = period.start
    lines = []
    for item in items:
        if not item.billed_in(period):
            continue
        rate = item.rate_for(grade, class_name)
        if rate is None:
            continue
        quantity = school_days if item.per_day else 1
        list_amount = rate * quantity
        best: int
        best_policy: str | None
        if item.state_funded:
            best, best_policy = list_amount, STATE_FUNDED
        else:
            best, best_policy = _best_reduction(item, list_amount, policies, categories, on, ownership)
        lines.append(
            Line(
                item_code=item.code,
                name=item.name,
                category=item.category,
                quantity=quantity,
                unit_amount=rate,
                list_amount=list_amount,
                reduction=best,
                policy_category=best_policy,
                amount=list_amount - best,
            )
        )
    return lines
