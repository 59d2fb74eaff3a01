"""Bank statements uploaded by the accountant: ISO 20022 camt.053 / camt.054 (`camt`), SWIFT MT940
(`swift_mt940`), CSV/Excel exports of internet banking (here), recognised by their content.

Each parser returns a `Statement` (credits, reversals, closing balance, notes on lines skipped) or raises
CreditFormatError naming, in Vietnamese, the line and field that is wrong; a file with one broken line is
refused whole.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from reconciliation.adapters.camt import parse_camt
from reconciliation.adapters.statement_parts import Closing, Statement, dong
from reconciliation.adapters.swift_mt940 import parse_mt940
from reconciliation.domain.credits import BankCredit, CreditFormatError
from shared.formatting import VN
from shared.payref import fold_memo
from shared.spreadsheets import Bounds, SpreadsheetError, csv_rows, xlsx_rows


def detect_format(filename: str, data: bytes) -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \r\n\t")
    if head.startswith(b"<"):
        m = re.search(rb"urn:iso:std:iso:20022:tech:xsd:(camt\.05[34])", head)
        if not m:
            raise CreditFormatError("tệp XML không phải camt.053 hay camt.054")
        return m.group(1).decode().replace(".", "")
    if re.search(rb"^:20:", head, re.M) and b":61:" in data:
        return "mt940"
    if filename.lower().endswith(".xlsx") or head[:2] == b"PK":
        return "xlsx"
    return "csv"


# --- CSV / Excel exports of internet banking -----------------------------------------------------------

# The documented layout: Vietcombank VCB Digibiz "Sao kê tài khoản" export (other banks: give a mapping).
# A mapping names the columns of `date`, `credit` and `memo`, and optionally `reference`, `payer`,
# `payer_account` and `virtual_account` (the school's sub-account a collection-by-virtual-account bank
# credited), and `date_format`.
LAYOUTS: dict[str, dict[str, str]] = {
    "vcb": {
        "date": "Ngày giao dịch",
        "reference": "Số tham chiếu",
        "credit": "Số tiền ghi có",
        "memo": "Mô tả",
        "date_format": "%d/%m/%Y %H:%M:%S",
    },
}
# The same export from an account that collects through virtual accounts (one per pupil or class).
LAYOUTS["vcb_virtual"] = LAYOUTS["vcb"] | {"virtual_account": "Tài khoản ảo"}


# A school's month of statement lines, with room to spare.
BOUNDS = Bounds(max_rows=200_000, max_cols=64)


def _xlsx_cell(v: object) -> str:
    if v is None:
        return ""
    return v.strftime("%d/%m/%Y %H:%M:%S") if hasattr(v, "strftime") else str(v)  # type: ignore[attr-defined]


def _table(data: bytes, xlsx: bool) -> list[list[str]]:
    try:
        if xlsx:
            return [row for _, row in xlsx_rows(data, BOUNDS, _xlsx_cell)]
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CreditFormatError(f"tệp CSV không phải UTF-8 (byte {exc.start})") from exc
        return [row for _, row in csv_rows(text, BOUNDS)]
    except SpreadsheetError as exc:
        raise CreditFormatError(str(exc)) from exc


def _is_total(row: list[str]) -> bool:
    return any(fold_memo(c).strip().startswith(("TONG", "CONG")) for c in row if c.strip())


def parse_bank_table(data: bytes, *, account_number: str, mapping: dict[str, str], xlsx: bool = False) -> Statement:
    for key in ("date", "credit", "memo"):
        if key not in mapping:
            raise CreditFormatError(f"bảng ánh xạ cột thiếu '{key}'")
    table = _table(data, xlsx)
    header_at = next((i for i, row in enumerate(table) if mapping["credit"] in [c.strip() for c in row]), None)
    if header_at is None:
        raise CreditFormatError(f"không có dòng tiêu đề nào có cột {mapping['credit']!r}")
    header = [c.strip() for c in table[header_at]]
    missing = [mapping[k] for k in ("date", "credit", "memo") if mapping[k] not in header]
    if missing:
        raise CreditFormatError(f"thiếu cột: {', '.join(missing)}")
    col = {k: header.index(v) for k, v in mapping.items() if v in header}
    credits: list[BankCredit] = []
    notes: list[str] = []
    for line, row in enumerate(table[header_at + 1 :], start=header_at + 2):
        if not any(c.strip() for c in row):
            continue

        def at(key: str, row: list[str] = row) -> str:
            return row[col[key]].strip() if key in col and col[key] < len(row) else ""

        cell = at("credit")
        if not cell or cell in {"0", "-"}:
            continue
        if not at("date") and _is_total(row):
            continue  # the export's "Tổng cộng" line: the sum of the lines above, not a credit
        where = f"dòng {line}"
        amount = dong(cell.replace(".", "") if re.fullmatch(r"\d{1,3}(\.\d{3})+", cell) else cell, where)
        if amount == 0:
            notes.append(f"{where}: số tiền 0, bỏ qua")
            continue
        date_format = mapping.get("date_format", "%d/%m/%Y %H:%M:%S")
        try:
            when = datetime.strptime(at("date"), date_format)
        except ValueError as exc:
            raise CreditFormatError(f"{where}: ngày {at('date')[:40]!r} không theo dạng {date_format}") from exc
        ref = at("reference")
        credits.append(
            BankCredit(
                account_number=account_number,
                amount=amount,
                booked_at=when.replace(tzinfo=VN).astimezone(UTC),
                memo=at("memo"),
                source_kind="csv",
                identifiers=(ref,) if ref else (),
                payer_name=at("payer"),
                payer_account=at("payer_account"),
                virtual_account=at("virtual_account"),
            )
        )
    return Statement("csv", account_number, credits, notes=notes)


def parse_statement(filename: str, data: bytes, *, account: str, layout: str | None, mapping: str | None) -> Statement:
    """Any statement the suite takes, by its content: camt.053/054, MT940, or a CSV/.xlsx table (which
    needs a known `layout` or a JSON column `mapping`)."""
    fmt = detect_format(filename, data)
    if fmt in ("camt053", "camt054"):
        return parse_camt(data, fmt)
    if fmt == "mt940":
        return parse_mt940(data)
    try:
        columns = LAYOUTS.get(layout or "") if layout else json.loads(mapping or "null")
    except ValueError as exc:
        raise CreditFormatError(f"bảng ánh xạ cột không phải JSON (vị trí {getattr(exc, 'pos', '?')})") from exc
    if not columns:
        raise CreditFormatError(f"sao kê CSV/Excel cần chọn mẫu ({', '.join(LAYOUTS)}) hoặc bảng ánh xạ cột")
    if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items()):
        raise CreditFormatError('bảng ánh xạ cột phải là một đối tượng tên cột, ví dụ {"credit": "Ghi có"}')
    return parse_bank_table(data, account_number=account, mapping=columns, xlsx=fmt == "xlsx")


__all__ = [
    "LAYOUTS",
    "Closing",
    "Statement",
    "detect_format",
    "parse_bank_table",
    "parse_camt",
    "parse_mt940",
    "parse_statement",
]
