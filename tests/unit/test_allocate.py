from hypothesis import given
from hypothesis import strategies as st

from shared.money import allocate


def test_the_largest_remainder_takes_the_dong_left_and_a_tie_goes_to_the_earlier_weight():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [0, 3, 3, -2]) == [0, 5, 5, 0]
    assert allocate(0, [5, 5]) == [0, 0] and allocate(7, [0, 0]) == [0, 0]


@given(st.integers(0, 10**12), st.lists(st.integers(-5, 10**9), min_size=1, max_size=8))
def test_the_parts_add_up_and_never_pass_their_weight(amount, weights):
    parts = allocate(amount, weights)
    asked = sum(w for w in weights if w > 0)
    assert sum(parts) == (amount if asked else 0)
    assert all(p == 0 for p, w in zip(parts, weights, strict=True) if w <= 0)
    if amount <= asked:
        assert all(0 <= p <= w for p, w in zip(parts, weights, strict=True) if w > 0)
