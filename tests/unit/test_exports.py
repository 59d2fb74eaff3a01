"""The files an accountant opens: Excel with a usable layout, CSV that Excel reads as Vietnamese."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from shared import exports
from shared.errors import Invalid

HEADER = ["Mã học sinh", "Họ và tên", "Phải nộp (đồng)", "Nộp lúc", "Hạn nộp", "Ghi chú"]
ROWS = [
    ["HS001", "Nguyễn Thị Ánh Dương", 1_250_000, datetime(2026, 9, 5, 3, 30, tzinfo=UTC), date(2026, 9, 15), ""],
    ["HS002", "Trần Văn B", 0, None, date(2026, 9, 15), '=HYPERLINK("http://x")'],
]


def test_the_excel_file_has_a_frozen_bold_filtered_header_money_formats_and_vietnam_times():
    data = exports.xlsx_bytes(HEADER, ROWS, title="Danh sach thu", money=["Phải nộp (đồng)"])
    ws = load_workbook(io.BytesIO(data)).active
    assert ws.title == "Danh sach thu"
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:F3"
    assert all(c.font.bold for c in ws[1]) and [c.value for c in ws[1]] == HEADER
    assert ws["C2"].value == 1_250_000 and ws["C2"].number_format == "#,##0"
    assert ws["D2"].value == datetime(2026, 9, 5, 10, 30)  # 03:30 UTC is 10:30 in Vietnam
    assert ws["D2"].number_format == "dd/mm/yyyy hh:mm" and ws["E2"].number_format == "dd/mm/yyyy"
    assert ws["F3"].value == '\'=HYPERLINK("http://x")' and ws["F3"].data_type == "s"  # text, never a formula
    assert ws.column_dimensions["B"].width >= len("Nguyễn Thị Ánh Dương")
    assert 8 <= ws.column_dimensions["F"].width <= 60


def test_the_csv_starts_with_a_bom_and_shows_vietnam_dates():
    data = exports.csv_bytes(HEADER, ROWS)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == HEADER
    assert rows[1][2:5] == ["1250000", "05/09/2026 10:30", "15/09/2026"]
    assert rows[2][5].startswith("'=")


def test_an_export_range_is_in_order_and_at_most_a_year():
    assert exports.checked_days(date(2026, 9, 1), date(2026, 9, 30)) == (date(2026, 9, 1), date(2026, 9, 30))
    with pytest.raises(Invalid, match="đứng trước ngày bắt đầu"):
        exports.checked_days(date(2026, 9, 30), date(2026, 9, 1))
    with pytest.raises(Invalid, match="tối đa 366 ngày"):
        exports.checked_days(date(2025, 1, 1), date(2026, 6, 1))
