"""School signing keys: a local CA for development, PKCS#12 import for certificates from a real CA.

Each school has two keys: RSA-2048 with an X.509 certificate for the XML receipt (the tax authority's
layout uses RSA-SHA256), and ECDSA P-256 for the compact QR signature. Private keys are kept only as
encrypted PKCS#12 (the service's key-encryption secret); they never appear in logs, events or responses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from shared.errors import Invalid

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CertificateError(Invalid, ValueError):
    """A PKCS#12 file that cannot serve as a school's signing key; the message says why."""


@dataclass(frozen=True)
class KeyMaterial:
    key: PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def kid(self) -> str:
        """Key id: first 8 bytes of the certificate's SHA-256, hex (as EU DCC does)."""
        return self.cert.fingerprint(hashes.SHA256())[:8].hex()


def kid_of(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256())[:8].hex()


def _name(common: str, org: str = "Phòng GD&ĐT (development CA)") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def new_ca(common_name: str = "Tuition Suite Development CA") -> KeyMaterial:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return KeyMaterial(key, cert)


def issue_school_key(
    ca: KeyMaterial, *, school_id: str, school_name: str, kind: str, days: int = 730, not_before: datetime | None = None
) -> KeyMaterial:
    key: PrivateKey = (
        rsa.generate_private_key(65537, 2048) if kind == "xml" else ec.generate_private_key(ec.SECP256R1())
    )
    start = not_before or datetime.now(UTC) - timedelta(days=1)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, school_name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, school_id),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{school_name} ({kind})"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca.key, hashes.SHA256())
    )
    return KeyMaterial(key, cert, (ca.cert,))


def to_p12(material: KeyMaterial, secret: str) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"tuition",
        material.key,
        material.cert,
        list(material.chain),
        serialization.BestAvailableEncryption(secret.encode()),
    )


def from_p12(data: bytes, password: str) -> KeyMaterial:
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError as exc:
        raise CertificateError(f"Không mở được tệp PKCS#12 (sai mật khẩu hoặc tệp hỏng): {exc}") from exc
    if key is None or cert is None:
        raise CertificateError("Tệp PKCS#12 phải chứa khóa bí mật và chứng thư của nó.")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateError("Chỉ hỗ trợ khóa RSA và ECDSA.")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise CertificateError("Chứng thư không thuộc về khóa bí mật trong tệp.")
    return KeyMaterial(key, cert, tuple(chain))


def chain_to_root(material: KeyMaterial, anchors: tuple[x509.Certificate, ...] = ()) -> tuple[x509.Certificate, ...]:
    """The certificates above the school's, in order up to the root: from the PKCS#12's chain, completed with
    the trusted authority that issued its top when `anchors` are given (at import). A verifier that trusts
    only the root can then build the path from the signature alone."""
    pool = [c for c in (*material.chain, *anchors) if c != material.cert]
    out: list[x509.Certificate] = []
    current = material.cert
    while current.issuer != current.subject and len(out) < 8:
        parent = next((c for c in pool if c.subject == current.issuer and c not in out), None)
        if parent is None:
            break
        out.append(parent)
        current = parent
    return tuple(out)


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def chain_pem(certs: tuple[x509.Certificate, ...]) -> str:
    return "".join(cert_pem(c) for c in certs)


def intermediates(material: KeyMaterial) -> tuple[x509.Certificate, ...]:
    """The chain's certificates between the school's and a root (roots are trusted by configuration)."""
    return tuple(c for c in material.chain if c.issuer != c.subject and c != material.cert)


def jwk(
    cert: x509.Certificate, *, school_id: str, status: str, chain: tuple[x509.Certificate, ...] = ()
) -> dict[str, object]:
    """A JWK of a school's public key, with its certificate and intermediates (x5c) for offline checks."""
    import base64

    def b64(n: int, size: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(size, "big")).decode().rstrip("=")

    pub = cert.public_key()
    base: dict[str, object] = {
        "kid": kid_of(cert),
        "school_id": school_id,
        "status": status,
        "use": "sig",
        "x5c": [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in (cert, *chain)],
        "x5t#S256": base64.urlsafe_b64encode(hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())
        .decode()
        .rstrip("="),
        "nbf": int(cert.not_valid_before_utc.timestamp()),
        "exp": int(cert.not_valid_after_utc.timestamp()),
    }
    if isinstance(pub, ec.EllipticCurvePublicKey):
        nums = pub.public_numbers()
        return base | {"kty": "EC", "crv": "P-256", "alg": "ES256", "x": b64(nums.x, 32), "y": b64(nums.y, 32)}
    assert isinstance(pub, rsa.RSAPublicKey)
    nums_r = pub.public_numbers()
    return base | {
        "kty": "RSA",
        "alg": "RS256",
        "n": b64(nums_r.n, (nums_r.n.bit_length() + 7) // 8),
        "e": b64(nums_r.e, 3),
    }
