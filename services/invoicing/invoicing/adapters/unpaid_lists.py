"""The printable list of pupils who still owe, one class per page (A4, DejaVu Sans for Vietnamese): what a
homeroom teacher hands out or pins up, with the amount left and the payment reference of each pupil."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from pathlib import Path

from fpdf import FPDF

from shared.formatting import format_vnd

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
# Column titles and widths (mm) of the A4 portrait table.
COLUMNS = (("STT", 10), ("Mã HS", 24), ("Họ và tên", 52), ("Phải nộp", 28), ("Còn lại", 28), ("Mã thanh toán", 38))


@dataclass(frozen=True, kw_only=True)
class Owing:
    class_name: str
    student_code: str
    full_name: str
    total: int
    outstanding: int
    payment_reference: str


def unpaid_pdf(school_name: str, period: str, rows: Sequence[Owing], printed: date) -> bytes:
    doc = FPDF(format="A4", orientation="P")
    doc.set_auto_page_break(True, margin=15)
    doc.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    doc.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    classes = groupby(sorted(rows, key=lambda r: (r.class_name, r.student_code)), key=lambda r: r.class_name)
    for class_name, pupils in classes:
        _page(doc, school_name, period, class_name, list(pupils), printed)
    if not rows:
        doc.add_page()
        doc.set_font("DejaVu", "", 11)
        doc.cell(0, 10, f"{school_name}: không có học sinh nào còn nợ kỳ {period}.", new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def _page(doc: FPDF, school: str, period: str, class_name: str, pupils: list[Owing], printed: date) -> None:
    doc.add_page()
    doc.set_font("DejaVu", "B", 11)
    doc.cell(0, 6, school, new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "B", 13)
    doc.cell(0, 9, f"DANH SÁCH HỌC SINH CHƯA NỘP ĐỦ — LỚP {class_name}", align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 9)
    doc.cell(0, 5, f"Kỳ thu {period} · in ngày {printed:%d/%m/%Y}", align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(3)
    doc.set_font("DejaVu", "B", 9)
    for title, width in COLUMNS:
        doc.cell(width, 7, title, border=1, align="C")
    doc.ln()
    doc.set_font("DejaVu", "", 9)
    for n, p in enumerate(pupils, start=1):
        cells = (
            str(n),
            p.student_code,
            p.full_name,
            format_vnd(p.total),
            format_vnd(p.outstanding),
            p.payment_reference,
        )
        for (title, width), text in zip(COLUMNS, cells, strict=True):
            doc.cell(width, 7, text, border=1, align="R" if title in ("Phải nộp", "Còn lại", "STT") else "L")
        doc.ln()
    doc.set_font("DejaVu", "B", 9)
    doc.cell(sum(w for _, w in COLUMNS[:4]), 7, f"Cộng {len(pupils)} học sinh", border=1, align="R")
    doc.cell(COLUMNS[4][1], 7, format_vnd(sum(p.outstanding for p in pupils)), border=1, align="R")
    doc.cell(COLUMNS[5][1], 7, "", border=1)
    doc.ln(12)
    doc.set_font("DejaVu", "", 9)
    doc.cell(95, 5, "Giáo viên chủ nhiệm", align="C")
    doc.cell(95, 5, "Kế toán", align="C", new_x="LMARGIN", new_y="NEXT")
    doc.cell(95, 5, "(ký, ghi rõ họ tên)", align="C")
    doc.cell(95, 5, "(ký, ghi rõ họ tên)", align="C", new_x="LMARGIN", new_y="NEXT")
