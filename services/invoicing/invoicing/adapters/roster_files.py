"""Read roster files as schools export them (CSV, UTF-8 with or without BOM; Excel .xlsx) into raw rows.

Headers are Vietnamese and vary a little between student-management programs; they are matched after
folding (no diacritics, lower case, single spaces). The table may start below title rows (the school's name,
"DANH SÁCH HỌC SINH", the year): its header is the first of the first rows that names every column needed.
The sector database's export has the father's and the mother's name and phone instead of one guardian, and
no grade: the guardian is the parent with a mobile number (the mother first), the grade is read from the
class ("6A1" → 6; a kindergarten's "Chồi 2" → Chồi). Each raw row keeps its line number in the file.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass

from invoicing.domain.roster import fold, normalise_phone
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
    "ho ten cha": "father_name",
    "ho va ten cha": "father_name",
    "ten cha": "father_name",
    "sdt cha": "father_phone",
    "so dien thoai cha": "father_phone",
    "dien thoai cha": "father_phone",
    "ho ten me": "mother_name",
    "ho va ten me": "mother_name",
    "ten me": "mother_name",
    "sdt me": "mother_phone",
    "so dien thoai me": "mother_phone",
    "dien thoai me": "mother_phone",
    "ma dinh danh hoc sinh": "national_id",
    "ngay thang nam sinh": "date_of_birth",
    "ten lop": "class_name",
    "sdt phu huynh": "guardian_phone",
    "so dien thoai phu huynh": "guardian_phone",
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
    "email": "guardian_email",
    "email phu huynh": "guardian_email",
    "thu dien tu": "guardian_email",
    "dia chi email": "guardian_email",
    "stt": "_row_number",
}
# The personal ID column may be missing or empty: such pupils are imported and flagged. The grade may be
# missing (read from the class); the guardian is one column pair or the father's and the mother's.
REQUIRED = ("student_code", "full_name", "date_of_birth", "class_name")
GUARDIAN_COLUMNS = (
    ("guardian_name", "guardian_phone"),
    ("father_name", "father_phone"),
    ("mother_name", "mother_phone"),
)
# How the page and the errors name each column (the template's headings).
LABELS = {
    "student_code": "Mã học sinh",
    "full_name": "Họ và tên",
    "date_of_birth": "Ngày sinh",
    "class_name": "Lớp",
    "guardian": "Họ tên phụ huynh và Số điện thoại (hoặc Họ tên cha, SĐT cha, Họ tên mẹ, SĐT mẹ)",
}
# The template a school downloads: the sector database's headings, and the optional ones this suite reads.
TEMPLATE_HEADER = [
    "STT", "Mã học sinh", "Mã định danh", "Họ và tên", "Ngày sinh", "Giới tính", "Khối", "Lớp",
    "Họ tên cha", "SĐT cha", "Họ tên mẹ", "SĐT mẹ", "Đối tượng miễn giảm",
]  # fmt: skip
TEMPLATE_EXAMPLE = [
    1, "HS0001", "001320012345", "Dương Diệu Yến", "05/03/2020", "Nữ", "1", "1A1",
    "Dương Văn An", "0912345678", "Lê Thị Hoa", "0987654321", "",
]  # fmt: skip
# Title rows above the table: the header is looked for in this many first rows.
HEADER_WITHIN = 20


# The fields a school can map to its own headings, and how the page names them (the needed ones first).
MAPPABLE = {
    "student_code": "Mã học sinh",
    "full_name": "Họ và tên",
    "date_of_birth": "Ngày sinh",
    "class_name": "Lớp",
    "guardian_name": "Họ tên phụ huynh",
    "guardian_phone": "SĐT phụ huynh",
    "father_name": "Họ tên cha",
    "father_phone": "SĐT cha",
    "mother_name": "Họ tên mẹ",
    "mother_phone": "SĐT mẹ",
    "national_id": "Mã định danh",
    "grade": "Khối",
    "gender": "Giới tính",
    "policy": "Đối tượng miễn giảm",
    "virtual_account": "Tài khoản định danh",
    "guardian_email": "Email phụ huynh",
}


class RosterFileError(ValueError):
    """The file as a whole cannot be read (format, encoding, missing columns). `headers` are the headings
    of the row that looked most like the table's header (for the page to offer a mapping), `missing` the
    fields it lacks."""

    def __init__(self, message: str, *, headers: list[str] | None = None, missing: list[str] | None = None) -> None:
        super().__init__(message)
        self.headers = headers or []
        self.missing = missing or []


@dataclass(frozen=True)
class RawRow:
    line: int
    values: dict[str, str]


def _map_headers(header: list[str]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for i, name in enumerate(header):
        field = HEADERS.get(fold(name or ""))
        if field and field not in mapping.values():
            mapping[i] = field
    return mapping


def _with_school_mapping(header: list[str], school_mapping: dict[str, str]) -> dict[int, str]:
    """The school's own headings (field → heading as in its file) first, then the headings this reader knows
    for the columns left."""
    folded = [fold(h or "") for h in header]
    mapping: dict[int, str] = {}
    for field, heading in school_mapping.items():
        if field in MAPPABLE and fold(heading) in folded:
            mapping[folded.index(fold(heading))] = field
    for i, field in _map_headers(header).items():
        if i not in mapping and field not in mapping.values():
            mapping[i] = field
    return mapping


def _missing_fields(mapping: dict[int, str]) -> list[str]:
    fields = set(mapping.values())
    missing = [f for f in REQUIRED if f not in fields]
    if not any(name in fields and phone in fields for name, phone in GUARDIAN_COLUMNS):
        missing.append("guardian")
    return missing


def _missing(mapping: dict[int, str]) -> list[str]:
    """The needed columns a header lacks, by their Vietnamese names."""
    return [LABELS[f] for f in _missing_fields(mapping)]


def _header(table: list[tuple[int, list[str]]], school_mapping: dict[str, str] | None) -> tuple[int, dict[int, str]]:
    """The table's header row (its index) among the first rows, below any title rows."""
    best: tuple[int, dict[int, str]] | None = None
    for n, (_, cells) in enumerate(table[:HEADER_WITHIN]):
        mapping = _with_school_mapping(cells, school_mapping) if school_mapping else _map_headers(cells)
        if not _missing(mapping):
            return n, mapping
        if best is None or len(mapping) > len(best[1]):
            best = (n, mapping)
    # The row most like a header (the one with the most text cells when none was recognised) is offered to
    # the accountant to map once.
    if best is None or not best[1]:
        rows = table[:HEADER_WITHIN]
        texts = max(rows, key=lambda r: sum(1 for c in r[1] if (c or "").strip() and not (c or "").strip().isdigit()))
        headings = [c.strip() for c in texts[1] if (c or "").strip()]
        raise RosterFileError(
            "Không tìm thấy dòng tiêu đề của bảng học sinh trong 20 dòng đầu. Cần có các cột: "
            + "; ".join(LABELS.values())
            + ". Ghép các cột của tệp với các cột cần có, hoặc tải mẫu danh sách về để xem cách đặt tên cột.",
            headers=headings,
            missing=_missing_fields({}),
        )
    line, cells = table[best[0]]
    raise RosterFileError(
        f"Dòng tiêu đề (dòng {line}) thiếu cột: {'; '.join(_missing(best[1]))}. Ghép các cột của tệp với các "
        "cột cần có (một lần, trường ghi nhớ cách ghép).",
        headers=[c.strip() for c in cells if (c or "").strip()],
        missing=_missing_fields(best[1]),
    )


def _class_grade(class_name: str) -> str:
    """The grade a class belongs to when the file has no grade column: its leading number ("6A1" → "6"), or
    its name without the trailing number (a kindergarten's "Chồi 2" → "Chồi")."""
    name = " ".join(class_name.split())
    digits = re.match(r"\d+", name)
    if digits:
        return digits.group(0)
    return re.sub(r"[\s\d]+$", "", name) or name


def _guardian(values: dict[str, str]) -> None:
    """One guardian from the father's and the mother's columns: the parent with a mobile number, the mother
    first; neither: the first parent named (the row is then refused for its phone, with the number shown)."""
    if values.get("guardian_name") or values.get("guardian_phone"):
        return
    parents = [(values.get(f"{p}_name", ""), values.get(f"{p}_phone", "")) for p in ("mother", "father")]
    named = [(n, t) for n, t in parents if n or t]
    chosen = next(((n, t) for n, t in named if normalise_phone(t)), named[0] if named else ("", ""))
    values["guardian_name"], values["guardian_phone"] = chosen


def _rows(table: list[tuple[int, list[str]]], school_mapping: dict[str, str] | None = None) -> list[RawRow]:
    if not table:
        raise RosterFileError("Tệp trống: không có dòng nào.")
    start, mapping = _header(table, school_mapping)
    rows = []
    for line, cells in table[start + 1 :]:
        if not any((c or "").strip() for c in cells):
            continue
        values = {
            field: unicodedata.normalize("NFC", (cells[i] if i < len(cells) else "") or "").strip()
            for i, field in mapping.items()
        }
        _guardian(values)
        if not values.get("grade") and values.get("class_name"):
            values["grade"] = _class_grade(values["class_name"])
        rows.append(RawRow(line, values))
    return rows


def read_csv(data: bytes, school_mapping: dict[str, str] | None = None) -> list[RawRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterFileError(
            f"Tệp CSV không ở dạng UTF-8 (byte {exc.start}): hãy lưu lại bằng 'CSV UTF-8' rồi tải lên."
        ) from exc
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return _rows(csv_rows(text, BOUNDS, dialect), school_mapping)
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


def read_xlsx(data: bytes, school_mapping: dict[str, str] | None = None) -> list[RawRow]:
    try:
        return _rows(xlsx_rows(data, BOUNDS, _cell), school_mapping)
    except SpreadsheetError as exc:
        raise RosterFileError(str(exc)) from exc


def read_roster(filename: str, data: bytes, school_mapping: dict[str, str] | None = None) -> list[RawRow]:
    """The file's rows; `school_mapping` (field → the school's heading) names the columns this reader does not
    recognise by itself."""
    name = filename.lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        return read_xlsx(data, school_mapping)
    if name.endswith((".csv", ".txt")) or not name:
        return read_csv(data, school_mapping)
    raise RosterFileError(f"Không đọc được loại tệp {filename!r}: hãy tải lên tệp .csv hoặc .xlsx.")
