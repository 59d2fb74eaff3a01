"""The district's periodic report as files: an Excel workbook and an A4 landscape PDF (fpdf2, DejaVu Sans for
Vietnamese), in the layout of an administrative report: the office and the national motto, the place and
date, the title and period, three sections, the plans it is judged against, and the signatures."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reporting.domain.report import FEE_COLUMNS, INDICATOR_COLUMNS, SCHOOL_COLUMNS, Report
from shared.exports import safe_cell

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
RECEIVERS = "Nơi nhận:\n- Như trên;\n- Lưu: VT."
SECTIONS = ("I. CÁC CHỈ TIÊU CỦA KẾ HOẠCH", "II. THEO TỪNG TRƯỜNG", "III. THEO KHOẢN THU")


def dated(report: Report) -> str:
    d = report.signing.reporting_date
    return f"{report.signing.place + ', ' if report.signing.place else ''}ngày {d.day} tháng {d.month} năm {d.year}"


def _shown(v: object) -> str:
    if v is None:
        return "—"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}".replace(",", ".")
    if isinstance(v, float):
        return f"{v:.1f}".replace(".", ",")
    return str(v)


# --- Excel ---------------------------------------------------------------------------------------------------


def report_xlsx(report: Report) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Bao cao"
    bold = Font(bold=True)
    _put(ws, 1, [report.signing.office.upper(), *[""] * 6, MOTTO[0]], bold)
    _put(ws, 2, [report.signing.number_line, *[""] * 6, MOTTO[1]], bold)
    _put(ws, 3, ["", *[""] * 6, dated(report)])
    _put(ws, 5, [report.title], Font(bold=True, size=13))
    _put(ws, 6, [f"Kỳ báo cáo: {report.period_label} (mục tiêu của năm học {report.school_year})"])
    if report.signing.recipient:
        _put(ws, 7, [f"Kính gửi: {report.signing.recipient}"])
    row = 9
    for title, header, rows in zip(
        SECTIONS, (INDICATOR_COLUMNS, SCHOOL_COLUMNS, FEE_COLUMNS), _tables(report), strict=True
    ):
        _put(ws, row, [title], bold)
        _put(ws, row + 1, list(header), bold)
        for n, values in enumerate(rows, start=row + 2):
            _put(ws, n, list(values))
        row += len(rows) + 3
    _put(ws, row, ["Căn cứ: " + ("; ".join(report.plan_sources) or "mục tiêu chung (chưa có kế hoạch của phòng)")])
    _put(ws, row + 2, ["NGƯỜI LẬP BIỂU", *[""] * 6, report.signing.signatory_title.upper()], bold)
    _put(ws, row + 3, ["(Ký, ghi rõ họ tên)", *[""] * 6, "(Ký, ghi rõ họ tên, đóng dấu)"])
    _put(ws, row + 7, [report.signing.prepared_by, *[""] * 6, report.signing.signatory], bold)
    _put(ws, row + 9, [RECEIVERS])
    for i, width in enumerate((34, 30, 16, 16, 14, 18, 14, 30, 14, 14, 22), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _tables(report: Report) -> tuple[list[tuple[object, ...]], ...]:
    return report.indicators, report.schools, report.fee_types


def _put(ws: Worksheet, row: int, values: list[object], font: Font | None = None) -> None:
    for col, value in enumerate(values, start=1):
        if value == "":
            continue
        cell = ws.cell(row=row, column=col, value=safe_cell(value))
        if isinstance(value, str):
            cell.data_type = "s"
        elif isinstance(value, int) and not isinstance(value, bool):
            cell.number_format = "#,##0"
        elif isinstance(value, float):
            cell.number_format = "0.0"
        if font is not None:
            cell.font = font
        cell.alignment = Alignment(wrap_text=isinstance(value, str) and len(value) > 40, vertical="top")


# --- PDF -----------------------------------------------------------------------------------------------------

INDICATOR_WIDTHS = (95, 32, 32, 25, 25, 30)
SCHOOL_WIDTHS = (9, 62, 26, 26, 16, 26, 18, 18, 16, 16, 44)
FEE_WIDTHS = (60, 40, 40, 30, 40, 30)


def report_pdf(report: Report) -> bytes:
    doc = FPDF(format="A4", orientation="L")
    doc.set_auto_page_break(True, margin=12)
    doc.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    doc.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    doc.add_page()
    _heading(doc, report)
    for title, header, widths, rows in zip(
        SECTIONS,
        (INDICATOR_COLUMNS, SCHOOL_COLUMNS, FEE_COLUMNS),
        (INDICATOR_WIDTHS, SCHOOL_WIDTHS, FEE_WIDTHS),
        _tables(report),
        strict=True,
    ):
        doc.set_font("DejaVu", "B", 10)
        doc.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        _table(doc, header, widths, rows)
    _signatures(doc, report)
    return bytes(doc.output())


def _heading(doc: FPDF, report: Report) -> None:
    doc.set_font("DejaVu", "B", 10)
    doc.cell(120, 5, report.signing.office.upper(), align="C")
    doc.cell(0, 5, MOTTO[0], align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 9)
    doc.cell(120, 5, report.signing.number_line, align="C")
    doc.set_font("DejaVu", "B", 10)
    doc.cell(0, 5, MOTTO[1], align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 9)
    doc.cell(120, 6, "")
    doc.cell(0, 6, dated(report), align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(3)
    doc.set_font("DejaVu", "B", 13)
    doc.cell(0, 8, report.title, align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 10)
    line = f"Kỳ báo cáo: {report.period_label} (mục tiêu của năm học {report.school_year})"
    doc.cell(0, 6, line, align="C", new_x="LMARGIN", new_y="NEXT")
    if report.signing.recipient:
        doc.cell(0, 6, f"Kính gửi: {report.signing.recipient}", align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)


def _table(doc: FPDF, header: Sequence[str], widths: Sequence[int], rows: list[tuple[object, ...]]) -> None:
    doc.set_font("DejaVu", "B", 7)
    with doc.table(col_widths=widths, text_align="CENTER", line_height=4, width=sum(widths)) as table:
        table.row(list(header))
        doc.set_font("DejaVu", "", 7)
        for values in rows:
            table.row([_shown(v) for v in values])
    doc.ln(3)


def _signatures(doc: FPDF, report: Report) -> None:
    doc.set_font("DejaVu", "", 8)
    sources = "; ".join(report.plan_sources) or "mục tiêu chung (chưa có kế hoạch của phòng)"
    doc.multi_cell(0, 5, f"Căn cứ: {sources}", new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    doc.set_font("DejaVu", "B", 10)
    doc.cell(130, 6, "NGƯỜI LẬP BIỂU", align="C")
    doc.cell(0, 6, report.signing.signatory_title.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 8)
    doc.cell(130, 5, "(Ký, ghi rõ họ tên)", align="C")
    doc.cell(0, 5, "(Ký, ghi rõ họ tên, đóng dấu)", align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(18)
    doc.set_font("DejaVu", "B", 10)
    doc.cell(130, 6, report.signing.prepared_by, align="C")
    doc.cell(0, 6, report.signing.signatory, align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    doc.set_font("DejaVu", "", 8)
    doc.multi_cell(130, 4, RECEIVERS, new_x="LMARGIN", new_y="NEXT")
