"""1,000 payments delivered twice, the service SIGKILLed and restarted: receipts 1..1,000, all verifiable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import asyncpg
import base45
import pytest
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import Sign1Message

from devinfra.testing import free_port, wait_until
from receipts.main import SPEC
from shared.events.topics import Topic

from .conftest import invoice_event, payment_event, publish, school_event

pytestmark = pytest.mark.integration
N = 1000


def _serve(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "suite.cli", "serve", "receipts"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_a_thousand_payments_twice_with_a_crash_give_receipts_one_to_a_thousand(
    make_database, infra_endpoints, topic_prefix
):
    dsn = await make_database(SPEC.migrations)
    env = {
        **os.environ,
        "PG_DSN": infra_endpoints.pg_dsn,
        "KAFKA_BOOTSTRAP_SERVERS": infra_endpoints.kafka,
        "TUITION_TOPIC_PREFIX": topic_prefix,
        "RECEIPTS_DATABASE": dsn.rsplit("/", 1)[1],
        "RECEIPTS_HTTP_PORT": str(free_port()),
        "TUITION_LOG_LEVEL": "WARNING",
    }
    await publish(
        infra_endpoints.kafka, topic_prefix, Topic.INVOICING, [school_event()] + [invoice_event(n) for n in range(N)]
    )
    # Every payment twice (a retried delivery), interleaved with the first copies.
    await publish(
        infra_endpoints.kafka, topic_prefix, Topic.RECONCILIATION, [payment_event(n) for n in range(N)], copies=2
    )
    conn = await asyncpg.connect(dsn)
    service = _serve(env)
    try:

        async def some() -> bool:
            return await conn.fetchval("SELECT count(*) FROM receipts") >= 150

        await wait_until(some, timeout=120, what="the first receipts")
        service.send_signal(signal.SIGKILL)  # mid-stream, no goodbye
        service.wait()
        service = _serve(env)

        async def done() -> bool:
            return await conn.fetchval("SELECT count(*) FROM receipts") >= N

        await wait_until(done, timeout=240, interval=0.5, what=f"{N} receipts")
        numbers = [r["number"] for r in await conn.fetch("SELECT number FROM receipts ORDER BY number")]
        assert numbers == list(range(1, N + 1)), "gap or duplicate in receipt numbers"
        assert await conn.fetchval("SELECT count(DISTINCT payment_id) FROM receipts") == N
        assert await conn.fetchval("SELECT next_number FROM receipt_series") == N + 1
        rows = await conn.fetch("SELECT xml, compact, compact_kid FROM receipts")
        certs = {r["kid"]: r["cert_pem"] for r in await conn.fetch("SELECT kid, cert_pem FROM signing_keys")}
        ca_pem = await conn.fetchval("SELECT cert_pem FROM certificate_authorities")
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
        await conn.close()
    _check_xml_with_xmlsec1([bytes(r["xml"]) for r in rows], ca_pem)
    _check_compact_with_pycose(rows, certs)


def _check_xml_with_xmlsec1(documents: list[bytes], ca_pem: str) -> None:
    """The XML signatures, checked by an independent implementation (xmlsec1, OpenSSL) against the CA: every
    document in one run of xmlsec1 (it verifies its files one after the other and says so for each; a process
    per document spent over a minute starting up)."""
    with tempfile.TemporaryDirectory() as tmp:
        ca = Path(tmp) / "ca.pem"
        ca.write_text(ca_pem)
        paths = []
        for n, doc in enumerate(documents):
            path = Path(tmp) / f"r{n}.xml"
            path.write_bytes(doc)
            paths.append(str(path))
        result = subprocess.run(
            [
                "xmlsec1",
                "--verify",
                "--trusted-pem",
                str(ca),
                "--id-attr:Id",
                "DLBLai",
                "--id-attr:Id",
                "http://www.w3.org/2000/09/xmldsig#:Object",
                *paths,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stderr.count("SignedInfo References (ok/all): 2/2") == len(documents), result.stderr[-2000:]
        assert result.stderr.count("OK") >= len(documents) and "FAIL" not in result.stderr, result.stderr[-2000:]


def _check_compact_with_pycose(rows, certs: dict[str, str]) -> None:
    from cryptography import x509

    for r in rows:
        cert = x509.load_pem_x509_certificate(certs[r["compact_kid"]].encode())
        nums = cert.public_key().public_numbers()
        msg = Sign1Message.decode(zlib.decompress(base45.b45decode(r["compact"][4:])))
        msg.key = EC2Key(crv=P256, x=nums.x.to_bytes(32, "big"), y=nums.y.to_bytes(32, "big"))
        assert msg.verify_signature()
