"""CSV and Excel files the suite hands out, safe to open in a spreadsheet program.

A school name, a memo or a payer's name is someone else's text: written as it is, `=HYPERLINK(...)` or
`+cmd|...` becomes a live formula when an official opens the file (CSV injection, OWASP). Text that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a leading apostrophe, which
spreadsheet programs show as text; numbers stay numbers. In .xlsx every text cell is stored as a string,
never as a formula. CSV starts with a byte-order mark so that Excel reads Vietnamese as UTF-8.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Depends, Query
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from shared.errors import Invalid
from shared.formatting import VN
from shared.schemas import files

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return "" if value is None else value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(csv_value(v)) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    title: str = "Bao cao",
    money: Collection[str] = (),
) -> bytes:
    """A worksheet an accountant can work with: bold, frozen and filtered header, columns as wide as their
    content, the `money` columns (by header) as whole đồng with thousands separators, times in Vietnam's."""
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    widths = [len(str(h)) for h in header]
    for row in [header, *rows]:
        # Control characters cannot be stored in a worksheet at all: they are dropped.
        values = [_xlsx_value(v) for v in map(safe_cell, row)]
        ws.append(values)
        widths = [max(w, len(_shown(v))) for w, v in zip(widths, values, strict=False)]
    money_columns = {i + 1 for i, h in enumerate(header) if h in money}
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would store a text starting with "=" as a formula
            elif cell.column in money_columns:
                cell.number_format = "#,##0"
            elif isinstance(cell.value, datetime):
                cell.number_format = "dd/mm/yyyy hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "dd/mm/yyyy"
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.data_type = "s"
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xlsx_value(v: object) -> object:
    if isinstance(v, str):
        return ILLEGAL_CHARACTERS_RE.sub("", v)
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.astimezone(VN).replace(tzinfo=None)  # a worksheet has no time zones: Vietnam's time
    if isinstance(v, uuid.UUID):
        return str(v)
    return v


def _shown(v: object) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, datetime):
        return "00/00/0000 00:00"
    return "" if v is None else str(v)


def csv_value(v: object) -> object:
    """A value as a CSV shows it to a person: times in Vietnam's, dd/mm/yyyy."""
    if isinstance(v, datetime):
        return (v.astimezone(VN) if v.tzinfo else v).strftime("%d/%m/%Y %H:%M")
    if isinstance(v, date):
        return v.strftime("%d/%m/%Y")
    return v


def download(data: bytes, filename: str, fmt: str) -> Response:
    media = "text/csv; charset=utf-8" if fmt == "csv" else XLSX_MEDIA_TYPE
    return Response(data, media_type=media, headers={"Content-Disposition": attachment(f"{filename}.{fmt}")})


def attachment(filename: str, disposition: str = "attachment") -> str:
    """A Content-Disposition header whatever the name holds (ids come from the URL): ASCII letters,
    digits, dot, dash and underscore only."""
    return f'{disposition}; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:150]}"'


MAX_DAYS = 366
TableFormat = Literal["csv", "xlsx"]
TABLE_FILES = files("text/csv", XLSX_MEDIA_TYPE, description="the table: CSV (UTF-8 with BOM) or formatted Excel")


def checked_days(first: date, last: date) -> tuple[date, date]:
    """A date range an export accepts: in order, at most a year."""
    if last < first:
        raise Invalid(f"Ngày kết thúc ({last:%d/%m/%Y}) đứng trước ngày bắt đầu ({first:%d/%m/%Y}).")
    if (last - first).days >= MAX_DAYS:
        raise Invalid(f"Mỗi lần xuất tối đa {MAX_DAYS} ngày: chia khoảng thời gian ra.")
    return first, last


async def _date_range(
    first: date = Query(alias="from", description="first day (Vietnam's date)"),
    last: date = Query(alias="to", description="last day, included"),
) -> tuple[date, date]:
    return checked_days(first, last)


# A route's `days: DateRange` takes ?from=&to=, checked.
DateRange = Annotated[tuple[date, date], Depends(_date_range)]


async def table_download(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    filename: str,
    fmt: str,
    title: str,
    money: Collection[str] = (),
) -> Response:
    """The table as CSV or a formatted .xlsx, built off the event loop."""
    if fmt == "csv":
        data = await asyncio.to_thread(csv_bytes, header, rows)
    else:
        data = await asyncio.to_thread(lambda: xlsx_bytes(header, rows, title=title, money=money))
    return download(data, filename, fmt)
