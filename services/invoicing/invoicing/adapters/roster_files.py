"""Read roster files as schools export them (CSV, UTF-8 with or without BOM; Excel .xlsx) into raw rows.

Headers are Vietnamese and vary a little between student-management programs; they are matched after
folding (no diacritics, lower case, single spaces). Each raw row keeps its line number in the file.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass

from invoicing.domain.roster import fold
from shared.spreadsheets import Bounds, SpreadsheetError, csv_rows, xlsx_rows

# The largest school has a few thousand pupils.
BOUNDS = Bounds(max_rows=20_000, max_cols=64)

# folded header → field
HEADERS: dict[str, str] = {
    "ma hoc sinh": "student_code",
    "ma hs": "student_code",
    "ho va ten": "full_name",
    "ho ten": "full_name",
    "ho ten hoc sinh": "full_name",
    "ngay sinh": "date_of_birth",
    "gioi tinh": "gender",
    "khoi": "grade",
    "khoi lop": "grade",
    "lop": "class_name",
    "ma dinh danh": "national_id",
    "ma dinh danh ca nhan": "national_id",
    "so dinh danh": "national_id",
    "ho ten cha/me": "guardian_name",
    "ho ten phu huynh": "guardian_name",
    "phu huynh": "guardian_name",
    "so dien thoai": "guardian_phone",
    "sdt": "guardian_phone",
    "dien thoai": "guardian_phone",
    "doi tuong mien giam": "policy",
    "doi tuong": "policy",
    "doi tuong chinh sach": "policy",
    "tai khoan ao": "virtual_account",
    "so tai khoan ao": "virtual_account",
    "trang thai": "status",
    "stt": "_row_number",
}
# The personal ID column may be missing or empty: such pupils are imported and flagged.
REQUIRED = (
    "student_code",
    "full_name",
    "date_of_birth",
    "grade",
    "class_name",
    "guardian_name",
    "guardian_phone",
)


class RosterFileError(ValueError):
    """The file as a whole cannot be read (format, encoding, missing columns)."""


@dataclass(frozen=True)
class RawRow:
    line: int
    values: dict[str, str]


def _map_headers(header: list[str]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for i, name in enumerate(header):
        field = HEADERS.get(fold(name or ""))
        if field:
            mapping[i] = field
    missing = [f for f in REQUIRED if f not in mapping.values()]
    if missing:
        raise RosterFileError(f"missing columns: {', '.join(missing)} (header row: {header})")
    return mapping


def _rows(table: list[tuple[int, list[str]]]) -> list[RawRow]:
    if not table:
        raise RosterFileError("the file is empty")
    _, header = table[0]
    mapping = _map_headers(header)
    rows = []
    for line, cells in table[1:]:
        if not any((c or "").strip() for c in cells):
            continue
        values = {
            field: unicodedata.normalize("NFC", (cells[i] if i < len(cells) else "") or "").strip()
            for i, field in mapping.items()
        }
        rows.append(RawRow(line, values))
    return rows


def read_csv(data: bytes) -> list[RawRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterFileError(f"the CSV is not UTF-8 (byte {exc.start}): export it as 'CSV UTF-8'") from exc
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return _rows(csv_rows(text, BOUNDS, dialect))
    except SpreadsheetError as exc:
        raise RosterFileError(str(exc)) from exc


def _cell(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")  # type: ignore[union-attr]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx(data: bytes) -> list[RawRow]:
    try:
        return _rows(xlsx_rows(data, BOUNDS, _cell))
    except SpreadsheetError as exc:
        raise RosterFileError(str(exc)) from exc


def read_roster(filename: str, data: bytes) -> list[RawRow]:
    name = filename.lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        return read_xlsx(data)
    if name.endswith((".csv", ".txt")) or not name:
        return read_csv(data)
    raise RosterFileError(f"unsupported file type {filename!r}: upload .csv or .xlsx")
