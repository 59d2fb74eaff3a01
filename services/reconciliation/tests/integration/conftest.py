from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from xml.sax.saxutils import escape

import httpx
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from devinfra.testing import running_service, wait_until
from reconciliation.adapters.webhooks import casso_signature
from shared import payref
from shared.auth import mint_token
from shared.events.envelope import wrap
from shared.events.topics import Topic, topic_name
from shared.settings import DEV_JWT_SECRET
from tuition.invoicing.v1.events_pb2 import InvoiceIssued, SchoolRegistered

SCHOOL, ACCOUNT = "MN-HOA-PHUONG", "0011001234567"
CASSO_KEY, SEPAY_KEY, PAYOS_KEY = "casso-secret-key-1", "sepay-api-key-123", "test_checksum_key"


@dataclass
class Inv:
    invoice_id: uuid.UUID
    reference: str
    total: int
    student_code: str
    student_name: str
    family_key: str


@dataclass
class Recon:
    client: httpx.AsyncClient
    pool: object
    prefix: str
    kafka: str
    runtime: object = None
    invoices: list[Inv] = field(default_factory=list)
    _counter: int = 0

    def headers(self, role: str = "accountant", school: str = SCHOOL) -> dict[str, str]:
        return {"Authorization": "Bearer " + mint_token(DEV_JWT_SECRET, role=role, school=school, subject="ke-toan")}

    async def publish(self, *messages: tuple[object, str], topic: Topic = Topic.INVOICING) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka)
        await producer.start()
        for msg, key in messages:
            env = wrap(msg, producer="invoicing", aggregate_id=key, school_id=SCHOOL)
            await producer.send_and_wait(topic_name(topic, self.prefix), env.SerializeToString(), key=key.encode())
        await producer.stop()

    async def issue(
        self, totals: list[int], *, family: str | None = None, virtual_account: str = "", code: str = ""
    ) -> list[Inv]:
        """Publish InvoiceIssued events (as invoicing would) and wait until the book has them."""
        made = []
        for total in totals:
            self._counter += 1
            n = self._counter
            inv = Inv(
                uuid.uuid4(),
                payref.make_reference(10_000 + n + hash(self.prefix) % 100_000),
                total,
                code or f"22{n:08d}",
                f"Học Sinh {n}",
                family or f"fam-{n}",
            )
            made.append(inv)
        await self.publish(
            *[
                (
                    InvoiceIssued(
                        invoice_id=str(i.invoice_id),
                        school_id=SCHOOL,
                        district_code="HN-CAU-GIAY",
                        student_id=str(uuid.uuid4()),
                        student_code=i.student_code,
                        student_name=i.student_name,
                        guardian_name="Phụ Huynh",
                        grade="Khối 1",
                        class_name="1A1",
                        period="2026-09",
                        school_year="2026-2027",
                        payment_reference=i.reference,
                        total=i.total,
                        due_date="2026-09-15",
                        family_key=i.family_key,
                        virtual_account=virtual_account,
                        bank_bin="970436",
                        account_number=ACCOUNT,
                    ),
                    str(i.invoice_id),
                )
                for i in made
            ]
        )
        self.invoices += made
        expected = len(self.invoices)
        await wait_until(lambda: self._count("SELECT count(*) FROM invoices", expected), what="invoices in the book")
        return made

    async def _count(self, sql: str, expected: int) -> bool:
        return await self.pool.fetchval(sql) >= expected

    async def casso(self, data: dict, *, key: str = CASSO_KEY) -> httpx.Response:
        body = {"error": 0, "data": data}
        t = str(int(time.time() * 1000))
        sig = casso_signature(key, t, body)
        return await self.client.post(
            f"/webhooks/casso/{SCHOOL}",
            content=json.dumps(body, ensure_ascii=False),
            headers={"X-Casso-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"},
        )

    async def sepay(self, body: dict, *, key: str = SEPAY_KEY) -> httpx.Response:
        return await self.client.post(
            f"/webhooks/sepay/{SCHOOL}", json=body, headers={"Authorization": f"Apikey {key}"}
        )

    async def statement(self, name: str, data: bytes, **form: str) -> httpx.Response:
        return await self.client.post(
            f"/schools/{SCHOOL}/statements", headers=self.headers(), files={"file": (name, data)}, data=form
        )


def casso_data(amount: int, memo: str, reference: str, when: str = "2026-09-05 15:06:37", **extra: object) -> dict:
    return {
        "id": 0,
        "reference": reference,
        "description": memo,
        "amount": amount,
        "runningBalance": 0,
        "transactionDateTime": when,
        "accountNumber": ACCOUNT,
        "bankName": "Vietcombank",
        "bankAbbreviation": "VCB",
        "virtualAccountNumber": "",
        "virtualAccountName": "",
        "counterAccountName": "NGUYEN VAN HUNG",
        "counterAccountNumber": extra.get("payer", "19033344455566"),
        "counterAccountBankId": "970415",
        "counterAccountBankName": "VietinBank",
    }


def sepay_body(n: int, amount: int, memo: str, when: str = "2026-09-05 14:02:37", ref: str = "") -> dict:
    return {
        "id": n,
        "gateway": "Vietcombank",
        "transactionDate": when,
        "accountNumber": ACCOUNT,
        "code": None,
        "content": memo,
        "transferType": "in",
        "transferAmount": amount,
        "accumulated": 0,
        "subAccount": None,
        "referenceCode": ref or f"MBVCB.{3278907000 + n}",
        "description": "",
    }


def camt054(entries: list[tuple[int, str, str]], day: str = "2026-09-05") -> bytes:
    """entries: (amount, memo, NtryRef)."""
    ntries = "".join(
        f"""
      <Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="VND">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>S{ref}</AcctSvcrRef>
        <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId><TxId>T{ref}</TxId></Refs>
          <RltdPties><Dbtr><Pty><Nm>PHU HUYNH</Nm></Pty></Dbtr></RltdPties>
          <RmtInf><Ustrd>{escape(memo)}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""
        for amount, memo, ref in entries
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
  <GrpHdr><MsgId>NTF-{uuid.uuid4().hex[:8]}</MsgId><CreDtTm>{day}T17:00:00+07:00</CreDtTm></GrpHdr>
  <Ntfctn><Id>N1</Id><CreDtTm>{day}T17:00:00+07:00</CreDtTm>
    <Acct><Id><Othr><Id>{ACCOUNT}</Id></Othr></Id><Ccy>VND</Ccy></Acct>{ntries}
  </Ntfctn></BkToCstmrDbtCdtNtfctn></Document>""".encode()


def mt940(entries: list[tuple[int, str, str]], day: date = date(2026, 9, 5), opening: int = 100_000_000) -> bytes:
    yymmdd = day.strftime("%y%m%d")
    lines = [":20:STMT" + yymmdd, f":25:970436/{ACCOUNT}", ":28C:1/1", f":60F:C{yymmdd}VND{opening},"]
    for amount, memo, ref in entries:
        lines.append(f":61:{yymmdd}{day.strftime('%m%d')}C{amount},NTRF{ref}//S{ref}")
        lines.append(f":86:{memo[:65]}")
        if len(memo) > 65:
            lines.append(memo[65:130])
    lines.append(f":62F:C{yymmdd}VND{opening + sum(a for a, _, _ in entries)},")
    return ("\n".join(lines) + "\n").encode()


def payos_data(amount: int, memo: str, reference: str, *, link: str = "", order: int = 0, **extra: object) -> dict:
    """A payOS payment's `data`, every field payOS signs (the shape of the vendor's own test case)."""
    return {
        "accountNumber": ACCOUNT,
        "amount": amount,
        "description": memo,
        "reference": reference,
        "transactionDateTime": "2026-09-05 09:00:00",
        "virtualAccountNumber": "",
        "counterAccountBankId": "970415",
        "counterAccountBankName": "",
        "counterAccountName": "NGUYEN VAN HUNG",
        "counterAccountNumber": "19033344455566",
        "virtualAccountName": "",
        "currency": "VND",
        "orderCode": order,
        "paymentLinkId": link or f"link-{reference}",
        "code": "00",
        "desc": "success",
    } | extra


def sign_payos(data: dict, key: str = PAYOS_KEY) -> dict:
    from reconciliation.adapters.webhooks import payos_signature

    return {"code": "00", "desc": "success", "success": True, "data": data, "signature": payos_signature(key, data)}


def hmac_hex(key: str, msg: bytes) -> str:
    return hmac.new(key.encode(), msg, hashlib.sha256).hexdigest()


@pytest_asyncio.fixture
async def recon(make_database, infra_endpoints, topic_prefix) -> AsyncIterator[Recon]:
    async with started_recon(make_database, infra_endpoints, topic_prefix) as r:
        yield r


@contextlib.asynccontextmanager
async def started_recon(make_database, infra_endpoints, topic_prefix, **settings: object) -> AsyncIterator[Recon]:
    """The service with the school registered and its three aggregators configured; `settings` override."""
    async with running_service(
        "reconciliation", make_database, infra_endpoints, topic_prefix, host="recon", **settings
    ) as (client, app):
        r = Recon(client, app.state.runtime.db(), topic_prefix, infra_endpoints.kafka, app.state.runtime)
        await r.publish(
            (
                SchoolRegistered(
                    school_id=SCHOOL,
                    code=SCHOOL,
                    name="Trường MN Hoa Phượng",
                    district_code="HN-CAU-GIAY",
                    bank_bin="970436",
                    account_number=ACCOUNT,
                    account_name="TRUONG MN HOA PHUONG",
                    ownership="public",
                ),
                SCHOOL,
            )
        )
        await wait_until(lambda: r._count("SELECT count(*) FROM schools", 1), what="school in the book")
        for provider, scheme, secret in (
            ("casso", "hmac", CASSO_KEY),
            ("sepay", "apikey", SEPAY_KEY),
            ("payos", "checksum", PAYOS_KEY),
        ):
            resp = await client.put(
                f"/schools/{SCHOOL}/webhooks/{provider}",
                headers=r.headers(),
                json={"scheme": scheme, "secret": secret},
            )
            assert resp.status_code == 204, resp.text
        yield r
