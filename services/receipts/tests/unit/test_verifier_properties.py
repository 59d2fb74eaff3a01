"""Hostile input, as properties: the receipt verifier answers anything with a verdict, and no change to a
genuine receipt (XML or QR) is ever called valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from hypothesis import given, note
from hypothesis import strategies as st

from receipts.adapters import compact, xmlsig
from receipts.adapters.certificates import cert_pem, issue_school_key, jwk, new_ca
from receipts.app.verification import KeyList, verify_any
from receipts.domain.receipt import Line, ReceiptContent, build_xml

SCHOOL = "MN-HOA-PHUONG"


@cache
def genuine() -> tuple[KeyList, bytes, str]:
    ca = new_ca()
    xml_key = issue_school_key(ca, school_id=SCHOOL, school_name="Trường Mầm non Hoa Phượng", kind="xml")
    qr_key = issue_school_key(ca, school_id=SCHOOL, school_name="Trường Mầm non Hoa Phượng", kind="qr")
    issued = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    content = ReceiptContent(
        school_id=SCHOOL,
        school_name="Trường Mầm non Hoa Phượng",
        school_code=SCHOOL,
        tax_code="0101234567",
        address="Cầu Giấy, Hà Nội",
        form_code="01BLP0-001",
        series_code="BL26",
        number=1,
        issued_at=issued,
        payer_name="Nguyễn Văn Hùng",
        student_name="Nguyễn Ngọc Bảo Anh",
        student_code="2212345001",
        class_name="5A1",
        period="2026-09",
        lines=(Line("Tiền ăn bán trú", 550_000),),
        amount=550_000,
        channel="VIETQR",
        bank_reference="FT26248001937",
        payment_reference="HP7K2QX9AC",
        verification_code="ABCD1234EFGH",
        payment_id="pay-1",
        invoice_id="inv-1",
    )
    xml = xmlsig.sign(build_xml(content), xml_key, issued)
    qr = compact.sign(
        {"s": SCHOOL, "n": 1, "a": 550_000, "t": int(issued.timestamp()), "v": "ABCD1234EFGH"},
        qr_key.key,
        bytes.fromhex(qr_key.kid),
    )
    keys = KeyList(
        {
            "keys": [jwk(m.cert, school_id=SCHOOL, status="active") for m in (xml_key, qr_key)],
            "trust_anchors": [cert_pem(ca.cert)],
        }
    )
    return keys, xml, qr


def test_the_genuine_receipt_verifies():
    keys, xml, qr = genuine()
    assert verify_any(xml, keys).valid and verify_any(qr, keys).valid


@given(st.binary(max_size=2048) | st.text(max_size=2048).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_input_gets_a_verdict(data):
    keys, _, _ = genuine()
    verdict = verify_any(data, keys)
    assert not verdict.valid and verdict.reason


@st.composite
def _changed(draw: st.DrawFn, document: bytes) -> bytes:
    i = draw(st.integers(min_value=0, max_value=len(document) - 1))
    j = draw(st.integers(min_value=i + 1, max_value=min(len(document), i + 8)))
    replacement = draw(st.binary(min_size=1, max_size=8).filter(lambda b: b != document[i:j]))
    return document[:i] + replacement + document[j:]


@given(st.data())
def test_a_changed_xml_receipt_is_never_valid_unless_the_change_is_outside_the_signed_content(data):
    keys, xml, _ = genuine()
    changed = data.draw(_changed(xml))
    note(changed)
    verdict = verify_any(changed, keys)
    if verdict.valid:
        # Only bytes no signature covers may change and still verify (e.g. whitespace between elements
        # or the encoding declaration): the signed data must read exactly as issued.
        assert verdict.fields == verify_any(xml, keys).fields


@given(st.data())
def test_a_changed_qr_text_is_never_valid(data):
    keys, _, qr = genuine()
    i = data.draw(st.integers(min_value=len(compact.PREFIX), max_value=len(qr) - 1))
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    c = data.draw(st.sampled_from(alphabet).filter(lambda c: c != qr[i]))
    changed = qr[:i] + c + qr[i + 1 :]
    note(changed)
    assert not verify_any(changed, keys).valid
