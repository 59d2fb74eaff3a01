"""What a figure is asked for: a district or a school, a month, quarter or school year, a fee type."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.errors import Invalid


class ScopeError(Invalid, ValueError):
    pass


def _valid_period(period: str) -> bool:
    """A month 01-12, a quarter, two consecutive years of a school year, or a year (ASCII digits only)."""
    m = re.fullmatch(r"([0-9]{4})(?:-(?:(0[1-9]|1[0-2])|Q[1-4]|([0-9]{4})))?", period)
    return m is not None and (m.group(3) is None or int(m.group(3)) == int(m.group(1)) + 1)


def period_kind(period: str | None) -> str:
    """What a (valid) period is, named after the projection's column it filters on: `period` (a month, and
    no period at all), `quarter`, `school_year` or `year`."""
    if period is None or re.fullmatch(r"\d{4}-\d{2}", period):
        return "period"
    if len(period) == 4:
        return "year"
    return "quarter" if "Q" in period else "school_year"


@dataclass(frozen=True)
class Scope:
    district: str | None = None
    school: str | None = None
    period: str | None = None  # YYYY-MM, YYYY-Qn, school year YYYY-YYYY or calendar year YYYY
    fee_type: str | None = None

    def __post_init__(self) -> None:
        if self.period is not None and not _valid_period(self.period):
            raise ScopeError(
                f"Kỳ phải là một tháng (2026-09), một quý (2026-Q3), một năm học (2026-2027) hoặc một năm (2026); "
                f"nhận được {self.period!r}."
            )

    @property
    def period_kind(self) -> str:
        """The projection's column the period filters on: `period` (a month), `quarter`, `school_year` or `year`."""
        return period_kind(self.period)
