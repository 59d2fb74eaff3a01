"""Money in the suite: whole đồng as integers, bounded.

VND has no minor unit in practice (the xu is gone), so every amount is an `int` of đồng: in Python, in
SQL (`bigint`), in proto (`int64`). Every amount that comes in (a fee, a credit, an adjustment) is at
most `MAX_AMOUNT`: one thousand billion đồng (1.000 tỷ), far above any school payment or statement line,
and small enough that the sums the suite makes (millions of invoices) stay far inside `bigint`.

Floats are refused: a JSON number like 1e16 has already lost its last digits when Python reads it as a
float, and one like 1E+400000 costs seconds to turn into an integer.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import Field, StrictInt

MAX_AMOUNT = 1_000_000_000_000
# A written amount longer than this is not money ("1.000.000.000.000,00" has 20 characters).
MAX_AMOUNT_TEXT = 32

# For request models: JSON integers only (5.0 or "5" are refused), within the bound.
Amount = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT, description="whole đồng")]
PositiveAmount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="whole đồng, more than 0")]
SignedAmount = Annotated[StrictInt, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, description="whole đồng, ±")]


class AmountError(ValueError):
    """`reason` says what is wrong in a word (float, too_long, not_amount, beyond, fraction), so that a caller
    can say it in its own words (a statement's refusal is in Vietnamese)."""

    def __init__(self, message: str, *, reason: str = "not_amount", text: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.text = text


def check_bound(amount: int, field: str) -> int:
    if not -MAX_AMOUNT <= amount <= MAX_AMOUNT:
        raise AmountError(
            f"{field}: {amount} vượt quá số tiền lớn nhất hệ thống nhận ({MAX_AMOUNT} đồng).",
            reason="beyond",
            text=str(amount),
        )
    return amount


def parse_whole_dong(value: object, field: str) -> int:
    """An amount as it comes in text or JSON: '1250000', '1250000.00', 1250000 are fine; floats, fractions
    of a đồng, and amounts beyond the bound are not. Never costs more than a few microseconds."""
    if isinstance(value, bool) or isinstance(value, float):
        raise AmountError(f"{field}: {value!r} là số thập phân; gửi số đồng nguyên.", reason="float")
    if isinstance(value, int):
        return check_bound(value, field)
    text = str(value).strip().replace(",", "")
    if len(text) > MAX_AMOUNT_TEXT:
        raise AmountError(
            f"{field}: {text[:MAX_AMOUNT_TEXT]!r}… không phải số tiền (dài quá).",
            reason="too_long",
            text=text[:MAX_AMOUNT_TEXT],
        )
    try:
        d = value if isinstance(value, Decimal) else Decimal(text)
    except InvalidOperation as exc:
        raise AmountError(f"{field}: {value!r} không phải số tiền.", text=text) from exc
    # Compare before converting: Decimal('1E+400000') is cheap, its integer is not.
    if not d.is_finite() or d.copy_abs() > MAX_AMOUNT:
        raise AmountError(
            f"{field}: {text!r} vượt quá số tiền lớn nhất hệ thống nhận ({MAX_AMOUNT} đồng).",
            reason="beyond",
            text=text,
        )
    if d != d.to_integral_value():
        raise AmountError(f"{field}: {value!r} có phần lẻ của đồng.", reason="fraction", text=text)
    return int(d)


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` over `weights` in proportion, by the largest remainder (a tie goes to the earlier weight): the
    parts add up to the amount to the đồng, and none is more than its weight when the amount is at most their
    sum. A weight of 0 or less gets nothing; with nothing to share, every part is 0."""
    total = sum(w for w in weights if w > 0)
    if amount <= 0 or total <= 0:
        return [0] * len(weights)
    shares = [(amount * w // total, amount * w % total) if w > 0 else (0, 0) for w in weights]
    parts = [q for q, _ in shares]
    positive = [i for i, w in enumerate(weights) if w > 0]
    for i in sorted(positive, key=lambda i: (-shares[i][1], i))[: amount - sum(parts)]:
        parts[i] += 1
    return parts
