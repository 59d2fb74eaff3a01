"""The receipt as people see it: a PDF (fpdf2, DejaVu Sans for Vietnamese) carrying its signed XML as an
attachment and the verification QR, and an HTML page with the same content."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from fpdf import FPDF

from shared import qr
from shared.formatting import format_vnd

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def pdf(fields: dict[str, Any], lines: list[tuple[str, int]], *, xml: bytes, qr_text: str, verify_url: str) -> bytes:
    doc = FPDF(format=(148, 210), orientation="P")  # A5, in mm
    doc.set_auto_page_break(True, margin=10)
    doc.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    doc.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    doc.add_page()
    _heading(doc, fields)
    _body(doc, fields, lines)
    _footer(doc, fields, qr_text, verify_url)
    doc.embed_file(basename="bienlai.xml", bytes=xml, desc="Biên lai điện tử đã ký số (XML)")
    return bytes(doc.output())


def _heading(doc: FPDF, fields: dict[str, Any]) -> None:
    doc.set_font("DejaVu", "B", 11)
    doc.multi_cell(0, 6, fields["school_name"], align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 8)
    doc.cell(0, 5, f"Mã số thuế/Mã ĐVQHNS: {fields['tax_code'] or '—'}", align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    doc.set_font("DejaVu", "B", 13)
    doc.cell(0, 8, "BIÊN LAI THU TIỀN", align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 8)
    doc.cell(
        0,
        5,
        f"Mẫu số: {fields['form_code']}   Ký hiệu: {fields['series_code']}   Số: {fields['number']}",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    doc.cell(0, 5, f"Ngày lập: {fields['issued_local']}", align="C", new_x="LMARGIN", new_y="NEXT")


def _body(doc: FPDF, fields: dict[str, Any], lines: list[tuple[str, int]]) -> None:
    doc.ln(3)
    doc.set_font("DejaVu", "", 9)
    for label, value in (
        ("Người nộp", fields["payer_name"]),
        ("Học sinh", fields["student_name"]),
        ("Mã học sinh", fields["student_code"]),
        ("Lớp", fields["class_name"]),
        ("Kỳ thu", fields["period"]),
        ("Hình thức", fields["channel"]),
        ("Mã giao dịch", fields["bank_reference"] or "—"),
    ):
        doc.cell(30, 5, f"{label}:")
        doc.multi_cell(0, 5, str(value), new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    doc.set_font("DejaVu", "B", 9)
    doc.cell(90, 6, "Khoản thu", border="B")
    doc.cell(0, 6, "Số tiền", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 9)
    for name, amount in lines:
        doc.cell(90, 6, name)
        doc.cell(0, 6, format_vnd(amount), align="R", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "B", 10)
    doc.cell(90, 7, "Số tiền đã nộp", border="T")
    doc.cell(0, 7, format_vnd(fields["amount"]), border="T", align="R", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 9)
    doc.multi_cell(0, 5, f"Bằng chữ: {fields['amount_words']}", new_x="LMARGIN", new_y="NEXT")


def _footer(doc: FPDF, fields: dict[str, Any], qr_text: str, verify_url: str) -> None:
    doc.ln(3)
    y = doc.get_y()
    doc.image(io.BytesIO(qr.png(qr_text, box_size=4, border=2)), x=doc.l_margin, y=y, w=32)
    doc.set_xy(doc.l_margin + 36, y)
    doc.set_font("DejaVu", "", 8)
    doc.multi_cell(
        0,
        4,
        f"Mã tra cứu: {fields['verification_code']}\nKý số bởi {fields['school_name']}.\n"
        f"Quét mã QR để kiểm tra biên lai (kể cả khi không có mạng) hoặc tra cứu tại {verify_url}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
