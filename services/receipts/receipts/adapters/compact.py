"""The compact receipt signature printed as a QR code, verifiable offline with the school's public key.

Modelled on the EU Digital COVID Certificate: claims in CBOR, signed as COSE_Sign1 (RFC 9052) with ES256
(ECDSA P-256, SHA-256, raw r‖s), compressed with zlib, Base45-encoded (RFC 9285), prefixed "BL1:".
The protected header carries the key id (kid), so a verifier picks the key from the published key list.
A school whose certification authority issued it one RSA certificate only signs its QR with that key, as
PS256 (RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt: RFC 8230): a larger QR, the same checks.
"""

from __future__ import annotations

import zlib
from typing import Any

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

PREFIX = "BL1:"
# A receipt's claims are a few hundred bytes; a QR holds at most 4,296 characters. Anything that inflates
# past this is not a receipt (a zlib bomb is refused after inflating this much, never more).
MAX_INFLATED = 8192
MAX_TEXT = 4296
ALG_ES256 = -7
ALG_PS256 = -37
ALGORITHMS = (ALG_ES256, ALG_PS256)
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
COSE_SIGN1_TAG = 18
HEADER_ALG, HEADER_KID = 1, 4


class CompactError(ValueError):
    pass


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def sign(claims: dict[str, Any], key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, kid: bytes) -> str:
    alg = ALG_PS256 if isinstance(key, rsa.RSAPrivateKey) else ALG_ES256
    protected = cbor2.dumps({HEADER_ALG: alg, HEADER_KID: kid})
    payload = cbor2.dumps(claims)
    to_sign = _sig_structure(protected, payload)
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(to_sign, _PSS, hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(to_sign, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode()


def unpack(text: str) -> tuple[bytes, dict[str, Any], bytes, bytes]:
    """(kid, claims, signed bytes, raw signature) — nothing is trusted yet."""
    text = text.strip()
    if not text.startswith(PREFIX):
        raise CompactError(f"Không phải mã QR biên lai (phải bắt đầu bằng {PREFIX}).")
    if len(text) > MAX_TEXT:
        raise CompactError(f"Nội dung QR dài hơn một mã QR chứa được ({len(text)} > {MAX_TEXT} ký tự).")
    try:
        cose = cbor2.loads(_inflate(base45.b45decode(text[len(PREFIX) :])))
    except (ValueError, zlib.error, cbor2.CBORDecodeError) as exc:
        raise CompactError(f"Nội dung QR bị hỏng: {exc}") from exc
    if not isinstance(cose, cbor2.CBORTag) or cose.tag != COSE_SIGN1_TAG or len(cose.value) != 4:
        raise CompactError("Mã QR không mang chữ ký biên lai (COSE_Sign1).")
    protected, _unprotected, payload, signature = cose.value
    if not all(isinstance(part, bytes) for part in (protected, payload, signature)):
        raise CompactError("Mã QR không mang chữ ký biên lai (COSE_Sign1).")
    try:
        header, claims = cbor2.loads(protected), cbor2.loads(payload)
    except (ValueError, cbor2.CBORDecodeError) as exc:
        raise CompactError(f"Nội dung QR bị hỏng: {exc}") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise CompactError("Mã QR không mang chữ ký biên lai (COSE_Sign1).")
    if header.get(HEADER_ALG) not in ALGORITHMS:
        raise CompactError(f"Thuật toán ký không được hỗ trợ: {header.get(HEADER_ALG)}.")
    kid = header.get(HEADER_KID)
    if not isinstance(kid, bytes):
        raise CompactError("Mã QR không ghi khóa đã ký.")
    return kid, claims, _sig_structure(protected, payload), signature


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_INFLATED)
    if inflater.unconsumed_tail or not inflater.eof:
        raise CompactError(f"Nội dung QR không giải nén ra biên lai (quá {MAX_INFLATED} byte, hoặc bị cắt).")
    return out


def verify(signed: bytes, signature: bytes, public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> None:
    """The signature by the key's own algorithm (ES256 for an EC key, PS256 for an RSA key): a QR that says
    one algorithm and carries the other's signature fails here."""
    if isinstance(public_key, rsa.RSAPublicKey):
        try:
            public_key.verify(signature, signed, _PSS, hashes.SHA256())
        except InvalidSignature as exc:
            raise CompactError("Chữ ký không khớp với nội dung biên lai.") from exc
        return
    if len(signature) != 64:
        raise CompactError("Chữ ký sai độ dài.")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public_key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise CompactError("Chữ ký không khớp với nội dung biên lai.") from exc
