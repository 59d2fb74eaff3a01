from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from devinfra.testing import running_service
from shared.auth import mint_token
from shared.events.envelope import wrap
from shared.events.topics import Topic, topic_name
from shared.settings import DEV_JWT_SECRET
from tuition.invoicing.v1.events_pb2 import InvoiceIssued, InvoiceLine, SchoolRegistered
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched

SCHOOL = "MN-HOA-PHUONG"


def school_event(school: str = SCHOOL) -> tuple[object, str]:
    return SchoolRegistered(
        school_id=school,
        code=school,
        name="Trường Mầm non Hoa Phượng",
        district_code="D1",
        tax_code="0101234567",
        address="Cầu Giấy, Hà Nội",
    ), school


def invoice_event(n: int, total: int = 1_584_520, school: str = SCHOOL) -> tuple[InvoiceIssued, str]:
    iid = str(uuid.UUID(int=n + 1))
    return InvoiceIssued(
        invoice_id=iid,
        school_id=school,
        student_code=f"22{n:08d}",
        student_name="Nguyễn Ngọc Bảo Anh",
        guardian_name="Nguyễn Văn Hùng",
        class_name="5A1",
        period="2026-09",
        payment_reference="HPX",
        total=total,
        lines=[
            InvoiceLine(name="Tiền ăn bán trú", amount=550_000),
            InvoiceLine(name="Chăm sóc bán trú", amount=150_000),
            InvoiceLine(name="Bảo hiểm y tế", amount=884_520),
            InvoiceLine(name="Học phí (Nhà nước chi trả)", amount=0),
        ],
    ), iid


def payment_event(n: int, amount: int = 1_584_520, school: str = SCHOOL) -> tuple[PaymentMatched, str]:
    iid = str(uuid.UUID(int=n + 1))
    return PaymentMatched(
        payment_id=f"pay-{n}",
        credit_id=f"c-{n}",
        invoice_id=iid,
        school_id=school,
        amount=amount,
        channel=Channel.VIETQR,
        bank_reference=f"FT{26248000000 + n}",
    ), iid


async def publish(kafka: str, prefix: str, topic: Topic, events: list[tuple[object, str]], *, copies: int = 1) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, linger_ms=20)
    await producer.start()
    try:
        for _ in range(copies):
            futures = []
            for msg, key in events:
                env = wrap(msg, producer="test", aggregate_id=key, school_id=SCHOOL)
                futures.append(
                    await producer.send(topic_name(topic, prefix), env.SerializeToString(), key=key.encode())
                )
            for f in futures:
                await f
    finally:
        await producer.stop()


@dataclass
class ReceiptsApp:
    client: httpx.AsyncClient
    pool: object
    prefix: str
    kafka: str

    def headers(self, role: str = "accountant", school: str = SCHOOL) -> dict[str, str]:
        return {"Authorization": "Bearer " + mint_token(DEV_JWT_SECRET, role=role, school=school, subject="ke-toan")}


@pytest_asyncio.fixture
async def receipts_app(make_database, infra_endpoints, topic_prefix) -> AsyncIterator[ReceiptsApp]:
    async with running_service("receipts", make_database, infra_endpoints, topic_prefix) as (client, app):
        yield ReceiptsApp(client, app.state.runtime.db(), topic_prefix, infra_endpoints.kafka)
