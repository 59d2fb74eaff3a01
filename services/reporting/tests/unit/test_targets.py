from datetime import date

from reporting.domain.figures import Figures
from reporting.domain.targets import NATIONAL, Plan, Target, below, judge, school_year_judged

# One district's plan: 85% of the amount cashless in 2023-2024, 90% from 2025-2026, 100% from 2029-2030;
# collection 95%; one school held to 100% from 2025-2026.
PLAN = Plan(
    [
        Target(indicator="cashless_amount", school_year="2023-2024", target_bp=8_500, source="KH 2023"),
        Target(indicator="cashless_amount", school_year="2025-2026", target_bp=9_000, source="KH 2025"),
        Target(indicator="cashless_amount", school_year="2029-2030", target_bp=10_000, source="KH 2030"),
        Target(indicator="collection", school_year="2023-2024", target_bp=9_500, source="KH 2023"),
        Target(
            indicator="cashless_amount", school_year="2025-2026", target_bp=10_000, source="KH riêng", school_id="S1"
        ),
    ]
)


def test_a_target_holds_from_its_school_year_until_a_later_one_and_a_school_may_have_its_own():
    assert PLAN.target("cashless_amount", "2023-2024").target_bp == 8_500
    assert PLAN.target("cashless_amount", "2024-2025").target_bp == 8_500
    assert PLAN.target("cashless_amount", "2026-2027").target_bp == 9_000
    assert PLAN.target("cashless_amount", "2031-2032").target_bp == 10_000
    assert PLAN.target("cashless_amount", "2026-2027", "S1").target_bp == 10_000
    assert PLAN.target("cashless_amount", "2024-2025", "S1").target_bp == 8_500  # before its own: the district's
    # Before any plan, and for an indicator no plan names: the national target.
    assert PLAN.target("cashless_amount", "2022-2023").source == NATIONAL
    assert PLAN.target("personal_id", "2026-2027").target_bp == 9_900
    assert [t.school_year for t in PLAN.trajectory() if t.indicator == "cashless_amount"] == [
        "2023-2024",
        "2025-2026",
        "2029-2030",
    ]


def test_the_school_year_a_period_is_judged_in():
    today = date(2026, 11, 24)
    assert [
        school_year_judged(p, today) for p in ("2026-08", "2026-09", "2026-Q3", "2026-Q2", "2025-2026", "2026", None)
    ] == ["2025-2026", "2026-2027", "2026-2027", "2025-2026", "2025-2026", "2026-2027", "2026-2027"]


def test_each_figure_is_judged_against_its_own_target_exactly():
    # Collected 96/100 (collection target 95%: met); cashless 86.4 of 96 = 90.0% (2025-2026 target 90%: met
    # exactly); by number 8 of 10 (national 100%: below).
    f = Figures(invoiced=10_000_000, collected=9_600_000, cashless=8_640_000, payments=10, cashless_payments=8)
    assert judge(PLAN, "2025-2026", f.measures()) == {
        "targets": {"collection": 95.0, "cashless_amount": 90.0, "cashless_count": 100.0},
        "below_target": ["cashless_count"],
    }
    # The same figures at S1, held to 100% cashless: below on the amount too.
    assert judge(PLAN, "2025-2026", f.measures(), "S1")["below_target"] == ["cashless_amount", "cashless_count"]
    # One đồng short of 90% is below; nothing collected is not judged on its cashless share.
    assert below(8_639_999, 9_600_000, PLAN.target("cashless_amount", "2025-2026")) is True
    assert below(0, 0, PLAN.target("cashless_amount", "2025-2026")) is None
    assert judge(PLAN, "2025-2026", Figures(invoiced=100).measures())["below_target"] == ["collection"]


def test_a_period_that_is_no_period_is_refused_with_what_it_must_be():
    import pytest

    from reporting.domain.scope import Scope, ScopeError

    for period in ("2026-09", "2026-Q4", "2026-2027", "2026"):
        assert Scope(period=period).period == period
    for period in ("", "2026-13", "2026-00", "2026-2028", "2026-Q5", "٢٠٢٦"):
        with pytest.raises(ScopeError, match="một năm học"):
            Scope(period=period)
