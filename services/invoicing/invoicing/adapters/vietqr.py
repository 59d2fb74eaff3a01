"""VietQR (NAPAS 247 on EMVCo Merchant-Presented Mode): encode and decode payment payloads.

Layout (see tests/samples/README.md): 00 format "01"; 01 "11" static / "12" dynamic; 38 merchant
account: 00 GUID A000000727, 01 beneficiary (00 BIN, 01 account/card), 02 service QRIBFTTA (account) or
QRIBFTTC (card); 53 currency "704"; 54 amount (whole đồng); 58 "VN"; 62 additional data, 08 purpose;
63 CRC-16/CCITT-FALSE over everything before it including "6304", 4 upper-case hex digits.
Lengths are two decimal digits counting characters.
"""

from __future__ import annotations

import binascii
import functools
import re
from dataclasses import asdict, dataclass, field

NAPAS_GUID = "A000000727"
SERVICE_ACCOUNT = "QRIBFTTA"
SERVICE_CARD = "QRIBFTTC"
PURPOSE_MAX = 25
# EMV's basic character set for alphanumeric-special fields: printable ASCII.
_BASIC = re.compile(r"^[\x20-\x7e]*$")


class VietQRError(ValueError):
    """A payload that is not a valid VietQR; the message names the field and what is wrong."""


def crc16_ccitt_false(data: str) -> str:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, not reflected, no final xor (the standard
    library's CRC-CCITT started at 0xFFFF)."""
    return f"{binascii.crc_hqx(data.encode('utf-8'), 0xFFFF):04X}"


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise VietQRError(f"tag {tag}: value longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def encode(
    *, bin: str, account: str, amount: int | None = None, purpose: str | None = None, service: str = SERVICE_ACCOUNT
) -> str:
    """A VietQR payload: dynamic when an amount is given, static otherwise."""
    if amount is not None and (type(amount) is not int or amount <= 0 or amount > 9_999_999_999_999):
        raise VietQRError(f"amount must be a positive whole number of đồng, got {amount!r}")
    if purpose is not None:
        if len(purpose) > PURPOSE_MAX:
            raise VietQRError(f"purpose longer than {PURPOSE_MAX} characters: {purpose!r}")
        if not _BASIC.match(purpose):
            raise VietQRError(f"purpose must use the basic character set (no diacritics): {purpose!r}")
    out = _head(bin, account, service, bool(amount))
    if amount:
        out += _tlv("54", str(amount))
    out += "5802VN"
    if purpose:
        out += _tlv("62", _tlv("08", purpose))
    out += "6304"
    return out + crc16_ccitt_false(out)


@functools.lru_cache(maxsize=1024)
def _head(bin: str, account: str, service: str, dynamic: bool) -> str:
    """Tags 00 to 53, the same for every payload of a school's account: checked and built once."""
    if not re.fullmatch(r"\d{6}", bin):
        raise VietQRError(f"bank BIN must be 6 digits, got {bin!r}")
    if not re.fullmatch(r"[0-9A-Za-z]{1,19}", account):
        raise VietQRError(f"account must be 1–19 letters or digits, got {account!r}")
    if service not in (SERVICE_ACCOUNT, SERVICE_CARD):
        raise VietQRError(f"service must be {SERVICE_ACCOUNT} or {SERVICE_CARD}, got {service!r}")
    beneficiary = _tlv("00", bin) + _tlv("01", account)
    merchant = _tlv("00", NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", service)
    return _tlv("00", "01") + _tlv("01", "12" if dynamic else "11") + _tlv("38", merchant) + _tlv("53", "704")


@dataclass(kw_only=True)
class VietQR:
    bin: str
    account: str
    service: str
    amount: int | None
    purpose: str | None
    currency: str
    country: str
    initiation: str  # "static" or "dynamic"
    unknown_tags: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _parse_tlv(data: str, where: str) -> list[tuple[str, str]]:
    items, i = [], 0
    while i < len(data):
        if i + 4 > len(data):
            raise VietQRError(f"{where}: truncated tag/length at position {i}")
        tag, length = data[i : i + 2], data[i + 2 : i + 4]
        if not tag.isdigit() or not length.isdigit():
            raise VietQRError(f"{where}: malformed tag {tag!r} / length {length!r} at position {i}")
        end = i + 4 + int(length)
        if end > len(data):
            raise VietQRError(f"{where}: tag {tag} says {int(length)} characters, only {len(data) - i - 4} left")
        items.append((tag, data[i + 4 : end]))
        i = end
    return items


def decode(payload: str) -> VietQR:
    payload = payload.strip()
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise VietQRError("missing CRC: the payload must end with tag 63, length 04 and 4 hex digits")
    expected = crc16_ccitt_false(payload[:-4])
    if payload[-4:].upper() != expected:
        raise VietQRError(f"bad CRC: payload says {payload[-4:]}, computed {expected}")
    fields = dict(_parse_tlv(payload[:-8], "payload"))
    unknown: dict[str, str] = {}
    if fields.get("00") != "01":
        raise VietQRError(f"tag 00 (payload format) must be '01', got {fields.get('00')!r}")
    initiation = {"11": "static", "12": "dynamic"}.get(fields.get("01", ""))
    if initiation is None:
        raise VietQRError(f"tag 01 (initiation) must be '11' or '12', got {fields.get('01')!r}")
    if "38" not in fields:
        raise VietQRError("tag 38 (NAPAS merchant account) is missing")
    merchant = dict(_parse_tlv(fields["38"], "tag 38"))
    if merchant.get("00") != NAPAS_GUID:
        raise VietQRError(f"tag 38.00 (GUID) must be {NAPAS_GUID}, got {merchant.get('00')!r}")
    beneficiary = dict(_parse_tlv(merchant.get("01", ""), "tag 38.01"))
    bank_bin, account = beneficiary.get("00"), beneficiary.get("01")
    if not bank_bin or not re.fullmatch(r"\d{6}", bank_bin):
        raise VietQRError(f"tag 38.01.00 (bank BIN) must be 6 digits, got {bank_bin!r}")
    if not account:
        raise VietQRError("tag 38.01.01 (account or card number) is missing")
    service = merchant.get("02", "")
    if service not in (SERVICE_ACCOUNT, SERVICE_CARD):
        raise VietQRError(f"tag 38.02 (service) must be {SERVICE_ACCOUNT} or {SERVICE_CARD}, got {service!r}")
    currency = fields.get("53", "")
    if currency != "704":
        raise VietQRError(f"tag 53 (currency) must be 704 (VND), got {currency!r}")
    amount = None
    if "54" in fields:
        if not re.fullmatch(r"[1-9]\d*", fields["54"]):
            raise VietQRError(f"tag 54 (amount) must be a whole number of đồng, got {fields['54']!r}")
        amount = int(fields["54"])
    if initiation == "dynamic" and amount is None:
        raise VietQRError("a dynamic VietQR (tag 01 = 12) must carry an amount (tag 54)")
    country = fields.get("58", "")
    if country != "VN":
        raise VietQRError(f"tag 58 (country) must be VN, got {country!r}")
    purpose = None
    if "62" in fields:
        additional = dict(_parse_tlv(fields["62"], "tag 62"))
        purpose = additional.get("08")
        unknown.update({f"62.{k}": v for k, v in additional.items() if k != "08"})
    unknown.update({k: v for k, v in fields.items() if k not in {"00", "01", "38", "53", "54", "58", "62"}})
    return VietQR(
        bin=bank_bin,
        account=account,
        service=service,
        amount=amount,
        purpose=purpose,
        currency=currency,
        country=country,
        initiation=initiation,
        unknown_tags=unknown,
    )
