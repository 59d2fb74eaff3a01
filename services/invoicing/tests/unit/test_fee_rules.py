from datetime import date

from invoicing.domain.fees import Cadence, FeeCategory, FeeItem, Period, Policy, Rate, ReductionKind, price_student

TUITION = FeeItem(
    code="HP", name="Học phí", category=FeeCategory.TUITION, cadence=Cadence.MONTHLY, rates=(Rate(3_000_000),)
)


def _rule(**kw) -> Policy:
    base = {
        "category": "STATE_SUPPORT",
        "fee_category": FeeCategory.TUITION,
        "kind": ReductionKind.FIXED,
        "value": 1_500_000,
        "effective_from": date(2025, 9, 1),
        "everyone": True,
        "ownership": "private",
    }
    return Policy(**(base | kw))


def _tuition(policies: list[Policy], period: str, ownership: str = "private", categories=frozenset()):
    (line,) = price_student(
        grade="Khối 3",
        class_name="3A1",
        categories=categories,
        items=[TUITION],
        policies=policies,
        period=Period.parse(period),
        school_days=20,
        ownership=ownership,
    )
    return line


def test_a_later_rule_replaces_an_earlier_one_from_its_date_even_when_it_gives_less():
    rules = [_rule(), _rule(value=1_000_000, effective_from=date(2026, 1, 1))]
    assert _tuition(rules, "2025-12").reduction == 1_500_000
    assert _tuition(rules, "2026-01").reduction == 1_000_000  # not the higher, older one


def test_a_share_can_be_capped_and_a_rule_for_one_ownership_does_not_reach_the_other():
    capped = [_rule(kind=ReductionKind.PERCENT, value=50, cap=1_200_000)]
    assert _tuition(capped, "2026-01").reduction == 1_200_000  # 50% would be 1,500,000
    assert _tuition(capped, "2026-01", ownership="public").reduction == 0
    assert _tuition([_rule(value=5_000_000)], "2026-01").amount == 0  # never more than the line


def test_a_category_rule_needs_the_category_and_a_tie_goes_to_the_rule_for_everyone():
    poor = _rule(category="HO_NGHEO", everyone=False, ownership=None, kind=ReductionKind.PERCENT, value=100)
    everyone = _rule(category="STATE_FUNDED", kind=ReductionKind.PERCENT, value=100, ownership="public")
    assert _tuition([poor], "2026-01").reduction == 0
    assert _tuition([poor], "2026-01", categories=frozenset({"HO_NGHEO"})).policy_category == "HO_NGHEO"
    both = _tuition([poor, everyone], "2026-01", ownership="public", categories=frozenset({"HO_NGHEO"}))
    assert (both.reduction, both.policy_category) == (3_000_000, "STATE_FUNDED")
