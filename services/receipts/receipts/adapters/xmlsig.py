"""XML digital signature of receipts, in the layout the tax authority uses for its own signed documents
(Decree 123/2020 and its circulars): the data element carries an `Id`; the signature sits beside it under
`DSCKS/NBan`; RSA-SHA256 with SHA-256 digests and inclusive C14N; a second reference covers a signed
`SigningTime` in `Object/SignatureProperties`; the school's certificate is embedded with the chain above it
up to the root (KeyInfo/X509Data, the school's first), so that a verifier trusting only the root can build
the path from the file alone (lxml + signxml).
"""

from __future__ import annotations

import base64
from datetime import datetime

from cryptography import x509
from lxml import etree
from signxml import SignatureReference, XMLSigner, XMLVerifier
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureConstructionMethod, SignatureMethod
from signxml.exceptions import InvalidSignature, SignXMLException

from receipts.adapters.certificates import KeyMaterial

DATA_ID = "data"
C14N = CanonicalizationMethod.CANONICAL_XML_1_0  # inclusive C14N
DS = "http://www.w3.org/2000/09/xmldsig#"
SIGPROP_NS = "urn:vn:tuition:signature-properties"


class XmlSignatureError(ValueError):
    pass


def sign(root: etree._Element, material: KeyMaterial, signing_time: datetime) -> bytes:
    """Sign the element with Id="data" inside `root`; put the signature under DSCKS/NBan; return the document."""
    signer = XMLSigner(
        method=SignatureConstructionMethod.detached,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=C14N,
    )
    # xmldsig's schema admits only elements of another namespace inside SignatureProperty.
    when = etree.Element(f"{{{SIGPROP_NS}}}SigningTime", nsmap={None: SIGPROP_NS})
    when.text = signing_time.isoformat(timespec="seconds")
    when.set("Target", "#sig")
    signature = signer.sign(
        root,
        key=material.key,
        cert=[material.cert, *material.chain],
        reference_uri=[SignatureReference(URI=f"#{DATA_ID}", c14n_method=C14N)],
        signature_properties=[when],
    )
    signature.set("Id", "sig")
    dscks = root.find("DSCKS")
    if dscks is None:
        dscks = etree.SubElement(root, "DSCKS")
    nban = etree.SubElement(dscks, "NBan")
    nban.append(signature)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def verify(document: bytes) -> tuple[etree._Element, x509.Certificate]:
    """Check the signature and both references; return the signed data element and the signer's certificate.

    Only what the signature covers is returned, so nothing unsigned can be read as signed.
    """
    try:
        root = etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise XmlSignatureError(f"Tệp XML bị hỏng: {exc}") from exc
    sig = root.find(f"DSCKS/NBan/{{{DS}}}Signature")
    if sig is None:
        raise XmlSignatureError("Biên lai không có chữ ký (DSCKS/NBan).")
    cert_el = sig.find(f".//{{{DS}}}X509Certificate")
    if cert_el is None or not cert_el.text:
        raise XmlSignatureError("Chữ ký không kèm chứng thư số X.509.")
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(cert_el.text, validate=False))
    except ValueError as exc:
        raise XmlSignatureError(f"Không đọc được chứng thư số kèm theo: {exc}") from exc
    try:
        results = XMLVerifier().verify(root, x509_cert=cert, expect_references=2, ignore_ambiguous_key_info=True)
    except InvalidSignature as exc:
        raise XmlSignatureError(f"Chữ ký không khớp với nội dung ({exc}).") from exc
    except (SignXMLException, ValueError, etree.Error) as exc:
        raise XmlSignatureError(f"Không kiểm tra được chữ ký: {exc}") from exc
    results = results if isinstance(results, list) else [results]
    data = next((r.signed_xml for r in results if r.signed_xml is not None and r.signed_xml.get("Id") == DATA_ID), None)
    if data is None:
        raise XmlSignatureError("Chữ ký không bao trùm nội dung biên lai.")
    return data, cert
