from datetime import date

import pytest

from invoicing.domain.fees import (
    STATE_FUNDED,
    Cadence,
    FeeCategory,
    FeeError,
    FeeItem,
    Period,
    Policy,
    Rate,
    ReductionKind,
    price_student,
)

SEP, OCT, JAN, JUN = (Period.parse(p) for p in ("2026-09", "2026-10", "2027-01", "2027-06"))

TUITION = FeeItem(
    code="HOCPHI",
    name="Học phí",
    category=FeeCategory.TUITION,
    cadence=Cadence.MONTHLY,
    rates=(Rate(300_000),),
    state_funded=True,
)
MEALS = FeeItem(
    code="BANTRU",
    name="Tiền ăn bán trú",
    category=FeeCategory.MEALS,
    cadence=Cadence.MONTHLY,
    rates=(Rate(25_000),),
    per_day=True,
)
CARE = FeeItem(
    code="CHAMSOC",
    name="Chăm sóc bán trú",
    category=FeeCategory.SERVICES,
    cadence=Cadence.MONTHLY,
    rates=(Rate(150_000), Rate(180_000, grade="Mẫu giáo lớn"), Rate(200_000, class_name="5A2")),
)
INSURANCE = FeeItem(
    code="BHYT", name="Bảo hiểm y tế", category=FeeCategory.INSURANCE, cadence=Cadence.YEARLY, rates=(Rate(884_520),)
)
BOOKS = FeeItem(
    code="HOCLIEU", name="Học liệu", category=FeeCategory.OTHER, cadence=Cadence.SEMESTER, rates=(Rate(120_000),)
)
UNIFORM = FeeItem(
    code="DONGPHUC",
    name="Đồng phục",
    category=FeeCategory.OTHER,
    cadence=Cadence.ONE_OFF,
    rates=(Rate(250_000),),
    one_off_period="2026-10",
)
ITEMS = [TUITION, MEALS, CARE, INSURANCE, BOOKS, UNIFORM]

FROM = date(2025, 9, 1)
POLICIES = [
    Policy(
        category="HO_NGHEO", fee_category=FeeCategory.MEALS, kind=ReductionKind.PERCENT, value=100, effective_from=FROM
    ),
    Policy(
        category="DTTS_VUNG_KHO_KHAN",
        fee_category=FeeCategory.MEALS,
        kind=ReductionKind.PERCENT,
        value=70,
        effective_from=FROM,
    ),
    Policy(
        category="HO_CAN_NGHEO",
        fee_category=FeeCategory.MEALS,
        kind=ReductionKind.PERCENT,
        value=50,
        effective_from=FROM,
    ),
    Policy(
        category="HO_CAN_NGHEO",
        fee_category=FeeCategory.SERVICES,
        kind=ReductionKind.FIXED,
        value=60_000,
        effective_from=FROM,
    ),
    Policy(
        category="CU",
        fee_category=FeeCategory.MEALS,
        kind=ReductionKind.PERCENT,
        value=100,
        effective_from=date(2020, 1, 1),
        effective_to=date(2025, 8, 31),
    ),
]


def lines_of(categories=(), grade="Mẫu giáo bé", class_name="3C1", period=SEP, days=22):
    return {
        line.item_code: line
        for line in price_student(
            grade=grade,
            class_name=class_name,
            categories=frozenset(categories),
            items=ITEMS,
            policies=POLICIES,
            period=period,
            school_days=days,
        )
    }


def test_a_september_invoice_bills_monthly_semester_and_yearly_items_and_meals_per_school_day():
    lines = lines_of()
    assert set(lines) == {"HOCPHI", "BANTRU", "CHAMSOC", "BHYT", "HOCLIEU"}
    assert (lines["BANTRU"].quantity, lines["BANTRU"].amount) == (22, 550_000)
    assert sum(line.amount for line in lines.values()) == 550_000 + 150_000 + 884_520 + 120_000


def test_public_tuition_is_a_state_funded_line_the_parent_does_not_pay():
    tuition = lines_of()["HOCPHI"]
    assert (tuition.list_amount, tuition.reduction, tuition.amount) == (300_000, 300_000, 0)
    assert tuition.policy_category == STATE_FUNDED and tuition.state_funded


@pytest.mark.parametrize(
    ("category", "meals_due"), [("HO_NGHEO", 0), ("DTTS_VUNG_KHO_KHAN", 165_000), ("HO_CAN_NGHEO", 275_000)]
)
def test_meal_reductions_of_100_70_and_50_percent(category, meals_due):
    meals = lines_of([category])["BANTRU"]
    assert meals.list_amount == 550_000 and meals.amount == meals_due and meals.policy_category == category


def test_where_several_policies_apply_the_learner_gets_the_highest():
    meals = lines_of(["HO_CAN_NGHEO", "DTTS_VUNG_KHO_KHAN"])["BANTRU"]
    assert (meals.reduction, meals.policy_category) == (385_000, "DTTS_VUNG_KHO_KHAN")


def test_a_fixed_reduction_applies_to_its_fee_category_only():
    lines = lines_of(["HO_CAN_NGHEO"])
    assert (lines["CHAMSOC"].reduction, lines["CHAMSOC"].amount) == (60_000, 90_000)
    assert lines["BHYT"].reduction == 0


def test_a_policy_out_of_force_is_ignored():
    assert lines_of(["CU"])["BANTRU"].reduction == 0


def test_class_rate_beats_grade_rate_beats_school_rate():
    assert lines_of(grade="Mẫu giáo lớn", class_name="5A1")["CHAMSOC"].amount == 180_000
    assert lines_of(grade="Mẫu giáo lớn", class_name="5A2")["CHAMSOC"].amount == 200_000


def test_cadences_decide_which_months_bill_an_item():
    assert set(lines_of(period=OCT)) == {"HOCPHI", "BANTRU", "CHAMSOC", "DONGPHUC"}
    assert "HOCLIEU" in lines_of(period=JAN) and "BHYT" not in lines_of(period=JAN)
    assert lines_of(period=JUN) == {}  # summer: nothing billed


def test_a_percentage_reduction_is_rounded_down_to_the_dong():
    odd = Policy(
        category="X", fee_category=FeeCategory.MEALS, kind=ReductionKind.PERCENT, value=70, effective_from=FROM
    )
    assert odd.reduction(25_001) == 17_500


def test_bad_schedules_are_refused():
    with pytest.raises(FeeError, match="không được âm"):
        FeeItem(code="X", name="X", category=FeeCategory.OTHER, cadence=Cadence.MONTHLY, rates=(Rate(-1),))
    with pytest.raises(FeeError, match="một lần"):
        FeeItem(code="X", name="X", category=FeeCategory.OTHER, cadence=Cadence.ONE_OFF, rates=(Rate(1),))
    with pytest.raises(FeeError, match="từ 0 đến 100"):
        Policy(category="X", fee_category=FeeCategory.MEALS, kind=ReductionKind.PERCENT, value=120, effective_from=FROM)
    with pytest.raises(FeeError, match="2026-09"):
        Period.parse("09/2026")
