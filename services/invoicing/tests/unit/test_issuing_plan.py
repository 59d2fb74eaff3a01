"""What issuing a period would create, decided on books held in memory (the protocol PostgreSQL's books answer):
who is billed, for what, with which exemption, what was issued already, and what a per-day item needs first.
No database, no broker: a change to the rule runs these in well under a second."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from invoicing.app import issuing
from invoicing.domain.fees import Cadence, FeeCategory, FeeItem, Period, Policy, Rate, ReductionKind
from invoicing.stores.roster_store import Pupil
from invoicing.stores.schools_store import School
from shared.errors import Invalid

NOW = datetime(2026, 9, 1, tzinfo=UTC)
SCHOOL = School(
    school_id="S1",
    code="S1",
    name="Trường Tư thục Hoa Sen",
    district_code="D1",
    ownership="private",
    bank_bin="970436",
    account_number="0011001234567",
    account_name="TRUONG HOA SEN",
    tax_code="",
    address="",
    created_at=NOW,
)
TUITION = FeeItem(
    code="HP", name="Học phí", category=FeeCategory.TUITION, cadence=Cadence.MONTHLY, rates=(Rate(1_000_000),)
)
MEALS = FeeItem(
    code="AN", name="Tiền ăn", category=FeeCategory.MEALS, cadence=Cadence.MONTHLY, rates=(Rate(30_000),), per_day=True
)
POOR = Policy(
    category="HO_NGHEO",
    fee_category=FeeCategory.TUITION,
    kind=ReductionKind.PERCENT,
    value=100,
    effective_from=date(2025, 9, 1),
)


def _pupil(code: str, class_name: str, *categories: str) -> Pupil:
    return Pupil(
        student_id=uuid.uuid4(),
        school_id="S1",
        student_code=code,
        full_name=f"Học sinh {code}",
        date_of_birth=None,
        gender=None,
        grade=class_name[0],
        class_name=class_name,
        national_id="",
        guardian_name="",
        guardian_phone="",
        guardian_email=None,
        family_key=f"fam-{code}",
        virtual_account=None,
        policy_categories=list(categories),
        has_personal_id=False,
        reminders_stopped=False,
        left_at=None,
        erased_at=None,
        graduated_in=None,
        created_at=NOW,
        updated_at=NOW,
    )


@dataclass
class Books:
    """A school's issuing books, in memory."""

    pupils: list[Pupil]
    items: list[FeeItem] = field(default_factory=lambda: [TUITION])
    rules: list[Policy] = field(default_factory=list)
    days: int | None = None
    issued: int = 0
    locked: list[tuple[str, str, str]] = field(default_factory=list)

    async def school(self, school_id: str) -> School:
        return SCHOOL

    async def lock_period(self, school_id: str, period: str, round_code: str) -> None:
        self.locked.append((school_id, period, round_code))

    async def school_days(self, school_id: str, period: str) -> int | None:
        return self.days

    async def fee_items(self, school_id: str) -> list[FeeItem]:
        return self.items

    async def policies(self, school_id: str) -> list[Policy]:
        return self.rules

    async def not_billed(self, cmd: issuing.IssuePeriod) -> list[Pupil]:
        return [p for p in self.pupils if cmd.class_name in (None, p.class_name)]

    async def count_issued(self, school_id: str, period: str, round_code: str) -> int:
        return self.issued


def _cmd(**more: object) -> issuing.IssuePeriod:
    return issuing.IssuePeriod("S1", Period.parse("2026-09"), **more)  # type: ignore[arg-type]


async def test_every_pupil_is_billed_with_the_exemption_of_their_category() -> None:
    books = Books([_pupil("HS1", "3A"), _pupil("HS2", "3A", "HO_NGHEO"), _pupil("HS3", "4B")], rules=[POOR])
    plan = await issuing.preview(books, _cmd())
    # The exempted pupil still gets an invoice: its line shows the tuition and the reduction, and owes nothing.
    assert (plan["invoices"], plan["nothing_billed"], plan["total"]) == (3, 0, 2_000_000)
    assert plan["by_class"] == [
        {"class_name": "3A", "invoices": 2, "total": 1_000_000},
        {"class_name": "4B", "invoices": 1, "total": 1_000_000},
    ]
    assert plan["exemptions"] == [{"policy_category": "HO_NGHEO", "students": 1, "reduction": 1_000_000}]
    assert books.locked == [("S1", "2026-09", "")]  # the period's lock is taken before anything is read


async def test_a_per_day_item_is_billed_by_the_school_days_and_needs_them_first() -> None:
    books = Books([_pupil("HS1", "3A")], items=[TUITION, MEALS])
    with pytest.raises(Invalid, match="số ngày học"):
        await issuing.preview(books, _cmd())
    books.days = 20
    plan = await issuing.preview(books, _cmd())
    assert plan["total"] == 1_000_000 + 20 * 30_000
    given = await issuing.preview(Books([_pupil("HS1", "3A")], items=[TUITION, MEALS]), _cmd(school_days=18))
    assert given["total"] == 1_000_000 + 18 * 30_000  # the days given override the calendar


async def test_what_was_issued_already_is_counted_and_a_class_can_be_billed_alone() -> None:
    books = Books([_pupil("HS1", "3A"), _pupil("HS2", "4B")], issued=7)
    plan = await issuing.preview(books, _cmd(class_name="4B"))
    assert (plan["invoices"], plan["already_issued"], plan["total"]) == (1, 7, 1_000_000)
