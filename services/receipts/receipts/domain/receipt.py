"""The receipt document (biên lai điện tử): its content and its XML, in the tax authority's style. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from receipts.domain.words import amount_in_words
from shared.formatting import VN
from shared.money import allocate

DATA_ID = "data"
CHANNEL_VI = {
    "BANK_TRANSFER": "Chuyển khoản",
    "VIETQR": "Chuyển khoản (VietQR)",
    "CARD": "Thẻ",
    "E_WALLET": "Ví điện tử",
    "CASH": "Tiền mặt",
    "OTHER": "Khác",
}


@dataclass(frozen=True)
class Line:
    name: str
    amount: int


EXCESS_LINE = "Số tiền nộp thừa (chuyển số dư)"


def lines_paid(invoice_lines: list[tuple[str, int]], total: int, amount: int) -> tuple[Line, ...]:
    """The lines a receipt of `amount` shows: they always add up to the amount received.

    The allocation rule (the dashboard splits fee types the same way):
    - a payment of the whole invoice shows its lines as they stand (adjustments included);
    - a payment of part of it is spread over the invoice's lines in proportion to their amounts, by the
      largest remainder (ties to the earlier line), so no line shows more than it asks;
    - a payment of more than its lines shows them in full and the excess on a line of its own."""
    if amount == total:
        return tuple(Line(name, a) for name, a in invoice_lines if a != 0)
    lines = [(name, a) for name, a in invoice_lines if a > 0]
    asked = sum(a for _, a in lines)
    if amount >= asked:
        excess = [Line(EXCESS_LINE, amount - asked)] if amount > asked else []
        return tuple([Line(name, a) for name, a in lines] + excess)
    parts = allocate(amount, [a for _, a in lines])
    return tuple(Line(name, part) for (name, _), part in zip(lines, parts, strict=True) if part > 0)


def read_lines(data: etree._Element) -> list[tuple[str, int]]:
    """The lines as signed in the receipt (not as the invoice asks)."""
    return [
        (item.findtext("Ten") or "", int(item.findtext("STien") or 0)) for item in data.findall("NDBLai/DSKThu/KThu")
    ]


@dataclass(frozen=True, kw_only=True)
class ReceiptContent:
    school_id: str
    school_name: str
    school_code: str
    tax_code: str
    address: str
    form_code: str
    series_code: str
    number: int
    issued_at: datetime
    payer_name: str
    student_name: str
    student_code: str
    class_name: str
    period: str
    lines: tuple[Line, ...]
    amount: int
    channel: str
    bank_reference: str
    payment_reference: str
    verification_code: str
    payment_id: str
    invoice_id: str
    replaces: str = ""  # "<series> <number>" of the receipt this one replaces
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def number_text(self) -> str:
        return f"{self.number:07d}"

    @property
    def amount_words(self) -> str:
        return amount_in_words(self.amount)


def _sub(parent: etree._Element, tag: str, text: object | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def build_xml(c: ReceiptContent) -> etree._Element:
    root = etree.Element("BLai")
    data = _sub(root, "DLBLai")
    data.set("Id", DATA_ID)
    general = _sub(data, "TTChung")
    _sub(general, "PBan", "1.0.0")
    _sub(general, "TBLai", "Biên lai thu tiền phí, lệ phí (học phí và các khoản thu dịch vụ giáo dục)")
    _sub(general, "KHMSBLai", c.form_code)
    _sub(general, "KHBLai", c.series_code)
    _sub(general, "SBLai", c.number_text)
    _sub(general, "NLap", c.issued_at.astimezone(VN).isoformat(timespec="seconds"))
    _sub(general, "DVTTe", "VND")
    _sub(general, "MTCuu", c.verification_code)
    if c.replaces:
        related = _sub(general, "TTBLLQuan")
        _sub(related, "TCBLai", "Thay thế")
        _sub(related, "BLaiBTThe", c.replaces)
    content = _sub(data, "NDBLai")
    seller = _sub(content, "NBan")
    _sub(seller, "Ten", c.school_name)
    _sub(seller, "MDVi", c.school_code)
    _sub(seller, "MST", c.tax_code)
    _sub(seller, "DChi", c.address)
    payer = _sub(content, "NNop")
    _sub(payer, "Ten", c.payer_name)
    _sub(payer, "HVTHSinh", c.student_name)
    _sub(payer, "MHSinh", c.student_code)
    _sub(payer, "Lop", c.class_name)
    items = _sub(content, "DSKThu")
    for n, line in enumerate(c.lines, start=1):
        item = _sub(items, "KThu")
        _sub(item, "STT", n)
        _sub(item, "Ten", line.name)
        _sub(item, "STien", line.amount)
    total = _sub(content, "TToan")
    _sub(total, "TgSTien", c.amount)
    _sub(total, "TgSTienBChu", c.amount_words)
    other = _sub(content, "TTKhac")
    for key, value in (
        ("KyThu", c.period),
        ("HThucTToan", CHANNEL_VI.get(c.channel, c.channel)),
        ("MaGDNHang", c.bank_reference),
        ("MaThanhToan", c.payment_reference),
        ("MaGDich", c.payment_id),
        ("MaHDon", c.invoice_id),
        ("MaTruong", c.school_id),
        *sorted(c.extra.items()),
    ):
        field_el = _sub(other, "TTin")
        _sub(field_el, "TTruong", key)
        _sub(field_el, "DLieu", value)
    etree.SubElement(root, "DSCKS")
    return root


def read_fields(data: etree._Element) -> dict[str, str]:
    """The fields a verifier shows, read from the signed data element only."""

    def text(path: str) -> str:
        el = data.find(path)
        return el.text or "" if el is not None else ""

    other = {t.findtext("TTruong"): t.findtext("DLieu") or "" for t in data.findall("NDBLai/TTKhac/TTin")}
    return {
        "school_id": other.get("MaTruong", ""),
        "school_name": text("NDBLai/NBan/Ten"),
        "form_code": text("TTChung/KHMSBLai"),
        "series_code": text("TTChung/KHBLai"),
        "number": text("TTChung/SBLai"),
        "issued_at": text("TTChung/NLap"),
        "verification_code": text("TTChung/MTCuu"),
        "payer_name": text("NDBLai/NNop/Ten"),
        "student_name": text("NDBLai/NNop/HVTHSinh"),
        "amount": text("NDBLai/TToan/TgSTien"),
        "amount_words": text("NDBLai/TToan/TgSTienBChu"),
        "channel": other.get("HThucTToan", ""),
        "bank_reference": other.get("MaGDNHang", ""),
        "period": other.get("KyThu", ""),
    }
