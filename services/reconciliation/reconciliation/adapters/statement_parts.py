"""What every statement parser returns, and how its refusals are worded (Vietnamese, naming line and field).

A parser returns the statement's credits, the reversals of credits the bank booked, the closing balance, and
notes on the lines it skipped on purpose (a zero-amount notice line); it refuses a file whole, with a
CreditFormatError that names where and what, when one line is wrong. Library objects never reach a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from reconciliation.domain.credits import BankCredit, BankReversal, CreditFormatError
from shared.money import MAX_AMOUNT, AmountError, parse_whole_dong


@dataclass(frozen=True)
class Closing:
    """The bank's booked balance at the end of a statement's day (camt.053 CLBD, MT940 :62F:)."""

    day: date
    balance: int


@dataclass(frozen=True)
class Statement:
    format: str
    account_number: str | None
    credits: list[BankCredit]
    closing: Closing | None = None
    reversals: list[BankReversal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # lines skipped on purpose, said to the accountant


def dong(value: object, where: str) -> int:
    """An amount of a statement line in whole đồng, or a refusal in Vietnamese naming `where`.
    Zero is returned as 0: the caller decides whether a zero line is a notice to skip."""
    try:
        return parse_whole_dong(value, where)
    except AmountError as exc:
        if exc.reason == "fraction":
            raise CreditFormatError(f"{where}: số tiền {exc.text} có phần lẻ của đồng (VND không có xu)") from exc
        if exc.reason == "beyond":
            raise CreditFormatError(
                f"{where}: số tiền {exc.text} vượt quá mức lớn nhất hệ thống nhận ({MAX_AMOUNT:,} đồng)".replace(
                    ",", "."
                )
            ) from exc
        raise CreditFormatError(f"{where}: {exc.text[:40]!r} không phải số tiền") from exc


def check_currency(currency: str | None, where: str) -> None:
    """Checked before the amount: a EUR line is refused for its currency, not for its cents."""
    if currency and currency.strip().upper() != "VND":
        raise CreditFormatError(f"{where}: tiền tệ {currency.strip()[:8]}, không phải VND")
