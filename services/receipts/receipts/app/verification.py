"""Is this receipt genuine? For an XML file, a PDF (its embedded XML) or the QR text.

Works offline from a published key list (`GET /keys` → JWKS with certificates, statuses, trust anchors):
the same code serves the public endpoint and `tuition receipts verify`. Reasons: tampered content,
unknown key, certificate not from a trusted authority, certificate expired (or not yet valid) when the
receipt was issued, certificate revoked, key of another school.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NotRequired, TypedDict

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from receipts.adapters import compact, trust, xmlsig
from receipts.adapters.certificates import kid_of
from receipts.domain.receipt import read_fields

# What a verifier shows of a receipt: its signed fields by name (text from the XML, numbers from the QR).
Fields = Mapping[str, object]


class Jwk(TypedDict, total=False):
    """A published key (RFC 7517) with what this suite adds: its school, status, kind, revocation time."""

    kid: str
    x5c: list[str]
    school_id: str
    kind: str
    status: str
    revoked_at: int


class KeyDocument(TypedDict):
    """The published key list (`GET /keys`): every school key ever used, and the trusted authorities."""

    keys: list[Jwk]
    trust_anchors: list[str]
    generated_at: NotRequired[str]


@dataclass
class Verdict:
    valid: bool
    reason: str
    format: str
    fields: Fields = field(default_factory=dict)
    kid: str = ""


@dataclass(frozen=True)
class PublishedKey:
    kid: str
    school_id: str
    kind: str
    status: str
    cert: x509.Certificate
    revoked_at: datetime | None
    chain: tuple[x509.Certificate, ...] = ()


class KeyList:
    def __init__(self, doc: KeyDocument) -> None:
        self.keys: dict[str, PublishedKey] = {}
        for entry in doc.get("keys", []):
            cert, *chain = (x509.load_der_x509_certificate(base64.b64decode(c)) for c in entry["x5c"][:5])
            revoked = entry.get("revoked_at")
            self.keys[entry["kid"]] = PublishedKey(
                entry["kid"],
                entry["school_id"],
                entry.get("kind", ""),
                entry.get("status", "active"),
                cert,
                datetime.fromtimestamp(revoked, UTC) if revoked else None,
                tuple(chain),
            )
        self.anchors = [x509.load_pem_x509_certificate(pem.encode()) for pem in doc.get("trust_anchors", [])]

    def check(
        self,
        key: PublishedKey | None,
        *,
        school_id: str,
        issued_at: datetime,
        fmt: str,
        fields: Fields,
        kid: str,
    ) -> Verdict:
        if key is None:
            unknown = f"Khóa {kid} không có trong danh sách khóa đã công bố: biên lai không do hệ thống này ký."
            return Verdict(False, unknown, fmt, fields, kid)
        if not key.cert.not_valid_before_utc <= issued_at <= key.cert.not_valid_after_utc:
            return Verdict(False, "Chứng thư đã hết hạn (hoặc chưa có hiệu lực) lúc lập biên lai.", fmt, fields, kid)
        # The whole chain, at the time the receipt was issued: an intermediate that had expired by then fails too.
        problem = trust.problem(key.cert, key.chain, self.anchors, issued_at)
        if problem is not None:
            return Verdict(
                False, f"Chứng thư không do tổ chức chứng thực được tin cậy cấp ({problem}).", fmt, fields, kid
            )
        if key.school_id != school_id:
            return Verdict(
                False,
                f"Sai trường: biên lai ghi trường {school_id}, khóa ký thuộc trường {key.school_id}.",
                fmt,
                fields,
                kid,
            )
        # Revocation means compromise: the signing time is the signer's own claim (no trusted timestamp),
        # so no receipt of a revoked key is trusted. Routine rotation retires keys instead, and their
        # receipts stay valid.
        if key.status == "revoked":
            return Verdict(False, "Chứng thư của trường đã bị thu hồi.", fmt, fields, kid)
        return Verdict(True, "Hợp lệ", fmt, fields, kid)


def verify_xml(document: bytes, keys: KeyList) -> Verdict:
    try:
        data, cert = xmlsig.verify(document)
    except xmlsig.XmlSignatureError as exc:
        return Verdict(False, f"Biên lai bị sửa hoặc bị hỏng: {exc}", "xml")
    fields = read_fields(data)
    kid = kid_of(cert)
    try:
        issued_at = datetime.fromisoformat(fields["issued_at"]).astimezone(UTC)
    except ValueError:
        return Verdict(False, "Biên lai không có thời điểm lập hợp lệ.", "xml", fields, kid)
    key = keys.keys.get(kid)
    if key is not None and key.cert != cert:
        return Verdict(False, "Chứng thư kèm theo khác với chứng thư đã công bố.", "xml", fields, kid)
    return keys.check(key, school_id=fields["school_id"], issued_at=issued_at, fmt="xml", fields=fields, kid=kid)


def verify_qr(text: str, keys: KeyList) -> Verdict:
    try:
        kid_bytes, claims, signed, signature = compact.unpack(text)
    except compact.CompactError as exc:
        return Verdict(False, str(exc), "qr")
    kid = kid_bytes.hex()
    key = keys.keys.get(kid)
    issued_at = _claimed_time(claims.get("t"))
    if issued_at is None:
        return Verdict(False, "Biên lai không có thời điểm lập hợp lệ.", "qr", {}, kid)
    fields: Fields = {
        "school_id": claims.get("s"),
        "form_code": claims.get("f"),
        "series_code": claims.get("sr"),
        "number": claims.get("n"),
        "amount": claims.get("a"),
        "verification_code": claims.get("v"),
        "student_code": claims.get("c"),
        "issued_at": issued_at.isoformat(),
    }
    if key is not None:
        public = key.cert.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            return Verdict(False, f"Khóa {kid} không dùng để ký mã QR.", "qr", fields, kid)
        try:
            compact.verify(signed, signature, public)
        except compact.CompactError as exc:
            return Verdict(False, f"Biên lai bị sửa: {exc}", "qr", fields, kid)
    return keys.check(
        key,
        school_id=str(claims.get("s")),
        issued_at=issued_at,
        fmt="qr",
        fields=fields,
        kid=kid,
    )


def _claimed_time(t: object) -> datetime | None:
    # Receipts exist from 2020 to 2200 at most: anything else is damage (and huge numbers overflow).
    if not isinstance(t, int) or isinstance(t, bool) or not 1_577_836_800 <= t <= 7_258_118_400:
        return None
    return datetime.fromtimestamp(t, UTC)


# The signed XML a receipt PDF carries is a few kilobytes.
MAX_ATTACHMENT = 256 * 1024


def xml_from_pdf(data: bytes) -> bytes | None:
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import PyPdfError

    # pypdf's own bounds (75 MB per stream by default), tightened: a receipt PDF is tens of kilobytes.
    limits = {"zlib_maximum_output_length": 8 * 1024 * 1024, "stream_decoding_work_maximum_length": 32 * 1024 * 1024}
    try:
        with apply_configuration(**limits):  # type: ignore[arg-type]
            reader = PdfReader(io.BytesIO(data))
            for name, contents in reader.attachments.items():
                if name.endswith(".xml") and contents and len(contents[0]) <= MAX_ATTACHMENT:
                    return bytes(contents[0])
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None  # a damaged or crafted PDF: it carries no receipt we can read
    return None


def verify_any(data: bytes | str, keys: KeyList) -> Verdict:
    raw = data.encode() if isinstance(data, str) else data
    stripped = raw.lstrip()
    if stripped.startswith(b"%PDF"):
        xml = xml_from_pdf(raw)
        if xml is None:
            return Verdict(False, "Tệp PDF không chứa biên lai XML có chữ ký.", "pdf")
        verdict = verify_xml(xml, keys)
        verdict.format = "pdf"
        return verdict
    if stripped.startswith(b"<"):
        return verify_xml(raw, keys)
    return verify_qr(stripped.decode(errors="replace"), keys)
