"""The columns of the district's figures export: their order, their Vietnamese headings, the money ones."""

from __future__ import annotations

from reporting.domain.targets import SHORT_NAMES
from reporting.domain.views import Judged

COLUMNS = [
    ("name", "Trường"),
    ("invoiced", "Phải thu (đồng)"),
    ("collected", "Đã thu (đồng)"),
    ("cashless", "Không dùng tiền mặt (đồng)"),
    ("cash", "Tiền mặt (đồng)"),
    ("outstanding", "Còn phải thu (đồng)"),
    ("overdue", "Quá hạn (đồng)"),
    ("collection_rate_pct", "Tỷ lệ thu (%)"),
    ("target:collection", "Mục tiêu tỷ lệ thu (%)"),
    ("cashless_share_pct", "Tỷ lệ không dùng tiền mặt theo số tiền (%)"),
    ("target:cashless_amount", "Mục tiêu theo số tiền (%)"),
    ("cashless_share_by_count_pct", "Tỷ lệ không dùng tiền mặt theo số giao dịch (%)"),
    ("target:cashless_count", "Mục tiêu theo số giao dịch (%)"),
    ("students", "Số học sinh"),
    ("students_fully_paid", "Số học sinh đã nộp đủ"),
    ("personal_id_share_pct", "Học sinh có mã định danh (%)"),
    ("target:personal_id", "Mục tiêu mã định danh (%)"),
    ("below_target", "Chưa đạt mục tiêu"),
    ("period", "Kỳ"),
]


MONEY = {label for key, label in COLUMNS if "(đồng)" in label}


def cells(row: Judged, *, name: str, period: str) -> list[object]:
    """A row of the export: each figure, each target (`target:<indicator>`), the list of figures below theirs;
    `name` and `period` as given (a school's name, or the district's total; the period the figures count)."""
    given: dict[str, object] = {"name": name, "period": period}
    return [_cell(row, key, given) for key, _ in COLUMNS]


def _cell(row: Judged, key: str, given: dict[str, object]) -> object:
    if key in given:
        return given[key]
    if key.startswith("target:"):
        return row.targets.get(key.split(":", 1)[1])
    value = getattr(row, key)
    return ", ".join(SHORT_NAMES[k] for k in value) if isinstance(value, list) else value
