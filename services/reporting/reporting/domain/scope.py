"""What a figure is asked for: a district or a school, a month, quarter or school year, a fee type."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.errors import Invalid


class ScopeError(Invalid, ValueError):
    pass


@dataclass(frozen=True)
class Scope:
    district: str | None = None
    school: str | None = None
    period: str | None = None  # YYYY-MM, YYYY-Qn, school year YYYY-YYYY or calendar year YYYY
    fee_type: str | None = None

    def __post_init__(self) -> None:
        if self.period and not re.fullmatch(r"\d{4}(-(\d{2}|Q[1-4]|\d{4}))?", self.period):
            raise ScopeError(
                f"period must be a month YYYY-MM, a quarter YYYY-Qn, a school year YYYY-YYYY or a calendar year YYYY, "
                f"got {self.period!r}"
            )

    @property
    def period_kind(self) -> str:
        """The projection's column the period filters on: `period` (a month), `quarter`, `school_year` or `year`."""
        if self.period is None or re.fullmatch(r"\d{4}-\d{2}", self.period):
            return "period"
        if len(self.period) == 4:
            return "year"
        return "quarter" if "Q" in self.period else "school_year"
