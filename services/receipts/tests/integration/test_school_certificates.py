"""Production signing: a school's certificate from a certification authority (root → intermediate → school),
imported as PKCS#12, signs receipts that `/verify` and the offline CLI accept through the whole chain; a
certificate from an authority the deployment does not trust, or one no longer valid, is refused at import."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from devinfra.testing import running_service, wait_until
from shared.events.topics import Topic

from .conftest import SCHOOL, ReceiptsApp, invoice_event, payment_event, publish, school_event

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _cert(subject: str, key, issuer: tuple[x509.Certificate, object] | None, *, ca: bool, days=(1, 365)):
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=days[0]))
        .not_valid_after(NOW + timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if issuer and ca else None), critical=True)
        .add_extension(_usage(ca=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    signer_public = issuer_cert.public_key() if issuer_cert else key.public_key()
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_public)  # type: ignore[arg-type]
    return builder.add_extension(aki, critical=False).sign(issuer_key, hashes.SHA256())


class Authority:
    """A root CA and an intermediate under it, as a licensed provider runs them."""

    def __init__(self, name: str) -> None:
        self.root_key = rsa.generate_private_key(65537, 2048)
        self.root = _cert(f"{name} Root CA", self.root_key, None, ca=True, days=(10, 3650))
        self.sub_key = rsa.generate_private_key(65537, 2048)
        self.sub = _cert(f"{name} Issuing CA", self.sub_key, (self.root, self.root_key), ca=True, days=(10, 1800))

    def school_p12(self, kind: str, password: str, *, days=(1, 365)) -> bytes:
        key = rsa.generate_private_key(65537, 2048) if kind == "xml" else ec.generate_private_key(ec.SECP256R1())
        cert = _cert(f"Trường Mầm non Hoa Phượng ({kind})", key, (self.sub, self.sub_key), ca=False, days=days)
        return pkcs12.serialize_key_and_certificates(
            b"school", key, cert, [self.sub], serialization.BestAvailableEncryption(password.encode())
        )


async def _import(app: ReceiptsApp, p12: bytes, password: str):
    return await app.client.post(
        f"/schools/{SCHOOL}/keys",
        files={"file": ("school.p12", p12, "application/x-pkcs12")},
        data={"password": password},
        headers=app.headers(),
    )


def _cli(receipt: str, keys: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "suite.cli", "receipts", "verify", receipt, "--keys", str(keys)],
        capture_output=True,
        text=True,
        check=False,
    )


def _xmlsec1(receipt: Path, root: Path) -> subprocess.CompletedProcess[str]:
    """xmlsec1 (libxmlsec with OpenSSL) trusting only the root: the intermediate must come from the file."""
    return subprocess.run(
        [
            *("xmlsec1", "--verify", "--trusted-pem", str(root), "--id-attr:Id", "DLBLai"),
            *("--id-attr:Id", "http://www.w3.org/2000/09/xmldsig#:Object", str(receipt)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _java_verify(receipt: Path, root: Path) -> subprocess.CompletedProcess[str]:
    """The JDK's XML-DSig and PKIX path builder (XmlDsigVerify.java beside this file), trusting only the root."""
    source = Path(__file__).with_name("XmlDsigVerify.java")
    return subprocess.run(
        ["java", str(source), str(root), str(receipt)], capture_output=True, text=True, check=False, timeout=120
    )


@contextlib.asynccontextmanager
async def trusting_only(
    provider: Authority, make_database, infra_endpoints, topic_prefix: str, tmp_path: Path
) -> AsyncIterator[ReceiptsApp]:
    """The receipts service as in production (no local CA), trusting only this authority's root."""
    bundle = tmp_path / "trusted.pem"
    bundle.write_bytes(provider.root.public_bytes(serialization.Encoding.PEM))
    async with running_service(
        "receipts", make_database, infra_endpoints, topic_prefix, auto_provision=False, trust_bundle=bundle
    ) as (client, service):
        yield ReceiptsApp(client, service.state.runtime.db(), topic_prefix, infra_endpoints.kafka)


async def test_receipts_signed_with_an_imported_certificate_verify_through_its_chain(
    make_database, infra_endpoints, topic_prefix, tmp_path
):
    provider, stranger = Authority("VNPT-CA test"), Authority("Unknown")
    async with trusting_only(provider, make_database, infra_endpoints, topic_prefix, tmp_path) as app:
        client = app.client

        untrusted = await _import(app, stranger.school_p12("xml", "pw"), "pw")
        assert untrusted.status_code == 422 and "không ký được biên lai" in untrusted.text, untrusted.text
        expired = await _import(app, provider.school_p12("xml", "pw", days=(400, -30)), "pw")
        assert expired.status_code == 422 and "không ký được biên lai" in expired.text, expired.text
        kids = []
        for kind in ("xml", "compact"):
            imported = await _import(app, provider.school_p12(kind, "mật khẩu"), "mật khẩu")
            assert imported.status_code == 201, imported.text
            kids.append(imported.json()["kid"])
        series = await client.post(
            f"/schools/{SCHOOL}/series",
            json={"form_code": "01BLP0-001", "series_code": f"BL{NOW.year % 100}", "year": NOW.year, "range_to": 99},
            headers=app.headers(),
        )
        assert series.status_code == 201, series.text

        await publish(app.kafka, app.prefix, Topic.INVOICING, [school_event(), invoice_event(0)])
        await publish(app.kafka, app.prefix, Topic.RECONCILIATION, [payment_event(0)])

        async def issued() -> bool:
            return await app.pool.fetchval("SELECT count(*) FROM receipts") == 1

        await wait_until(issued, what="the receipt signed with the imported certificate")
        code, qr, xml_kid = await app.pool.fetchrow("SELECT verification_code, compact, xml_kid FROM receipts")
        assert xml_kid in kids
        xml = (await client.get(f"/r/{code}.xml")).content
        for body in (xml, qr):
            verdict = (await client.post("/verify", content=body)).json()
            assert verdict["valid"], verdict
        keylist = (await client.get("/keys")).json()
        # The accountant's page: whose each certificate is, by which authority, what it signs, how many.
        mine = (await client.get(f"/schools/{SCHOOL}/keys", headers=app.headers())).json()
        assert sorted((k["kind"], k["status"], k["receipts"]) for k in mine) == [
            ("compact", "active", 1),
            ("xml", "active", 1),
        ]
        assert {k["issuer"] for k in mine} == {"VNPT-CA test Issuing CA"}
        assert {k["subject"] for k in mine} == {f"Trường Mầm non Hoa Phượng ({kind})" for kind in ("xml", "compact")}

    assert {len(k["x5c"]) for k in keylist["keys"]} == {2}  # the school's certificate and the intermediate
    assert [x509.load_pem_x509_certificate(p.encode()) for p in keylist["trust_anchors"]] == [provider.root]
    saved, no_chain = tmp_path / "keys.json", tmp_path / "keys-without-intermediate.json"
    saved.write_text(json.dumps(keylist))
    no_chain.write_text(json.dumps(keylist | {"keys": [k | {"x5c": k["x5c"][:1]} for k in keylist["keys"]]}))
    receipt = tmp_path / "r.xml"
    receipt.write_bytes(xml)
    good_xml, good_qr, broken = await asyncio.gather(
        asyncio.to_thread(_cli, str(receipt), saved),
        asyncio.to_thread(_cli, qr, saved),
        asyncio.to_thread(_cli, str(receipt), no_chain),
    )
    assert good_xml.returncode == 0 and json.loads(good_xml.stdout)["valid"], good_xml.stdout + good_xml.stderr
    # Two independent implementations, trusting only the root, build the path from the file alone: the school's
    # certificate carries the intermediate and the root in KeyInfo (the PKCS#12 held only the intermediate).
    root = tmp_path / "root.pem"
    root.write_bytes(provider.root.public_bytes(serialization.Encoding.PEM))
    assert xml.count(b"<ds:X509Certificate>") == 3
    xmlsec1, java = await asyncio.gather(
        asyncio.to_thread(_xmlsec1, receipt, root), asyncio.to_thread(_java_verify, receipt, root)
    )
    assert xmlsec1.returncode == 0 and "References (ok/all): 2/2" in xmlsec1.stderr, xmlsec1.stderr
    assert java.returncode == 0 and "path of 3 certificates" in java.stdout, java.stdout + java.stderr
    assert good_qr.returncode == 0, good_qr.stdout
    assert broken.returncode == 1 and "tổ chức chứng thực được tin cậy" in json.loads(broken.stdout)["reason"]
