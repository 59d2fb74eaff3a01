"""Crafted spreadsheets for tests of the upload bounds (not imported by the services)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook

# The outside formats' real samples the tests read (kept in the repository: a clone alone runs the suite).
SAMPLES = Path(__file__).resolve().parents[1] / "tests" / "samples"


def xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def crafted_xlsx(rows: list[list[object]], *, far_row: int = 1_000_000, dimension: str = "A1:XFD1048576") -> bytes:
    """A small workbook whose sheet claims a huge dimension and holds one more cell `far_row` rows down:
    read naively, it is a million rows of 16,384 columns."""
    source = zipfile.ZipFile(io.BytesIO(xlsx(rows)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>', text)
                text = text.replace(
                    "</sheetData>", f'<row r="{far_row}"><c r="A{far_row}" t="n"><v>1</v></c></row></sheetData>'
                )
                data = text.encode()
            z.writestr(item, data)
    return out.getvalue()


def zip_bomb_xlsx(rows: list[list[object]], inflated: int = 200 * 1024 * 1024) -> bytes:
    """A valid workbook plus a part that inflates to `inflated` bytes of zeros."""
    out = io.BytesIO(xlsx(rows))
    with (
        zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z,
        z.open("xl/media/padding.bin", "w", force_zip64=True) as f,
    ):
        chunk = b"\0" * (1024 * 1024)
        for _ in range(inflated // len(chunk)):
            f.write(chunk)
    return out.getvalue()
