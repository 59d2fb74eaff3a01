"""Receipts signed per second (numbering + XML-DSig + compact COSE + stored), against the raw RSA-2048
signing rate of the same key on this machine."""

from __future__ import annotations

import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from bench.common import Measure, Timer, scratch_db
from receipts.app import signing_keys as keys
from receipts.app.issuing import issue_receipt
from receipts.main import SPEC
from receipts.settings import ReceiptsSettings
from shared.events.outbox import Outbox
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched

SCHOOL = "BENCH-SCHOOL"


async def run(server_dsn: str, n: int = 2000) -> list[Measure]:
    settings = ReceiptsSettings()
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
        await pool.copy_records_to_table("invoices", records=invoices)
        async with pool.acquire() as conn, conn.transaction():
            await keys.provision(conn, SCHOOL, "Trường Tiểu học Bench", settings.key_secret.get_secret_value())
        # Warm-up: open the keys once, as a running service has them.
        async with pool.acquire() as conn:
            material = await keys.active(conn, SCHOOL, "xml", settings.key_secret.get_secret_value())
        assert material is not None
        with Timer() as t:
            for start in range(0, n, 100):  # as the consumer does: one transaction per batch of events
                async with pool.acquire() as conn, conn.transaction():
                    for inv in invoices[start : start + 100]:
                        payment = PaymentMatched(
                            payment_id=str(uuid.uuid4()),
                            invoice_id=str(inv[0]),
                            school_id=SCHOOL,
                            amount=1_584_520,
                            channel=Channel.VIETQR,
                            bank_reference="FT1",
                        )
                        await issue_receipt(conn, outbox, settings, payment=payment)
        numbers = await pool.fetchval("SELECT max(number) - min(number) + 1 FROM receipts")
        data = b"x" * 512
        with Timer() as raw:
            for _ in range(n):
                material.key.sign(data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg,union-attr]
    return [
        Measure(
            "receipts signed (number + XML-DSig + COSE QR + stored)",
            round(n / t.seconds),
            "receipts/s",
            "raw RSA-2048 PKCS#1 v1.5 SHA-256 signatures, same key",
            round(n / raw.seconds),
            {"receipts": n, "contiguous_numbers": numbers, "seconds": round(t.seconds, 2)},
        )
    ]
