"""The kinds of money action the district's audit lists, with the names the page and the export show."""

from __future__ import annotations

LABELS: dict[str, str] = {
    "invoice.issued": "Lập hoá đơn",
    "invoice.adjusted": "Điều chỉnh hoá đơn",
    "invoice.cancelled": "Huỷ hoá đơn",
    "cash.recorded": "Thu tiền mặt",
    "credit.match": "Gán khoản chuyển vào hoá đơn",
    "credit.split": "Chia khoản chuyển cho nhiều hoá đơn",
    "credit.refund": "Hoàn tiền cho người nộp",
    "credit.ignore": "Để riêng khoản chuyển (không thuộc học phí)",
    "credit.keep": "Giữ làm số dư của gia đình",
    "credit.unmatch": "Gỡ khoản đã gán",
    "credit.withdraw": "Rút lại khoản đã ghi",
    "credit.undo": "Hoàn tác thao tác",
    "credit.bank_reversal": "Ngân hàng thu hồi khoản chuyển",
    "receipt.cancelled": "Huỷ biên lai",
}


def label(kind: str) -> str:
    return LABELS.get(kind, kind)
