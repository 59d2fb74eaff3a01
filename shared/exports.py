"""CSV and Excel files the suite hands out, safe to open in a spreadsheet program.

A school name, a memo or a payer's name is someone else's text: written as it is, `=HYPERLINK(...)` or
`+cmd|...` becomes a live formula when an official opens the file (CSV injection, OWASP). Text that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a leading apostrophe, which
spreadsheet programs show as text; numbers stay numbers. In .xlsx every text cell is stored as a string,
never as a formula. CSV starts with a byte-order mark so that Excel reads Vietnamese as UTF-8.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

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
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[object]], *, title: str = "Bao cao") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in [header, *rows]:
        # Control characters cannot be stored in a worksheet at all: they are dropped.
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in map(safe_cell, row)])
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would store a text starting with "=" as a formula
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def download(data: bytes, filename: str, fmt: str) -> Response:
    media = "text/csv; charset=utf-8" if fmt == "csv" else XLSX_MEDIA_TYPE
    return Response(data, media_type=media, headers={"Content-Disposition": attachment(f"{filename}.{fmt}")})


def attachment(filename: str, disposition: str = "attachment") -> str:
    """A Content-Disposition header whatever the name holds (ids come from the URL): ASCII letters,
    digits, dot, dash and underscore only."""
    return f'{disposition}; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:150]}"'
