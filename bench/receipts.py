"""Receipts signed per second (numbering + XML-DSig + compact COSE + stored), against the raw RSA-2048
signing rate of the same key on this machine."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from bench.common import Measure, Timer, scratch_db
from receipts.adapters.certificates import KeyMaterial
from receipts.app import issuing
from receipts.app import signing_keys as keys
from receipts.main import SPEC
from receipts.settings import ReceiptsSettings
from shared.events.outbox import Outbox
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched

SCHOOL = "BENCH-SCHOOL"
BATCH = 500  # the consumer's largest batch (getmany max_records)


def _raw_rsa_rate(material: KeyMaterial, n: int, *, threads: int) -> float:
    """RSA signatures per second with nothing else: OpenSSL releases the GIL, so threads use the cores."""
    data = b"x" * 512

    def work(count: int) -> None:
        for _ in range(count):
            material.key.sign(data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg,union-attr]

    with Timer() as raw, ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, [n // threads] * threads))
    return (n // threads) * threads / raw.seconds


async def run(server_dsn: str, n: int = 10_000, processes: int = 2) -> list[Measure]:
    settings = ReceiptsSettings(signing_processes=processes)
    outbox = Outbox("receipts")
    async with scratch_db(server_dsn, SPEC.migrations) as pool:
        await pool.execute(
            "INSERT INTO schools VALUES ($1, $1, 'Trường Tiểu học Bench', 'D1', '0101234567', 'Hà Nội')", SCHOOL
        )
        invoices = [
            (
                uuid.uuid4(),
                SCHOOL,
                f"22{i:08d}",
                "Nguyễn Văn An",
                "Nguyễn Văn Bình",
                "3A1",
                "2026-09",
                "HP",
                1_584_520,
                '[{"name": "Tiền ăn bán trú", "amount": 1584520}]',
            )
            for i in range(n)
        ]
        columns = [
            "invoice_id",
            "school_id",
            "student_code",
            "student_name",
            "guardian_name",
            "class_name",
            "period",
            "payment_reference",
            "total",
            "lines",
        ]
        await pool.copy_records_to_table("invoices", records=invoices, columns=columns)
        async with pool.acquire() as conn, conn.transaction():
            await keys.provision(conn, SCHOOL, "Trường Tiểu học Bench", settings.key_secret.get_secret_value())
        # Warm-up: open the keys once, as a running service has them.
        async with pool.acquire() as conn:
            material = await keys.active(conn, SCHOOL, "xml", settings.key_secret.get_secret_value())
        assert material is not None
        payments = [
            PaymentMatched(
                payment_id=str(uuid.uuid4()),
                invoice_id=str(inv[0]),
                school_id=SCHOOL,
                amount=1_584_520,
                channel=Channel.VIETQR,
                bank_reference="FT1",
            )
            for inv in invoices
        ]
        issuing.signer_for(settings).start()  # the worker processes start with the service, not its first receipt
        with Timer() as t:
            for start in range(0, n, BATCH):  # as the consumer does: one transaction per batch of events
                async with pool.acquire() as conn, conn.transaction():
                    await issuing.on_payments(conn, outbox, settings, payments[start : start + BATCH])
        numbers = await pool.fetchval("SELECT max(number) - min(number) + 1 FROM receipts")
        raw = _raw_rsa_rate(material, n, threads=max(processes, 1))
    return [
        Measure(
            "receipts signed (number + XML-DSig + COSE QR + stored)",
            round(n / t.seconds),
            "receipts/s",
            "raw RSA-2048 PKCS#1 v1.5 SHA-256 signatures of the same key on as many threads as signing processes",
            round(raw),
            {
                "receipts": n,
                "contiguous_numbers": numbers,
                "seconds": round(t.seconds, 2),
                "signing_processes": processes,
                "batch": BATCH,
            },
        )
    ]
