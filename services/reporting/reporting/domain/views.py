"""What the dashboard shows: figures judged against their targets, per school, fee type, grade, class and
month, and the district's and a school's views that hold them. Pure; the routes turn them into answers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import cast

from reporting.domain.figures import Figures, percent
from reporting.domain.targets import Plan, Target, judge


@dataclass(kw_only=True)
class Judged(Figures):
    """Figures with the target in force for each indicator, and the indicators below theirs."""

    targets: dict[str, float] = field(default_factory=dict)
    below_target: list[str] = field(default_factory=list)


def judged(f: Figures, plan: Plan, year: str, school_id: str = "", **more: tuple[int, int]) -> Judged:
    """The figures with each rate against its own target (the money rates and any `more` indicator)."""
    verdict = judge(plan, year, f.measures() | more, school_id)
    return Judged(
        **{x.name: getattr(f, x.name) for x in fields(Figures)},
        targets=cast(dict[str, float], verdict["targets"]),
        below_target=cast(list[str], verdict["below_target"]),
    )


@dataclass(frozen=True, kw_only=True)
class PersonalIds:
    students_enrolled: int
    students_with_personal_id: int

    @property
    def personal_id_share_pct(self) -> float | None:
        return percent(self.students_with_personal_id, self.students_enrolled)

    @property
    def measured(self) -> tuple[int, int]:
        return self.students_with_personal_id, self.students_enrolled


@dataclass(kw_only=True)
class WithIds(Judged):
    """Judged figures with their pupils' personal IDs (shown as three figures of their own)."""

    ids: PersonalIds

    @property
    def students_enrolled(self) -> int:
        return self.ids.students_enrolled

    @property
    def students_with_personal_id(self) -> int:
        return self.ids.students_with_personal_id

    @property
    def personal_id_share_pct(self) -> float | None:
        return self.ids.personal_id_share_pct


@dataclass(kw_only=True)
class SchoolFigures(WithIds):
    """One school of the district table."""

    school_id: str
    name: str
    ownership: str
    has_account: bool
    accepts_cashless: bool


@dataclass(kw_only=True)
class Totals(WithIds):
    """A school's or the district's totals, with its pupils' personal IDs."""


@dataclass(kw_only=True)
class DistrictTotals(Totals):
    schools: int
    schools_accepting_cashless: int

    @property
    def schools_accepting_pct(self) -> float | None:
        return percent(self.schools_accepting_cashless, self.schools)


@dataclass(kw_only=True)
class Grouped(Judged):
    """The figures of one fee type, grade, class or month (`key`)."""

    key: str

    @property
    def category(self) -> str:
        return self.key

    @property
    def grade(self) -> str:
        return self.key

    @property
    def class_name(self) -> str:
        return self.key

    @property
    def period(self) -> str:
        return self.key


@dataclass(frozen=True, kw_only=True)
class Exemption:
    policy_category: str
    category: str
    students: int
    reduction: int


@dataclass(frozen=True, kw_only=True)
class Refunds:
    count: int
    amount: int


@dataclass(frozen=True, kw_only=True)
class Step:
    """A dated target of the plan, as the dashboard lists it."""

    target: Target

    @property
    def indicator(self) -> str:
        return self.target.indicator

    @property
    def school_year(self) -> str:
        return self.target.school_year

    @property
    def target_pct(self) -> float:
        return self.target.pct

    @property
    def source(self) -> str:
        return self.target.source

    @property
    def school_id(self) -> str | None:
        return self.target.school_id or None


@dataclass(frozen=True, kw_only=True)
class DistrictView:
    district: str
    period: str | None
    fee_type: str | None
    school_year: str
    totals: DistrictTotals
    schools: list[SchoolFigures]
    trajectory: list[Step]
    exemptions: list[Exemption]
    refunds: Refunds


@dataclass(frozen=True, kw_only=True)
class SchoolView:
    school_id: str
    name: str
    period: str | None
    fee_type: str | None
    school_year: str
    totals: Totals
    by_fee_type: list[Grouped]
    by_grade: list[Grouped]
    by_class: list[Grouped]
    trajectory: list[Step]
    exemptions: list[Exemption]
    refunds: Refunds
