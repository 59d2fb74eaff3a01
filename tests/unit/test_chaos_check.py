"""The chaos run's verdict: any invariant that does not hold is named."""

from simulator.chaos import check

HOLDING = {
    "bank credits sent / held": (10, 10),
    "bank total sent / held (đồng)": (5_000_000, 5_000_000),
    "payments / with exactly one receipt": (9, 9),
    "receipts without a payment": 0,
    "receipt series with a gap or a duplicate": 0,
    "dashboard collected / recomputed": (4_000_000, 4_000_000),
    "dead letters": {"receipts": 0},
    "refused deliveries": [],
}


def test_a_run_whose_books_match_holds():
    assert check(HOLDING) == []


def test_a_lost_dong_a_missing_receipt_a_gap_and_a_dead_letter_are_each_named():
    broken = HOLDING | {
        "bank total sent / held (đồng)": (5_000_000, 4_999_999),
        "payments / with exactly one receipt": (9, 8),
        "receipt series with a gap or a duplicate": 1,
        "dead letters": {"receipts": 1},
        "refused deliveries": ["webhook FT1: 422"],
    }
    assert check(broken) == [
        "bank total sent / held (đồng)",
        "payments / with exactly one receipt",
        "receipt series with a gap or a duplicate",
        "dead letters",
        "refused deliveries",
    ]
