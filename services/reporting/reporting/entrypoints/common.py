"""What the reporting routes share: the district office's and planner's permissions, the figures' models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends
from pydantic import Field

from reporting.domain.scope import Scope
from shared.auth import (
    DistrictReader,
    Principal,
    Role,
)
from shared.errors import Forbidden
from shared.formatting import VN
from shared.schemas import Out

FeeType = Literal["tuition", "meals", "services", "insurance", "extra_classes", "other", "adjustment"]


Indicator = Literal["collection", "cashless_amount", "cashless_count", "schools_accepting", "personal_id"]


class _Target(Out):
    indicator: Indicator
    target_pct: float
    source: str = Field(description="the plan that sets it")
    school_id: str | None = Field(description="the one school it is for; none: every school of the district")


def today() -> date:
    return datetime.now(VN).date()


def _scope(**kwargs: Any) -> Scope:
    return Scope(**kwargs)


async def _district_office(district: str, p: DistrictReader) -> Principal:
    """The district's own office (or a service): checked before the request's parameters, so a stranger learns
    nothing from their validation."""
    if p.role is Role.SERVICE or (p.role in (Role.DISTRICT, Role.AUDITOR) and p.district and p.district == district):
        return p
    raise Forbidden(f"Tài khoản này không làm việc với {district}.")


DistrictOffice = Annotated[Principal, Depends(_district_office)]
