import pytest

from invoicing.adapters import vietqr


def test_crc16_ccitt_false_matches_the_published_check_value():
    # CRC-16/CCITT-FALSE check value for "123456789" (catalogue of parametrised CRC algorithms).
    assert vietqr.crc16_ccitt_false("123456789") == "29B1"


def test_a_dynamic_payload_has_every_tag_in_order_and_decodes_back():
    payload = vietqr.encode(bin="970436", account="0011001234567", amount=1_250_000, purpose="HPXXXX T09 2026")
    assert payload.startswith("000201010212")
    assert "0010A000000727" in payload and "0208QRIBFTTA" in payload and "5303704" in payload
    assert "54071250000" in payload and "5802VN" in payload and payload[-8:-4] == "6304"
    qr = vietqr.decode(payload)
    assert (qr.bin, qr.account, qr.amount, qr.purpose, qr.initiation) == (
        "970436",
        "0011001234567",
        1_250_000,
        "HPXXXX T09 2026",
        "dynamic",
    )


def test_a_static_payload_has_no_amount():
    qr = vietqr.decode(vietqr.encode(bin="970415", account="123456789"))
    assert qr.initiation == "static" and qr.amount is None and qr.purpose is None


def test_a_known_payload_from_outside_decodes():
    # Built by hand from the NAPAS layout, CRC computed independently below.
    body = (
        "00020101021238570010A00000072701270006970422011303291013660140208QRIBFTTA"
        "530370454061000005802VN62140810THANH TOAN6304"
    )
    qr = vietqr.decode(body + vietqr.crc16_ccitt_false(body))
    assert (qr.bin, qr.account, qr.amount, qr.purpose) == ("970422", "0329101366014", 100000, "THANH TOAN")


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda p: p[:-4] + "0000", "bad CRC"),
        (lambda p: p[:-8], "missing CRC"),
        (lambda p: _recrc(p.replace("5303704", "5303840")), r"tag 53 \(currency\) must be 704"),
        (lambda p: _recrc(p.replace("0010A000000727", "0010A000000999")), "GUID"),
        (lambda p: _recrc(p.replace("5802VN", "5802TH")), "tag 58"),
        (lambda p: _recrc(p.replace("010212", "010213")), "tag 01"),
    ],
)
def test_a_broken_payload_is_refused_with_a_precise_reason(mangle, message):
    good = vietqr.encode(bin="970436", account="0011001234567", amount=50_000, purpose="HP")
    with pytest.raises(vietqr.VietQRError, match=message):
        vietqr.decode(mangle(good))


def _recrc(payload: str) -> str:
    body = payload[:-4]
    return body + vietqr.crc16_ccitt_false(body)


def test_well_formed_unknown_tags_are_shown_not_refused():
    body = vietqr.encode(bin="970436", account="001100123", amount=1000)[:-8]
    body = body + "9903ABC" + "6304"
    qr = vietqr.decode(body + vietqr.crc16_ccitt_false(body))
    assert qr.unknown_tags == {"99": "ABC"}


def test_encoding_refuses_what_apps_would_reject():
    with pytest.raises(vietqr.VietQRError, match="diacritics"):
        vietqr.encode(bin="970436", account="001100123", purpose="Học phí")
    with pytest.raises(vietqr.VietQRError, match="longer than 25"):
        vietqr.encode(bin="970436", account="001100123", purpose="X" * 26)
    with pytest.raises(vietqr.VietQRError, match="whole number"):
        vietqr.encode(bin="970436", account="001100123", amount=0)
