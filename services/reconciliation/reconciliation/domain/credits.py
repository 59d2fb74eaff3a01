"""A bank credit as every channel delivers it, in the suite's own terms. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from shared.formatting import VN
from shared.money import MAX_AMOUNT, AmountError, parse_whole_dong


class CreditFormatError(ValueError):
    """Input that is not a valid credit/statement; the message names the field and what is wrong."""


@dataclass(frozen=True, kw_only=True)
class BankCredit:
    account_number: str
    amount: int
    booked_at: datetime  # aware
    memo: str
    source_kind: str  # webhook_sepay, webhook_casso, webhook_payos, camt053, camt054, mt940, csv, cash
    identifiers: tuple[str, ...] = ()
    payer_name: str = ""
    payer_account: str = ""
    virtual_account: str = ""
    recorded_by: str = ""  # the account that entered it (cash desk, statement upload); empty for a webhook

    def __post_init__(self) -> None:
        if not 0 < self.amount <= MAX_AMOUNT:
            raise CreditFormatError(f"Số tiền về phải từ 1 đến {MAX_AMOUNT} đồng (nhận được {self.amount}).")
        if self.booked_at.tzinfo is None:
            raise CreditFormatError("Thời điểm giao dịch cần có múi giờ.")

    @property
    def value_date(self) -> date:
        return self.booked_at.astimezone(VN).date()


@dataclass(frozen=True, kw_only=True)
class BankReversal:
    """The bank taking back a credit it booked (MT940 mark RC, a camt debit entry with RvslInd): never a credit
    of its own; it names the credit it reverses by reference, else by amount and date."""

    account_number: str
    amount: int
    booked_at: datetime  # aware
    memo: str
    identifiers: tuple[str, ...] = ()
    where: str = ""  # the statement's line that booked it, as the accountant is told

    @property
    def value_date(self) -> date:
        return self.booked_at.astimezone(VN).date()


def normal_identifiers(identifiers: Iterable[str]) -> list[str]:
    """A credit's (or reversal's) identifiers as they are stored and compared: trimmed, upper-case, each once."""
    return list(dict.fromkeys(i.strip().upper() for i in identifiers if i.strip()))


def local_datetime(text: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> datetime:
    """Aggregators send local (Vietnam) times without a zone."""
    try:
        return datetime.strptime(text.strip(), fmt).replace(tzinfo=VN).astimezone(UTC)
    except ValueError as exc:
        raise CreditFormatError(f"Thời điểm {text!r} không đúng dạng {fmt}.") from exc


def whole_dong(value: object, field: str) -> int:
    """VND has no minor unit: '1250000', '1250000.00', 1250000 are fine; '1250000.5', floats, or amounts
    beyond the suite's bound are not (shared/money.py)."""
    try:
        return parse_whole_dong(value, field)
    except AmountError as exc:
        raise CreditFormatError(str(exc)) from exc


@dataclass(frozen=True, kw_only=True)
class Placement:
    """How much of a credit is placed, and where it stands."""

    state: str
    reason_code: str
    allocated: int
    refunded: int
    ignored: int

    @classmethod
    def of(cls, stored: Mapping[str, object]) -> Placement:
        """A placement as the audit trail keeps it (JSON)."""
        return cls(
            state=str(stored["state"]),
            reason_code=str(stored.get("reason_code", "")),
            allocated=int(str(stored["allocated"])),
            refunded=int(str(stored["refunded"])),
            ignored=int(str(stored["ignored"])),
        )
