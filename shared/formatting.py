"""How money and times are shown to people: đồng with dot separators, Asia/Ho_Chi_Minh local time."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")

# Fee categories as people read them (pages, receipts, reports).
FEE_CATEGORY_VI = {
    "tuition": "Học phí",
    "meals": "Tiền ăn",
    "services": "Dịch vụ",
    "insurance": "Bảo hiểm",
    "extra_classes": "Học thêm",
    "other": "Khác",
    "adjustment": "Điều chỉnh",
}


def format_vnd(amount: int) -> str:
    """1250000 → "1.250.000 ₫" (Vietnamese grouping)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,}".replace(",", ".") + " ₫"


def local_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(VN) if value.tzinfo else value
        return value.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")
