"""An invoice's state from its total and what has been paid. Pure."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERPAID = "overpaid"
    CANCELLED = "cancelled"


# How parents and accountants read a status.
STATUS_VI = {
    "open": "Chưa thanh toán",
    "partially_paid": "Đã thanh toán một phần",
    "paid": "Đã thanh toán",
    "overpaid": "Đã thanh toán (thừa)",
    "cancelled": "Đã hủy",
}


def status_for(total: int, paid: int, *, cancelled: bool = False) -> Status:
    if cancelled:
        return Status.CANCELLED
    if paid == total:
        return Status.PAID
    if paid == 0:
        return Status.OPEN
    return Status.PARTIALLY_PAID if paid < total else Status.OVERPAID


def outstanding(total: int, paid: int) -> int:
    return max(total - paid, 0)


def qr_purpose(reference: str, period: str) -> str:
    """The transfer memo a QR pre-fills: the reference first, so a 19-character app still keeps it whole.

    "HPxxxxxxxx T09 2026" is 19 characters of the basic set.
    """
    year, month = period.split("-")
    return f"{reference} T{month} {year}"
