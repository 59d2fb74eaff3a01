"""Parents are told (issue 31), on the real PostgreSQL and Kafka: an invoice notice, a payment notice with the
receipt's link and a reminder reach the guardian by Zalo ZNS, SMS or email; a real SMTP server (aiosmtpd)
receives the mail; ZNS and the SMS gateway are their stand-ins (devinfra/messaging_standins.py), with their
error answers. Exactly one message per event and guardian, whatever is replayed or cut short."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from devinfra.messaging_standins import SmsStandIn, ZaloStandIn
from devinfra.testing import free_port, running_service, service_app, serving, wait_until
from invoicing.app import messages
from shared.auth import mint_token
from shared.events.envelope import wrap
from shared.events.topics import Topic, topic_name
from shared.settings import DEV_JWT_SECRET
from simulator.people import pupil, roster_csv
from tuition.receipts.v1.events_pb2 import ReceiptIssued

from .conftest import SCHOOL, register_school

pytestmark = pytest.mark.integration

TEMPLATES = {"invoice": "400101", "payment": "400102", "reminder": "400103", "code": "400104"}


class Mailbox:
    """A real SMTP server's deliveries (aiosmtpd)."""

    def __init__(self) -> None:
        self.mails: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@dataclass
class Parents:
    client: httpx.AsyncClient
    app: Any
    zalo: ZaloStandIn
    sms: SmsStandIn
    mailbox: Mailbox
    prefix: str
    kafka: str

    def staff(self) -> dict[str, str]:
        return self.as_("accountant")

    def as_(self, role: str) -> dict[str, str]:
        school = SCHOOL if role == "accountant" else None
        token = mint_token(DEV_JWT_SECRET, role=role, school=school, subject=f"test-{role}")
        return {"Authorization": f"Bearer {token}"}

    async def log(self, **params: str) -> list[dict[str, Any]]:
        r = await self.client.get(f"/schools/{SCHOOL}/messages", headers=self.staff(), params=params)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def _parents(
    make_database, infra_endpoints, topic_prefix: str, *, http: bool = False, **settings: Any
) -> AsyncIterator[Parents]:
    """Invoicing with the messaging providers; `http`: served on a real port (for a browser), `client` on it."""
    zalo = ZaloStandIn(
        app_id="1029384756", secret_key="zalo-secret", refresh_token="first-refresh", templates=set(TEMPLATES.values())
    )
    sms = SmsStandIn(api_key="esms-key", secret_key="esms-secret", brandname="TRUONG NT")
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    zalo_port, sms_port = free_port(), free_port()
    try:
        async with serving(zalo.app(), zalo_port), serving(sms.app(), sms_port):
            channels = zalo.settings(f"http://127.0.0.1:{zalo_port}", TEMPLATES) | {
                "sms_api_url": f"http://127.0.0.1:{sms_port}",
                "sms_api_key": sms.api_key,
                "sms_secret_key": sms.secret_key,
                "sms_brandname": sms.brandname,
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "smtp_sender": "thongbao@nghiatan.edu.vn",
                "messages_quiet_hours": "",  # the quiet hours are checked below with a clock of their own
            }
            if http:
                port = free_port()
                base = f"http://127.0.0.1:{port}"
                values = channels | {"public_url": base, "workspace_origin": base} | settings
                app = await service_app("invoicing", make_database, infra_endpoints, topic_prefix, **values)
                async with serving(app, port), httpx.AsyncClient(base_url=base, timeout=30) as client:
                    yield Parents(client, app, zalo, sms, mailbox, topic_prefix, infra_endpoints.kafka)
                return
            async with running_service(
                "invoicing", make_database, infra_endpoints, topic_prefix, **(channels | settings)
            ) as (client, app):
                yield Parents(client, app, zalo, sms, mailbox, topic_prefix, infra_endpoints.kafka)
    finally:
        smtp.stop()


async def _school_with_pupils(p: Parents, emails: dict[int, str] | None = None) -> list[Any]:
    """Three pupils: the first's guardian is on Zalo, the second's is not (SMS), the third's number is blocked
    for SMS and not on Zalo either, with an email address."""
    await register_school(p)  # type: ignore[arg-type]
    rng = random.Random(31)
    kids = [pupil(rng, f"HS31{i:02d}", 2018) for i in range(3)]
    csv = roster_csv([(k, "2", "2A") for k in kids]).decode().split("\n")
    csv[0] += ",Email phụ huynh"
    for i in range(1, 4):
        csv[i] += "," + (emails or {}).get(i - 1, "")
    r = await p.client.post(
        f"/schools/{SCHOOL}/roster", params={"mode": "apply"}, headers=p.staff(),
        files={"file": ("roster.csv", "\n".join(csv).encode(), "text/csv")},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    p.zalo.not_on_zalo |= {"84" + k.phone[1:] for k in kids[1:]}
    p.sms.blocked.add(kids[2].phone)
    fee = {"name": "Bán trú", "category": "services", "cadence": "monthly", "rates": [{"amount": 450_000}]}
    assert (await p.client.put(f"/schools/{SCHOOL}/fee-items/BT", headers=p.staff(), json=fee)).status_code == 204
    return kids


async def _issue(p: Parents) -> list[dict[str, Any]]:
    r = await p.client.post(
        f"/schools/{SCHOOL}/periods/2026-10/invoices", headers=p.staff(), json={"due_date": "2026-10-15"}
    )
    assert r.status_code == 200 and r.json()["created"] == 3, r.text
    listed = await p.client.get(f"/schools/{SCHOOL}/invoices", headers=p.staff(), params={"period": "2026-10"})
    return sorted(listed.json(), key=lambda i: i["student_code"])


async def _settled(p: Parents, kind: str, n: int) -> list[dict[str, Any]]:
    async def done() -> bool:
        rows = [m for m in await p.log() if m["kind"] == kind]
        return len(rows) == n and all(m["status"] in ("sent", "failed", "skipped") for m in rows)

    await wait_until(done, timeout=30, what=f"{n} {kind} messages settled")
    return sorted([m for m in await p.log() if m["kind"] == kind], key=lambda m: m["student_code"])


async def _publish(p: Parents, topic: Topic, message: Any, key: str, event_id: str | None = None) -> None:
    env = wrap(message, producer="receipts", aggregate_id=key, school_id=SCHOOL)
    if event_id:
        env.event_id = event_id
    producer = AIOKafkaProducer(bootstrap_servers=p.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(topic_name(topic, p.prefix), env.SerializeToString(), key=key.encode())
    finally:
        await producer.stop()


async def test_invoice_payment_and_reminder_messages_reach_guardians_by_zalo_sms_or_email(
    make_database, infra_endpoints, topic_prefix
):
    async with _parents(make_database, infra_endpoints, topic_prefix) as p:
        kids = await _school_with_pupils(p, emails={2: "me.khoi@example.vn"})
        invoices = await _issue(p)

        # The invoice notices: by Zalo where the guardian has it, else SMS, else email.
        sent = await _settled(p, "invoice", 3)
        assert [(m["status"], m["channel"]) for m in sent] == [("sent", "zalo"), ("sent", "sms"), ("sent", "email")], [
            m["tries"] for m in sent
        ]
        assert [t["outcome"] for t in sent[1]["tries"]] == ["undeliverable", "sent"]  # -118: no Zalo account
        assert sent[1]["tries"][0]["code"] == "-118"
        assert [t["outcome"] for t in sent[2]["tries"]] == ["undeliverable", "undeliverable", "sent"]
        assert sent[0]["recipient"] == kids[0].phone[:3] + "****" + kids[0].phone[-3:]  # masked in the log
        [zns] = p.zalo.delivered
        assert zns.to == "84" + kids[0].phone[1:] and zns.body["template_id"] == TEMPLATES["invoice"]
        assert zns.body["template_data"]["amount"] == "450000" and zns.body["template_data"]["due_date"] == "15/10/2026"
        assert zns.body["template_data"]["link"] == invoices[0]["pay_url"]
        assert zns.body["tracking_id"] == str(sent[0]["message_id"])
        [text] = p.sms.delivered
        assert text.to == kids[1].phone and text.body["Content"].isascii() and "450.000 dong" in text.body["Content"]
        [mail] = p.mailbox.mails
        assert mail["To"] == "me.khoi@example.vn" and "Khoản thu kỳ 10/2026" in mail["Subject"]
        assert invoices[2]["pay_url"] in mail.get_content() and "hạn nộp 15/10/2026" in mail.get_content()
        for m, kid in zip(sent, kids, strict=True):  # no personal ID in any message
            assert kid.national_id not in m["text"]

        # The Zalo token ends: renewed with the refresh token (spent and replaced). Each guardian is told of the
        # payment, with the receipt's link, by the channel that reaches them.
        p.zalo.expire_tokens()
        for n, inv in enumerate(invoices):
            receipt = ReceiptIssued(
                receipt_id=str(uuid.uuid4()), school_id=SCHOOL, invoice_id=inv["invoice_id"], payment_id=f"p{n}",
                amount=450_000, url=f"https://bienlai.example.vn/r/CODE{n}", number=7 + n, verification_code=f"CODE{n}",
            )  # fmt: skip
            await _publish(p, Topic.RECEIPTS, receipt, inv["invoice_id"])
        paid = await _settled(p, "payment", 3)
        assert [(m["status"], m["channel"]) for m in paid] == [("sent", "zalo"), ("sent", "sms"), ("sent", "email")]
        assert p.zalo.renewals == 2
        assert p.zalo.delivered[-1].body["template_data"]["link"] == "https://bienlai.example.vn/r/CODE0"
        assert "https://bienlai.example.vn/r/CODE1" in p.sms.delivered[-1].body["Content"]
        assert "https://bienlai.example.vn/r/CODE2" in p.mailbox.mails[-1].get_content()
        assert all("đã nhận 450.000 đồng" in m["text"] for m in paid)

        # Three days before the due date: a reminder for what is still owed; none for the paid invoice.
        await p.app.state.runtime.db().execute(
            "UPDATE invoices SET status = 'paid', amount_paid = total WHERE invoice_id = $1",
            uuid.UUID(invoices[2]["invoice_id"]),
        )
        await p.client.put(
            f"/schools/{SCHOOL}/message-settings", headers=p.staff(),
            json={"channels": ["zalo", "sms", "email"], "remind_days_before": 3, "remind_every_days": 7,
                  "max_reminders": 2, "monthly_cap": 1_000_000},
        )  # fmt: skip
        wiring = replace(_wiring(p), quiet=None)
        three_days_before = datetime(2026, 10, 12, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
        db = p.app.state.runtime.db()
        assert await messages.queue_reminders(db, wiring, now=three_days_before) == 2
        assert await messages.queue_reminders(db, wiring, now=three_days_before) == 0  # once a day
        reminders = await _settled(p, "reminder", 2)
        assert [(m["student_code"], m["channel"]) for m in reminders] == [(kids[0].code, "zalo"), (kids[1].code, "sms")]
        assert all(m["status"] == "sent" and "hạn nộp 15/10/2026" in m["text"] for m in reminders)
        assert p.zalo.delivered[-1].body["template_id"] == TEMPLATES["reminder"]
        # Stopped for a pupil: no more reminders for that pupil.
        r = await p.client.put(
            f"/schools/{SCHOOL}/students/{kids[1].code}/reminders", headers=p.staff(), json={"stopped": True}
        )
        assert r.status_code == 204
        week_after = datetime(2026, 10, 22, 3, 0, tzinfo=UTC)
        assert await messages.queue_reminders(db, wiring, now=week_after) == 1
        [late] = [m for m in await p.log() if m["kind"] == "reminder" and "quá hạn" in m["text"]]
        assert late["student_code"] == kids[0].code


def _wiring(p: Parents) -> messages.Wiring:
    from invoicing.entrypoints.wiring import message_wiring

    return message_wiring(p.app.state.runtime)


async def test_one_message_per_event_whatever_is_replayed_or_cut_short(make_database, infra_endpoints, topic_prefix):
    async with _parents(make_database, infra_endpoints, topic_prefix) as p:
        await _school_with_pupils(p)
        invoices = await _issue(p)
        await _settled(p, "invoice", 3)
        receipt = ReceiptIssued(
            receipt_id=str(uuid.uuid4()), school_id=SCHOOL, invoice_id=invoices[0]["invoice_id"], payment_id="p2",
            amount=100_000, url="https://bienlai.example.vn/r/X", number=8, verification_code="X",
        )  # fmt: skip
        event_id = str(uuid.uuid4())
        for _ in range(3):  # the same event delivered again (a replay, a consumer restarted before committing)
            await _publish(p, Topic.RECEIPTS, receipt, invoices[0]["invoice_id"], event_id=event_id)
        [paid] = await _settled(p, "payment", 1)
        await asyncio.sleep(2)  # time for any duplicate to appear
        assert len([m for m in await p.log() if m["kind"] == "payment"]) == 1
        zalo_before = len(p.zalo.delivered)

        # A send cut short after the provider took it (the process ended before recording it): tried again
        # with the same idempotency key, the provider does not deliver it twice.
        db = p.app.state.runtime.db()
        await db.execute(
            "UPDATE messages SET status = 'sending', updated_at = now() - interval '10 minutes' WHERE message_id = $1",
            uuid.UUID(paid["message_id"]),
        )

        async def again() -> bool:
            row = await db.fetchrow(
                "SELECT status, attempts FROM messages WHERE message_id = $1", uuid.UUID(paid["message_id"])
            )
            return row["status"] == "sent" and row["attempts"] == 2

        await wait_until(again, timeout=20, what="the cut-short message taken again")
        assert len(p.zalo.delivered) == zalo_before  # the same tracking id: not a second message


async def test_channel_errors_are_retried_or_passed_over_and_the_cost_cap_holds(
    make_database, infra_endpoints, topic_prefix
):
    async with _parents(make_database, infra_endpoints, topic_prefix) as p:
        kids = await _school_with_pupils(
            p, emails={0: "ba.an@example.vn", 1: "me.binh@example.vn", 2: "me.khoi@example.vn"}
        )
        p.zalo.not_on_zalo.clear()
        p.zalo.daily_quota = 1  # one message, then -144 for the day: the next channel
        p.sms.balance = 0  # the gateway's account is empty (103): the next channel
        await _issue(p)
        sent = await _settled(p, "invoice", 3)
        assert sorted(m["channel"] for m in sent) == ["email", "email", "zalo"]
        codes = {t["code"] for m in sent for t in m["tries"]}
        assert {"-144", "103"} <= codes
        # The month's cap reached: the paid channels are passed over, email still goes.
        await p.client.put(
            f"/schools/{SCHOOL}/message-settings", headers=p.staff(),
            json={"channels": ["zalo", "sms", "email"], "remind_days_before": 3, "remind_every_days": 7,
                  "max_reminders": 1, "monthly_cap": 0},
        )  # fmt: skip
        p.zalo.daily_quota = 100
        wiring = replace(_wiring(p), quiet=None)
        assert (
            await messages.queue_reminders(p.app.state.runtime.db(), wiring, now=datetime(2026, 10, 12, 3, tzinfo=UTC))
            == 3
        )
        reminders = await _settled(p, "reminder", 3)
        assert {m["channel"] for m in reminders} == {"email"} and all(m["cost"] == 0 for m in reminders)
        assert any(t["code"] == "cap" for m in reminders for t in m["tries"])
        month = (await p.client.get(f"/schools/{SCHOOL}/messages/summary", headers=p.staff())).json()
        zalo = next(c for c in month["by_channel"] if c["channel"] == "zalo")
        assert (zalo["messages"], zalo["cost"]) == (1, 300) and month["cap"] == 0 and month["messages"] == 6
        # A guardian who asked for no more messages is not written to.
        r = await p.client.post(
            f"/schools/{SCHOOL}/students/{kids[0].code}/opt-out",
            headers=p.staff(),
            json={"source": "Đơn của phụ huynh"},
        )
        assert r.status_code == 204
        assert (
            await messages.queue_reminders(p.app.state.runtime.db(), wiring, now=datetime(2026, 10, 22, 3, tzinfo=UTC))
            == 0
        )  # max 1 each


async def test_messages_wait_for_the_morning(make_database, infra_endpoints, topic_prefix):
    async with _parents(make_database, infra_endpoints, topic_prefix, messages_quiet_hours="00:00-23:59") as p:
        await _school_with_pupils(p)
        await _issue(p)

        async def queued() -> bool:
            return len(await p.log()) == 3

        await wait_until(queued, what="the notices recorded")
        await asyncio.sleep(2)
        rows = await p.log()
        assert {m["status"] for m in rows} == {"queued"} and not p.zalo.delivered
        assert all(
            datetime.fromisoformat(m["next_attempt_at"]) > datetime.now(UTC) + timedelta(seconds=1) for m in rows
        )


async def _two_schools_one_family(p: Parents) -> tuple[str, list[Any]]:
    """Two children of one guardian, at two schools of the suite, each with an invoice."""
    rng = random.Random(35)
    older, younger = pupil(rng, "HS3501", 2014), pupil(rng, "MN3502", 2020)
    younger = replace(younger, guardian=older.guardian, phone=older.phone)
    other = "MN-B"
    for school, kid, grade, cls in ((SCHOOL, older, "6", "6A"), (other, younger, "Mầm", "MG2")):
        await register_school(p, school=school)  # type: ignore[arg-type]
        staff = {
            "Authorization": "Bearer " + mint_token(DEV_JWT_SECRET, role="accountant", school=school, subject="kt")
        }
        r = await p.client.post(
            f"/schools/{school}/roster", params={"mode": "apply"}, headers=staff,
            files={"file": ("roster.csv", roster_csv([(kid, grade, cls)]), "text/csv")},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        fee = {"name": "Học phí", "category": "services", "cadence": "monthly", "rates": [{"amount": 300_000}]}
        assert (await p.client.put(f"/schools/{school}/fee-items/HP", headers=staff, json=fee)).status_code == 204
        r = await p.client.post(
            f"/schools/{school}/periods/2026-10/invoices", headers=staff, json={"due_date": "2026-10-15"}
        )
        assert r.json()["created"] == 1, r.text
    return older.phone, [older, younger]


async def _code(p: Parents, before: int) -> str:
    async def arrived() -> bool:
        return any(d.body["template_id"] == TEMPLATES["code"] for d in p.zalo.delivered[before:])

    await wait_until(arrived, timeout=20, what="the sign-in code on Zalo")
    [sent] = [d for d in p.zalo.delivered[before:] if d.body["template_id"] == TEMPLATES["code"]]
    return str(sent.body["template_data"]["otp"])


async def test_a_parent_signs_in_with_a_code_and_sees_every_child_at_every_school(
    make_database, infra_endpoints, topic_prefix
):
    async with _parents(make_database, infra_endpoints, topic_prefix) as p:
        phone, kids = await _two_schools_one_family(p)
        await wait_until(lambda: _sent_count(p, 2), what="the two invoice notices")
        said = await p.client.post("/parent/code", json={"phone": phone})
        unknown = await p.client.post("/parent/code", json={"phone": "0987000111"})
        assert said.status_code == unknown.status_code == 202 and said.json() == unknown.json()  # nobody learns who is
        code = await _code(p, 2)  # after the two notices
        assert len(p.zalo.delivered) == 3  # the two notices, one code: nothing for the unknown number
        wrong = await p.client.post("/parent/sign-in", json={"phone": phone, "code": f"{(int(code) + 1) % 10**6:06d}"})
        assert wrong.status_code == 401 and "Mã không đúng" in wrong.json()["detail"]
        assert (await p.client.get("/parent/overview")).status_code == 401
        ok = await p.client.post("/parent/sign-in", json={"phone": phone.replace("0", "+84", 1), "code": code})
        assert ok.status_code == 200 and "parent_session" in ok.cookies
        family = (await p.client.get("/parent/overview")).json()["children"]
        assert sorted((c["name"], c["school"]) for c in family) == sorted(
            [(kids[0].name, "Trường Mầm non Hoa Phượng"), (kids[1].name, "Trường Mầm non Hoa Phượng")]
        )
        assert all(c["owed"] == 300_000 and c["invoices"][0]["pay_url"].startswith("http") for c in family)
        assert all(len(c["messages"]) == 1 and "300.000 đồng" in c["messages"][0]["text"] for c in family)
        assert {c["told"] for c in family} == {"not_asked"}
        # The parent agrees to messages on the page (the code proved the phone): recorded at both schools.
        assert (await p.client.post("/parent/messages", json={"consent": True})).status_code == 204
        family = (await p.client.get("/parent/overview")).json()["children"]
        assert {c["told"] for c in family} == {"consented"}
        source = await p.app.state.runtime.db().fetchval("SELECT DISTINCT source FROM guardian_consents")
        assert "xác thực bằng mã" in source
        # Then asks for no more: the next invoice notice at either school is not sent, and says why.
        assert (await p.client.post("/parent/messages", json={"consent": False})).status_code == 204
        family = (await p.client.get("/parent/overview")).json()["children"]
        assert {c["told"] for c in family} == {"opted_out"}
        r = await p.client.post(f"/schools/{SCHOOL}/periods/2026-11/invoices", headers=p.staff(), json={})
        assert r.json()["created"] == 1

        async def skipped() -> bool:
            return any(m["status"] == "skipped" and "từ chối" in (m["last_error"] or "") for m in await p.log())

        await wait_until(skipped, what="the opted-out family's notice skipped")
        # A consent on paper, recorded by the school, lifts the opt-out there.
        r = await p.client.post(
            f"/schools/{SCHOOL}/students/{kids[0].code}/consent",
            headers=p.staff(),
            json={"source": "Phiếu đồng ý ký ngày 03/12"},
        )
        assert r.status_code == 204
        family = (await p.client.get("/parent/overview")).json()["children"]
        assert sorted(c["told"] for c in family) == ["consented", "opted_out"]
        again = await p.client.post("/parent/sign-in", json={"phone": phone, "code": code})
        assert again.status_code == 401  # a code signs in once
        log = [m for m in await p.log() if m["kind"] == "code"]
        assert log and code not in log[0]["text"] and "••••••" in log[0]["text"]  # the log never keeps a code
        await p.client.post("/parent/sign-out")
        assert (await p.client.get("/parent/overview")).status_code == 401


async def _sent_count(p: Parents, n: int) -> bool:
    """At least `n` messages sent, at every school."""
    sent = await p.app.state.runtime.db().fetchval("SELECT count(*) FROM messages WHERE status = 'sent'")
    return bool(sent >= n)


async def test_five_wrong_codes_end_the_code_and_three_codes_in_a_quarter_hour_are_the_most(
    make_database, infra_endpoints, topic_prefix
):
    async with _parents(make_database, infra_endpoints, topic_prefix) as p:
        phone, _ = await _two_schools_one_family(p)
        await p.client.post("/parent/code", json={"phone": phone})
        code = await _code(p, 0)
        for _ in range(5):
            bad = await p.client.post(
                "/parent/sign-in", json={"phone": phone, "code": "000000" if code != "000000" else "111111"}
            )
            assert bad.status_code == 401
        late = await p.client.post("/parent/sign-in", json={"phone": phone, "code": code})
        assert late.status_code == 401  # five tries spent: the right code no longer opens
        for _ in range(2):
            assert (await p.client.post("/parent/code", json={"phone": phone})).status_code == 202
        refused = await p.client.post("/parent/code", json={"phone": phone})
        assert refused.status_code == 429 and "15 phút" in refused.json()["detail"]
