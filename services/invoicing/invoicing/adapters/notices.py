"""Printed payment notices for families without a smartphone: one per pupil, two per A4 page (each an A5
half to cut), with the VietQR, the amount, the due date, the account and the reference to write by hand in a
transfer at the bank's counter. DejaVu Sans for Vietnamese; the QR drawn as an image from its payload."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from fpdf import FPDF

from invoicing.adapters.unpaid_lists import FONT_DIR
from shared import qr
from shared.formatting import format_vnd

HALF = 148.5  # mm: the A4 page's two A5 halves


@dataclass(frozen=True, kw_only=True)
class Notice:
    class_name: str
    student_code: str
    full_name: str
    period: str  # "MM/YYYY"
    outstanding: int
    due: date | None
    payment_reference: str
    memo: str
    qr_payload: str
    pay_url: str


def notices_pdf(school_name: str, bank: str, account: str, holder: str, notices: Sequence[Notice]) -> bytes:
    doc = FPDF(format="A4", orientation="P")
    doc.set_auto_page_break(False)
    doc.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    doc.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    ordered = sorted(notices, key=lambda n: (n.class_name, n.student_code))
    for i, n in enumerate(ordered):
        if i % 2 == 0:
            doc.add_page()
        top = 0.0 if i % 2 == 0 else HALF
        _notice(doc, top, school_name, bank, account, holder, n)
        if i % 2 == 0:
            doc.set_draw_color(160)
            doc.set_dash_pattern(dash=2, gap=2)  # the cutting line between the two notices
            doc.line(5, HALF, 205, HALF)
            doc.set_dash_pattern()
    if not ordered:
        doc.add_page()
        doc.set_font("DejaVu", "", 11)
        doc.cell(0, 10, f"{school_name}: không có khoản nào còn phải nộp để in giấy báo.")
    return bytes(doc.output())


def _notice(doc: FPDF, top: float, school: str, bank: str, account: str, holder: str, n: Notice) -> None:
    x = 15.0
    doc.set_xy(x, top + 12)
    doc.set_font("DejaVu", "B", 10)
    doc.cell(120, 5, school)
    doc.set_xy(x, top + 19)
    doc.set_font("DejaVu", "B", 14)
    doc.cell(120, 8, "GIẤY BÁO CÁC KHOẢN THU")
    doc.set_font("DejaVu", "", 10)
    lines = [
        ("Học sinh", f"{n.full_name} (mã {n.student_code})"),
        ("Lớp", n.class_name),
        ("Kỳ thu", n.period),
        ("Số tiền cần nộp", format_vnd(n.outstanding)),
        ("Hạn nộp", n.due.strftime("%d/%m/%Y") if n.due else "—"),
        ("Ngân hàng", bank),
        ("Số tài khoản", account),
        ("Chủ tài khoản", holder),
        ("Nội dung chuyển khoản", n.memo),
    ]
    y = top + 31
    for label, value in lines:
        doc.set_xy(x, y)
        doc.set_font("DejaVu", "", 9)
        doc.cell(42, 6, label)
        doc.set_font("DejaVu", "B", 10)
        doc.cell(80, 6, value)
        y += 7
    doc.set_xy(x, y + 3)
    doc.set_font("DejaVu", "", 8)
    doc.multi_cell(
        125, 4.2,
        "Quét mã QR bằng ứng dụng ngân hàng (số tiền và nội dung đã điền sẵn), hoặc chuyển khoản tại quầy với đúng "
        f"nội dung trên. Xem và nhận biên lai: {n.pay_url}",
    )  # fmt: skip
    image = io.BytesIO(qr.png(n.qr_payload, box_size=6, border=2))
    doc.image(image, x=145, y=top + 25, w=52, h=52)
    doc.set_xy(145, top + 78)
    doc.set_font("DejaVu", "B", 9)
    doc.cell(52, 5, n.payment_reference, align="C")
