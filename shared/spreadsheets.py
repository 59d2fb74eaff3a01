"""Reading uploaded spreadsheets (rosters, bank statements) within fixed bounds.

An .xlsx file is a zip of XML: a few hundred kilobytes can declare a sheet of a million rows by 16,384
columns, or inflate to gigabytes. Before openpyxl sees it, the zip's declared sizes are checked (Python's
zipfile refuses to read a member past its declared size, so the declaration binds); the sheet is then
read row by row with its declared dimensions ignored, at most `max_cols` columns, and refused past
`max_rows` rows. CSV is bounded by the upload size and the same row and column limits.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from openpyxl import load_workbook

MiB = 1024 * 1024


@dataclass(frozen=True)
class Bounds:
    max_rows: int = 50_000
    max_cols: int = 64
    max_unzipped: int = 64 * MiB  # the sum of the members' declared sizes
    max_ratio: int = 200  # declared size / compressed size of any member
    max_members: int = 500


class SpreadsheetError(ValueError):
    """The file cannot be taken; the message says why in terms the uploader can act on."""


def check_zip(data: bytes, bounds: Bounds) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise SpreadsheetError(f"Không đọc được tệp Excel (.xlsx): {exc}") from exc
    if len(members) > bounds.max_members:
        raise SpreadsheetError(f"Tệp Excel có {len(members)} phần (tối đa {bounds.max_members}).")
    total = sum(m.file_size for m in members)
    if total > bounds.max_unzipped:
        raise SpreadsheetError(
            f"Tệp Excel giải nén ra {total // MiB} MiB (tối đa {bounds.max_unzipped // MiB} MiB): "
            "chia nhỏ tệp, hoặc lưu lại bằng chương trình bảng tính."
        )
    for m in members:
        if m.file_size > 1 * MiB and m.file_size > bounds.max_ratio * max(m.compress_size, 1):
            ratio = m.file_size // m.compress_size
            raise SpreadsheetError(f"Phần {m.filename} của tệp Excel nén bất thường ({ratio}:1).")


def xlsx_rows(data: bytes, bounds: Bounds, cell: Callable[[object], str]) -> list[tuple[int, list[str]]]:
    """(row number, cells as text) of the first sheet; empty trailing cells dropped."""
    check_zip(data, bounds)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise SpreadsheetError(f"Không đọc được tệp Excel (.xlsx): {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        # The declared dimension (<dimension ref="A1:XFD1048576">) is the attacker's to write: ignore it.
        sheet.reset_dimensions()
        rows: list[tuple[int, list[str]]] = []
        for number, values in enumerate(sheet.iter_rows(max_col=bounds.max_cols, values_only=True), start=1):
            if number > bounds.max_rows:
                raise SpreadsheetError(f"Trang tính có hơn {bounds.max_rows} dòng.")
            rows.append((number, _trim([cell(v) for v in values])))
        return rows
    except SpreadsheetError:
        raise
    except Exception as exc:  # a damaged sheet part
        raise SpreadsheetError(f"Không đọc được trang tính đầu tiên: {exc}") from exc
    finally:
        workbook.close()


def csv_rows(
    text: str, bounds: Bounds, dialect: type[csv.Dialect] | csv.Dialect = csv.excel
) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text), dialect)
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if len(rows) >= bounds.max_rows:
                raise SpreadsheetError(f"Tệp có hơn {bounds.max_rows} dòng.")
            if len(row) > bounds.max_cols:
                row = _trim(row)
                if len(row) > bounds.max_cols:
                    raise SpreadsheetError(f"Dòng {reader.line_num} có hơn {bounds.max_cols} cột.")
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise SpreadsheetError(f"Dòng {reader.line_num}: {exc}") from exc
    return rows


def _trim(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]
