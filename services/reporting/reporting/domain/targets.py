"""The plans' targets as data, and each figure judged against its own. Pure.

A district sets, per school year, a target for each indicator (e.g. 85% of the amount cashless in
2023-2024, 100% from 2029-2030); a school may have its own. A target holds from its school year until a later
one replaces it; with none set, the national target holds (100%; 99% of pupils with a personal ID).

The target a period is judged against is the one in force in the school year of the period's last month: a
month or quarter by its last month, a school year itself, a calendar year by its December. A figure with
nothing to measure (no invoice, no collection, no payment) is not judged. Comparisons are exact (integers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reporting.domain.figures import school_year_of
from reporting.domain.scope import period_kind

# indicator → (its name in the plans, what the national target is, in basis points)
INDICATORS: dict[str, tuple[str, int]] = {
    "collection": ("Tỷ lệ thu (số tiền đã thu / phải thu)", 10_000),
    "cashless_amount": ("Tỷ lệ thu không dùng tiền mặt theo số tiền", 10_000),
    "cashless_count": ("Tỷ lệ thu không dùng tiền mặt theo số giao dịch", 10_000),
    "schools_accepting": ("Tỷ lệ trường chấp nhận thanh toán không dùng tiền mặt", 10_000),
    "personal_id": ("Tỷ lệ học sinh có mã định danh cá nhân hợp lệ", 9_900),
}
# As a table's cell names them ("below target: thu, KDTM số tiền").
SHORT_NAMES = {
    "collection": "thu",
    "cashless_amount": "KDTM số tiền",
    "cashless_count": "KDTM số GD",
    "schools_accepting": "trường chấp nhận KDTM",
    "personal_id": "mã định danh",
}
NATIONAL = "Mục tiêu chung (chưa có kế hoạch của địa phương)"


@dataclass(frozen=True, kw_only=True)
class Target:
    indicator: str
    school_year: str  # in force from this school year on
    target_bp: int  # basis points: 8,500 = 85%
    source: str  # the plan that sets it, e.g. "Kế hoạch 123/KH-UBND ngày 15/8/2023, mục II.2"
    school_id: str = ""  # "" = every school of the district

    @property
    def pct(self) -> float:
        return self.target_bp / 100


def school_year_judged(period: str | None, today: date) -> str:
    """The school year whose target a period is judged against (see the module's rule)."""
    kind = period_kind(period)
    if period is None:
        return school_year_of(f"{today:%Y-%m}")
    if kind == "school_year":
        return period
    if kind == "year":
        return school_year_of(f"{period}-12")
    if kind == "quarter":
        year, q = period.split("-Q")
        return school_year_of(f"{year}-{3 * int(q):02d}")
    return school_year_of(period)


class Plan:
    """A district's targets: which one holds for a school in a school year, and the trajectory."""

    def __init__(self, targets: list[Target]) -> None:
        self.targets = sorted(targets, key=lambda t: (t.indicator, t.school_id, t.school_year))

    def target(self, indicator: str, school_year: str, school_id: str = "") -> Target:
        for scope in (school_id, "") if school_id else ("",):
            held = [t for t in self.targets if t.indicator == indicator and t.school_id == scope]
            held = [t for t in held if t.school_year <= school_year]
            if held:
                return held[-1]
        return Target(indicator=indicator, school_year=school_year, target_bp=INDICATORS[indicator][1], source=NATIONAL)

    def trajectory(self, school_id: str = "") -> list[Target]:
        """The dated steps set for the district (and for the school, when one is named), in order."""
        return [t for t in self.targets if t.school_id in ("", school_id)]


def below(numerator: int, denominator: int, target: Target) -> bool | None:
    """Whether numerator/denominator is below the target; None when there is nothing to measure."""
    if denominator <= 0:
        return None
    return numerator * 10_000 < denominator * target.target_bp


def judge(plan: Plan, school_year: str, measures: dict[str, tuple[int, int]], school_id: str = "") -> dict[str, object]:
    """Each measured indicator (numerator, denominator) against its own target: the targets in percent and
    the list of indicators below theirs."""
    targets = {k: plan.target(k, school_year, school_id) for k in measures}
    return {
        "targets": {k: t.pct for k, t in targets.items()},
        "below_target": sorted(k for k, (n, d) in measures.items() if below(n, d, targets[k])),
    }
