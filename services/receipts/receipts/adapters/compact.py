"""The compact receipt signature printed as a QR code, verifiable offline with the school's public key.

Modelled on the EU Digital COVID Certificate: claims in CBOR, signed as COSE_Sign1 (RFC 9052) with ES256
(ECDSA P-256, SHA-256, raw r‖s), compressed with zlib, Base45-encoded (RFC 9285), prefixed "BL1:".
The protected header carries the key id (kid), so a verifier picks the key from the published key list.
"""

from __future__ import annotations

import zlib
from typing import Any

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

PREFIX = "BL1:"
ALG_ES256 = -7
COSE_SIGN1_TAG = 18
HEADER_ALG, HEADER_KID = 1, 4


class CompactError(ValueError):
    pass


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def sign(claims: dict[str, Any], key: ec.EllipticCurvePrivateKey, kid: bytes) -> str:
    protected = cbor2.dumps({HEADER_ALG: ALG_ES256, HEADER_KID: kid})
    payload = cbor2.dumps(claims)
    r, s = decode_dss_signature(key.sign(_sig_structure(protected, payload), ec.ECDSA(hashes.SHA256())))
    cose = cbor2.dumps(
        cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, r.to_bytes(32, "big") + s.to_bytes(32, "big")])
    )
    return PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode()


def unpack(text: str) -> tuple[bytes, dict[str, Any], bytes, bytes]:
    """(kid, claims, signed bytes, raw signature) — nothing is trusted yet."""
    text = text.strip()
    if not text.startswith(PREFIX):
        raise CompactError(f"not a receipt QR (it must start with {PREFIX})")
    try:
        cose = cbor2.loads(zlib.decompress(base45.b45decode(text[len(PREFIX) :])))
    except (ValueError, zlib.error, cbor2.CBORDecodeError) as exc:
        raise CompactError(f"the QR text is damaged: {exc}") from exc
    if not isinstance(cose, cbor2.CBORTag) or cose.tag != COSE_SIGN1_TAG or len(cose.value) != 4:
        raise CompactError("not a COSE_Sign1 structure")
    protected, _unprotected, payload, signature = cose.value
    header = cbor2.loads(protected)
    if header.get(HEADER_ALG) != ALG_ES256:
        raise CompactError(f"unsupported algorithm {header.get(HEADER_ALG)}")
    kid = header.get(HEADER_KID)
    if not isinstance(kid, bytes):
        raise CompactError("no key id in the protected header")
    return kid, cbor2.loads(payload), _sig_structure(protected, payload), signature


def verify(signed: bytes, signature: bytes, public_key: ec.EllipticCurvePublicKey) -> None:
    if len(signature) != 64:
        raise CompactError("signature has the wrong length")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public_key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise CompactError("signature does not match the receipt data") from exc
