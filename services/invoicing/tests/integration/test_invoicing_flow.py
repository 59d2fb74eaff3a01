"""Invoicing on the real PostgreSQL and Kafka: roster → schedule → invoices → QR → payments → page."""

from __future__ import annotations

import asyncio
import binascii
import dataclasses
import io
import json
import random
import unicodedata
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import zxingcpp
from aiokafka import AIOKafkaProducer
from PIL import Image

from devinfra.testing import wait_until
from devinfra.testing_files import SAMPLES
from invoicing.app import balances
from shared import payref
from shared.events import pupil_keys
from shared.events.envelope import unwrap, wrap
from shared.events.topics import Topic, topic_name
from shared.formatting import VN
from simulator.people import pupil, roster_csv
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched

from .conftest import SCHOOL, import_roster, register_school

pytestmark = pytest.mark.integration

DAYS = 22
MEAL, CARE, INSURANCE = 25_000, 150_000, 884_520


async def _schedule(inv) -> None:
    acc = inv.as_("accountant")
    items = {
        "HOCPHI": {
            "name": "Học phí",
            "category": "tuition",
            "cadence": "monthly",
            "state_funded": True,
            "rates": [{"amount": 0}],
        },
        "BANTRU": {
            "name": "Tiền ăn bán trú",
            "category": "meals",
            "cadence": "monthly",
            "per_day": True,
            "rates": [{"amount": MEAL}],
        },
        "CHAMSOC": {
            "name": "Chăm sóc bán trú",
            "category": "services",
            "cadence": "monthly",
            "rates": [{"amount": CARE}],
        },
        "BHYT": {
            "name": "Bảo hiểm y tế",
            "category": "insurance",
            "cadence": "yearly",
            "rates": [{"amount": INSURANCE}],
        },
    }
    for code, body in items.items():
        r = await inv.client.put(f"/schools/{SCHOOL}/fee-items/{code}", headers=acc, json=body)
        assert r.status_code == 204, r.text
    # The school's meal support: 100% poor households, 70% children of people with merit, 50% near-poor.
    for category, value in (("HO_NGHEO", 100), ("CON_NGUOI_CO_CONG", 70), ("HO_CAN_NGHEO", 50)):
        r = await inv.client.post(
            f"/schools/{SCHOOL}/policies",
            headers=acc,
            json={
                "category": category,
                "fee_category": "meals",
                "kind": "percent",
                "value": value,
                "effective_from": "2025-09-01",
            },
        )
        assert r.status_code == 201, r.text
    r = await inv.client.put(f"/schools/{SCHOOL}/calendar/2026-09", headers=acc, json={"school_days": DAYS})
    assert r.status_code == 204


async def _ready(inv) -> list[dict]:
    await register_school(inv)
    r = await import_roster(inv, (SAMPLES / "roster-mam-non.csv").read_bytes())
    assert r.status_code == 200 and r.json()["applied"] and len(r.json()["created"]) == 12, r.text
    await _schedule(inv)
    r = await inv.client.post(
        f"/schools/{SCHOOL}/periods/2026-09/invoices", headers=inv.as_("accountant"), json={"due_date": "2026-09-15"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 12
    r = await inv.client.get(f"/schools/{SCHOOL}/invoices", params={"period": "2026-09"}, headers=inv.as_("accountant"))
    return r.json()


async def test_a_roster_and_a_schedule_with_exemptions_give_the_expected_totals(invoicing):
    invoices = {i["student_code"]: i for i in await _ready(invoicing)}
    meals = MEAL * DAYS  # 550,000
    base = CARE + INSURANCE
    expected = {
        "2212345001": base + meals,  # no exemption
        "2212345002": base,  # Con hộ nghèo: meals 100% off
        "2212345004": base + meals * 50 // 100,  # Con hộ cận nghèo: 50%
        "2212345009": base + meals * 30 // 100,  # Con thương binh: 70%
        "2212345007": base + meals,  # Mồ côi: tuition exemption only (tuition is state-funded)
    }
    for code, total in expected.items():
        assert invoices[code]["total"] == total, code
    detail = (
        await invoicing.client.get(
            f"/schools/{SCHOOL}/invoices/{invoices['2212345009']['invoice_id']}", headers=invoicing.as_("accountant")
        )
    ).json()
    by_code = {line["item_code"]: line for line in detail["lines"]}
    assert by_code["BANTRU"]["quantity"] == DAYS and by_code["BANTRU"]["reduction"] == 385_000
    assert by_code["BANTRU"]["policy_category"] == "CON_NGUOI_CO_CONG"
    assert by_code["HOCPHI"]["amount"] == 0 and by_code["HOCPHI"]["policy_category"] == "STATE_FUNDED"
    report = (
        await invoicing.client.get(
            f"/schools/{SCHOOL}/reports/reimbursement",
            params={"period": "2026-09"},
            headers=invoicing.as_("district", district="HN-CAU-GIAY"),
        )
    ).json()
    meal_rows = {r["policy_category"]: r["reduction"] for r in report if r["category"] == "meals"}
    assert meal_rows == {"HO_NGHEO": 550_000, "HO_CAN_NGHEO": 275_000, "CON_NGUOI_CO_CONG": 385_000}


async def test_each_issued_event_carries_its_own_invoice_lines_and_pupil(invoicing):
    # Pupils priced alike share one computation of their lines: each event must still be its own invoice's.
    await _ready(invoicing)
    pool = invoicing.runtime.db()
    rows = await pool.fetch(
        "SELECT o.event_id, o.kafka_key, o.payload, i.*, s.student_code, s.full_name, s.guardian_name, s.grade, "
        "s.class_name, s.family_key, sc.district_code, sc.bank_bin, sc.account_number FROM outbox o "
        "JOIN invoices i ON i.invoice_id::text = convert_from(o.kafka_key, 'UTF8') "
        "JOIN students s USING (student_id) JOIN schools sc ON sc.school_id = i.school_id "
        "WHERE o.event_type = 'tuition.invoicing.v1.InvoiceIssued'"
    )
    assert len(rows) == 12
    announced = await pool.fetch(
        "SELECT kafka_key, payload, topic FROM outbox WHERE event_type = 'tuition.invoicing.v1.PupilKeyIssued'"
    )
    keys = {(k := unwrap(bytes(a["payload"])).payload).key_id: k for a in announced}
    assert len(keys) == 12 and all(a["topic"].endswith(Topic.PUPIL_KEYS) for a in announced)
    assert {bytes(a["kafka_key"]).decode() for a in announced} == {str(r["student_id"]) for r in rows}
    totals = set()
    for row in rows:
        event = unwrap(bytes(row["payload"]))
        env, e = event.envelope, event.payload
        assert (env.event_id, env.producer, env.aggregate_id, env.school_id, env.schema_version) == (
            str(row["event_id"]),
            "invoicing",
            str(row["invoice_id"]),
            SCHOOL,
            1,
        )
        assert env.occurred_at.ToDatetime(tzinfo=UTC) == e.issued_at.ToDatetime(tzinfo=UTC) == row["issued_at"]
        assert (e.invoice_id, e.student_id, e.payment_reference, e.total) == (
            str(row["invoice_id"]),
            str(row["student_id"]),
            row["payment_reference"],
            row["total"],
        )
        # The names travel only sealed, with the pupil's key announced on the keys' topic.
        assert (e.student_name, e.guardian_name) == ("", "")
        key = keys[e.sealed_names.key_id]
        assert key.student_id == e.student_id
        names = pupil_keys.open_sealed(key.key, e.sealed_names, bound_to=e.invoice_id)
        assert (names.student_name, names.guardian_name) == (row["full_name"], row["guardian_name"])
        assert (e.student_code, e.grade, e.class_name, e.family_key) == (
            row["student_code"],
            row["grade"],
            row["class_name"],
            row["family_key"],
        )
        assert (e.school_id, e.district_code, e.period, e.school_year, e.due_date, e.round_code) == (
            SCHOOL,
            row["district_code"],
            "2026-09",
            "2026-2027",
            "2026-09-15",
            "",
        )
        assert (e.bank_bin, e.account_number) == (row["bank_bin"], row["account_number"])
        lines = await pool.fetch(
            "SELECT item_code, name, category, quantity, unit_amount, list_amount, reduction, "
            "coalesce(policy_category, '') AS policy_category, amount FROM invoice_lines "
            "WHERE invoice_id = $1 ORDER BY line_no",
            row["invoice_id"],
        )
        assert [
            (
                ln.item_code,
                ln.name,
                ln.category,
                ln.quantity,
                ln.unit_amount,
                ln.list_amount,
                ln.reduction,
                ln.policy_category,
                ln.amount,
            )
            for ln in e.lines
        ] == [tuple(ln.values()) for ln in lines]
        assert sum(ln.amount for ln in e.lines) == e.total
        totals.add(e.total)
    assert len(totals) >= 4  # the exemptions made different invoices: lines were not shared across prices


async def test_issuing_a_period_again_creates_nothing(invoicing):
    await _ready(invoicing)
    again = await invoicing.client.post(
        f"/schools/{SCHOOL}/periods/2026-09/invoices", headers=invoicing.as_("accountant")
    )
    assert again.json() == {
        "period": "2026-09",
        "created": 0,
        "already_issued": 12,
        "nothing_billed": 0,
        "total_invoiced": 0,
    }
    pool = invoicing.runtime.db()
    assert await pool.fetchval("SELECT count(*) FROM invoices") == 12
    assert (
        await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'tuition.invoicing.v1.InvoiceIssued'") == 12
    )
    refs = [r["payment_reference"] for r in await pool.fetch("SELECT payment_reference FROM invoices")]
    assert len(set(refs)) == 12 and all(payref.is_valid(r) for r in refs)


def _independent_tlv(data: str) -> dict[str, str]:
    out, i = {}, 0
    while i < len(data):
        length = int(data[i + 2 : i + 4])
        out[data[i : i + 2]] = data[i + 4 : i + 4 + length]
        i += 4 + length
    return out


def _independent_decode(payload: str) -> dict[str, str]:
    """Written apart from the service's decoder: stdlib CRC (crc_hqx with 0xFFFF = CRC-16/CCITT-FALSE)."""
    assert payload[-8:-4] == "6304"
    assert f"{binascii.crc_hqx(payload[:-4].encode(), 0xFFFF):04X}" == payload[-4:], "CRC"
    top = _independent_tlv(payload[:-8])
    merchant = _independent_tlv(top["38"])
    beneficiary = _independent_tlv(merchant["01"])
    return {
        "guid": merchant["00"],
        "bin": beneficiary["00"],
        "account": beneficiary["01"],
        "service": merchant["02"],
        "amount": top.get("54"),
        "purpose": _independent_tlv(top["62"])["08"],
        "currency": top["53"],
        "country": top["58"],
        "init": top["01"],
    }


async def test_every_invoice_qr_decodes_to_the_school_account_amount_and_reference(invoicing):
    invoices = await _ready(invoicing)
    acc = invoicing.as_("accountant")
    for inv in invoices:
        base = f"/schools/{SCHOOL}/invoices/{inv['invoice_id']}/qr"
        payload = (await invoicing.client.get(base + ".txt", headers=acc)).text
        fields = _independent_decode(payload)
        assert fields == {
            "guid": "A000000727",
            "bin": "970436",
            "account": "0011001234567",
            "service": "QRIBFTTA",
            "amount": str(inv["total"]),
            "purpose": f"{inv['payment_reference']} T09 2026",
            "currency": "704",
            "country": "VN",
            "init": "12",
        }
        assert len(fields["purpose"]) <= 19 and payref.find_references(fields["purpose"]) == [inv["payment_reference"]]
        png = (await invoicing.client.get(base + ".png", headers=acc)).content
        read = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
        assert [b.text for b in read] == [payload]
    svg = await invoicing.client.get(f"/schools/{SCHOOL}/invoices/{invoices[0]['invoice_id']}/qr.svg", headers=acc)
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text


async def test_bad_roster_rows_come_back_with_line_numbers_and_nothing_is_applied(invoicing):
    await register_school(invoicing)
    lines = (SAMPLES / "roster-mam-non.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[3] = lines[3].replace("022219001204", "02221900120")  # line 4: 11-digit ID
    lines[6] = lines[6].replace("0356444555", "12345")  # line 7: bad phone
    bad = ("\n".join(lines) + "\n").encode()
    r = await import_roster(invoicing, bad, mode="apply")
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert {(e["line"], e["column"]) for e in errors} == {(4, "Mã định danh"), (7, "Số điện thoại")}
    assert r.json()["applied"] is False
    assert await invoicing.runtime.db().fetchval("SELECT count(*) FROM students") == 0
    preview = await import_roster(invoicing, bad, mode="preview")
    assert preview.status_code == 200 and len(preview.json()["created"]) == 10
    assert await invoicing.runtime.db().fetchval("SELECT count(*) FROM students") == 0
    partial = await import_roster(invoicing, bad, mode="apply_valid")
    assert partial.json()["applied"] and len(partial.json()["created"]) == 10
    assert await invoicing.runtime.db().fetchval("SELECT count(*) FROM students") == 10


async def test_a_student_missing_from_the_next_roster_is_marked_left_not_deleted(invoicing):
    await register_school(invoicing)
    data = (SAMPLES / "roster-mam-non.csv").read_bytes()
    await import_roster(invoicing, data)
    shorter = b"\n".join(data.splitlines()[:-1]) + b"\n"
    # Applying changes no pupil unseen: the preview says what would happen, and the apply must confirm it.
    preview = await import_roster(invoicing, shorter, mode="preview")
    assert (preview.json()["plan"], preview.json()["marked_left"]) == ("+0 ~0 -1", ["2212345012"])
    unconfirmed = await import_roster(invoicing, shorter, mode="apply")
    assert unconfirmed.status_code == 409 and "đánh dấu 1 học sinh đã nghỉ" in unconfirmed.json()["detail"]
    stale = await import_roster(invoicing, shorter, mode="apply_valid", confirm="+0 ~0 -0")
    assert stale.status_code == 409
    assert await invoicing.runtime.db().fetchval("SELECT count(*) FROM students WHERE left_at IS NOT NULL") == 0
    r = await import_roster(invoicing, shorter, mode="apply", confirm="+0 ~0 -1")
    assert r.json()["marked_left"] == ["2212345012"]
    left = await invoicing.runtime.db().fetchrow("SELECT * FROM students WHERE student_code = '2212345012'")
    assert left is not None and left["left_at"] is not None
    again = await import_roster(invoicing, data, mode="preview")
    assert again.json()["updated"] == {"2212345012": ["left"]}


async def _pay(inv, invoice_id: str, amount: int, payment_id: str | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=inv.kafka)
    await producer.start()
    msg = PaymentMatched(
        payment_id=payment_id or str(uuid.uuid4()),
        credit_id="C1",
        invoice_id=invoice_id,
        school_id=SCHOOL,
        amount=amount,
        channel=Channel.VIETQR,
        bank_reference="FT26248001937",
    )
    env = wrap(msg, producer="reconciliation", aggregate_id=invoice_id, school_id=SCHOOL)
    await producer.send_and_wait(
        topic_name(Topic.RECONCILIATION, inv.topic_prefix), env.SerializeToString(), key=invoice_id.encode()
    )
    await producer.stop()


async def _status(inv, invoice_id: str) -> str:
    return await inv.runtime.db().fetchval("SELECT status FROM invoices WHERE invoice_id = $1", uuid.UUID(invoice_id))


async def test_payments_move_an_invoice_through_partial_to_paid_and_the_page_follows(invoicing):
    invoices = await _ready(invoicing)
    inv = next(i for i in invoices if i["student_code"] == "2212345001")
    token = await invoicing.runtime.db().fetchval(
        "SELECT public_token FROM invoices WHERE invoice_id = $1", inv["invoice_id"]
    )
    page = await invoicing.client.get(f"/pay/{token}")
    assert page.status_code == 200 and "Nguyễn Ngọc Bảo Anh" in page.text and "1.584.520 ₫" in page.text
    assert inv["payment_reference"] in page.text and "<svg" in page.text
    await _pay(invoicing, str(inv["invoice_id"]), 500_000, payment_id="P1")
    await wait_until(lambda: _is(invoicing, inv, "partially_paid"), what="partially paid")
    qr = await invoicing.client.get(f"/pay/{token}/qr.txt")
    assert _independent_decode(qr.text)["amount"] == str(inv["total"] - 500_000)
    await _pay(invoicing, str(inv["invoice_id"]), 500_000, payment_id="P1")  # the same payment again: no effect
    await _pay(invoicing, str(inv["invoice_id"]), inv["total"] - 500_000, payment_id="P2")
    await wait_until(lambda: _is(invoicing, inv, "paid"), what="paid")
    await asyncio.sleep(0.5)
    assert (
        await invoicing.runtime.db().fetchval(
            "SELECT amount_paid FROM invoices WHERE invoice_id = $1", inv["invoice_id"]
        )
        == inv["total"]
    )
    page = await invoicing.client.get(f"/pay/{token}")
    assert "Đã thanh toán" in page.text and "Không còn khoản phải nộp" in page.text
    changes = await invoicing.runtime.db().fetchval(
        "SELECT count(*) FROM outbox WHERE event_type = 'tuition.invoicing.v1.InvoiceBalanceChanged'"
    )
    assert changes == 2
    assert (await invoicing.client.get("/pay/not-a-real-token")).status_code == 404


async def test_payments_applied_together_chain_their_balances_and_count_each_payment_once(invoicing):
    invoices = {i["student_code"]: i for i in await _ready(invoicing)}
    a, b = invoices["2212345001"], invoices["2212345002"]
    pool = invoicing.runtime.db()
    await pool.execute(
        "INSERT INTO invoice_payments (payment_id, invoice_id, amount, channel, bank_reference, paid_at) "
        "VALUES ('OLD', $1, 100000, 'VIETQR', 'FT0', now())",
        a["invoice_id"],
    )
    await pool.execute(
        "UPDATE invoices SET amount_paid = 100000, status = 'partially_paid' WHERE invoice_id = $1", a["invoice_id"]
    )

    def paid(payment_id: str, invoice: dict, amount: int) -> PaymentMatched:
        return PaymentMatched(
            payment_id=payment_id,
            invoice_id=str(invoice["invoice_id"]),
            school_id=SCHOOL,
            amount=amount,
            channel=Channel.VIETQR,
        )

    batch = [
        paid("OLD", a, 100_000),  # recorded before: a replay changes nothing
        paid("A1", a, 200_000),
        paid("B1", b, b["total"]),
        paid("A1", a, 200_000),  # the same payment twice in the batch
        paid("A2", a, a["total"] - 300_000),
    ]
    async with pool.acquire() as conn, conn.transaction():
        await balances.on_payments_matched(conn, invoicing.runtime.outbox, batch)
    rows = {
        r["student_code"]: (r["amount_paid"], r["status"])
        for r in await pool.fetch(
            "SELECT s.student_code, i.amount_paid, i.status FROM invoices i JOIN students s USING (student_id)"
        )
    }
    assert rows["2212345001"] == (a["total"], "paid") and rows["2212345002"] == (b["total"], "paid")
    assert await pool.fetchval("SELECT count(*) FROM invoice_payments") == 4
    events = [
        unwrap(bytes(r["payload"])).payload
        for r in await pool.fetch(
            "SELECT payload FROM outbox WHERE event_type = 'tuition.invoicing.v1.InvoiceBalanceChanged' ORDER BY seq"
        )
    ]
    assert [(e.payment_id, e.amount_paid, e.previous_status, e.status, e.outstanding) for e in events] == [
        ("A1", 300_000, "partially_paid", "partially_paid", a["total"] - 300_000),
        ("B1", b["total"], "open", "paid", 0),
        ("A2", a["total"], "partially_paid", "paid", 0),
    ]
    unknown = [paid("X1", b, 1_000), PaymentMatched(payment_id="X2", invoice_id=str(uuid.uuid4()), amount=5)]
    with pytest.raises(balances.UnknownInvoice):
        async with pool.acquire() as conn, conn.transaction():
            await balances.on_payments_matched(conn, invoicing.runtime.outbox, unknown)
    assert await pool.fetchval("SELECT count(*) FROM invoice_payments") == 4  # nothing of that batch stayed


async def _is(inv, invoice, status: str) -> bool:
    return await _status(inv, str(invoice["invoice_id"])) == status


async def test_adjustments_keep_history_and_a_paid_invoice_cannot_be_cancelled(invoicing):
    invoices = await _ready(invoicing)
    acc = invoicing.as_("accountant")
    first, second = invoices[0], invoices[1]
    r = await invoicing.client.post(
        f"/schools/{SCHOOL}/invoices/{first['invoice_id']}/adjustments",
        headers=acc,
        json={"delta": -50_000, "reason": "Nghỉ ốm 2 ngày"},
    )
    assert r.json() == {"total": first["total"] - 50_000, "status": "open"}
    detail = (await invoicing.client.get(f"/schools/{SCHOOL}/invoices/{first['invoice_id']}", headers=acc)).json()
    assert detail["adjustments"][0]["delta"] == -50_000
    assert sum(line["amount"] for line in detail["lines"]) == first["total"]  # lines untouched
    r = await invoicing.client.post(
        f"/schools/{SCHOOL}/invoices/{first['invoice_id']}/cancel", headers=acc, json={"reason": ""}
    )
    assert r.status_code == 422
    await _pay(invoicing, str(second["invoice_id"]), 100_000)
    await wait_until(lambda: _is(invoicing, second, "partially_paid"), what="payment applied")
    r = await invoicing.client.post(
        f"/schools/{SCHOOL}/invoices/{second['invoice_id']}/cancel", headers=acc, json={"reason": "Chuyển trường"}
    )
    assert r.status_code == 409 and "hoàn tiền" in r.json()["detail"]
    r = await invoicing.client.post(
        f"/schools/{SCHOOL}/invoices/{first['invoice_id']}/cancel", headers=acc, json={"reason": "Chuyển trường"}
    )
    assert r.status_code == 204
    assert await _status(invoicing, str(first["invoice_id"])) == "cancelled"
    r = await invoicing.client.get(f"/schools/{SCHOOL}/invoices/{first['invoice_id']}/qr.txt", headers=acc)
    assert r.status_code == 404


async def test_siblings_pay_all_their_invoices_with_one_family_reference(invoicing):
    await register_school(invoicing)
    data = (SAMPLES / "roster-mam-non.csv").read_text(encoding="utf-8-sig")
    data = data.replace("0987654321", "0912345678")  # Trần Đức Minh's guardian has Bảo Anh's guardian's phone
    assert (await import_roster(invoicing, data.encode())).json()["applied"]
    await _schedule(invoicing)
    await invoicing.client.post(f"/schools/{SCHOOL}/periods/2026-09/invoices", headers=invoicing.as_("accountant"))
    rows = await invoicing.runtime.db().fetch(
        "SELECT i.invoice_id, i.total, s.student_code FROM invoices i JOIN students s USING (student_id) "
        "WHERE s.student_code IN ('2212345001', '2212345002', '2212345003') ORDER BY s.student_code"
    )
    acc = invoicing.as_("accountant")
    r = await invoicing.client.post(
        f"/schools/{SCHOOL}/payment-groups",
        headers=acc,
        json={"invoice_ids": [str(rows[0]["invoice_id"]), str(rows[1]["invoice_id"])]},
    )
    assert r.status_code == 201, r.text
    group = r.json()
    assert group["total"] == rows[0]["total"] + rows[1]["total"] and group["payment_reference"].startswith("GD")
    page = await invoicing.client.get(f"/pay/{group['public_token']}")
    assert "Nguyễn Ngọc Bảo Anh" in page.text and "Trần Đức Minh" in page.text
    qr = _independent_decode((await invoicing.client.get(f"/pay/{group['public_token']}/qr.txt")).text)
    assert qr["amount"] == str(group["total"]) and qr["purpose"].startswith(group["payment_reference"])
    other_family = await invoicing.client.post(
        f"/schools/{SCHOOL}/payment-groups",
        headers=acc,
        json={"invoice_ids": [str(rows[0]["invoice_id"]), str(rows[2]["invoice_id"])]},
    )
    assert other_family.status_code == 422 and "gia đình khác nhau" in other_family.json()["detail"]


async def test_an_accountant_cannot_reach_another_schools_invoices(invoicing):
    invoices = await _ready(invoicing)
    other = invoicing.as_("accountant", school="TH-KHAC")
    r = await invoicing.client.get(f"/schools/{SCHOOL}/invoices/{invoices[0]['invoice_id']}", headers=other)
    assert r.status_code == 403
    assert (await invoicing.client.get(f"/schools/{SCHOOL}/invoices")).status_code == 401
    parent = invoicing.as_("parent")
    assert (
        await invoicing.client.post(f"/schools/{SCHOOL}/periods/2026-10/invoices", headers=parent)
    ).status_code == 403


async def test_a_school_with_an_unknown_bank_is_refused(invoicing):
    r = await invoicing.client.put(
        "/schools/X",
        headers=invoicing.as_("service"),
        json={
            "name": "X",
            "district_code": "D",
            "bank_bin": "999999",
            "account_number": "0011001234567",
            "account_name": "X",
        },
    )
    assert r.status_code == 422 and "999999" in r.json()["detail"]


async def test_a_student_with_a_virtual_account_gets_a_qr_to_that_account(invoicing):
    await register_school(invoicing)
    lines = (SAMPLES / "roster-mam-non.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[0] += ",Tài khoản ảo"
    lines[1] += ",963869000001"
    lines[2:] = [line + "," for line in lines[2:]]
    assert (await import_roster(invoicing, ("\n".join(lines) + "\n").encode())).json()["applied"]
    await _schedule(invoicing)
    await invoicing.client.post(f"/schools/{SCHOOL}/periods/2026-09/invoices", headers=invoicing.as_("accountant"))
    rows = {
        r["student_code"]: r
        for r in (await invoicing.client.get(f"/schools/{SCHOOL}/invoices", headers=invoicing.as_("accountant"))).json()
    }
    acc = invoicing.as_("accountant")
    virtual = (
        await invoicing.client.get(f"/schools/{SCHOOL}/invoices/{rows['2212345001']['invoice_id']}/qr.txt", headers=acc)
    ).text
    plain = (
        await invoicing.client.get(f"/schools/{SCHOOL}/invoices/{rows['2212345003']['invoice_id']}/qr.txt", headers=acc)
    ).text
    assert _independent_decode(virtual)["account"] == "963869000001"
    assert _independent_decode(plain)["account"] == "0011001234567"


async def test_the_parent_page_links_the_receipt_once_it_is_issued(invoicing):
    from tuition.receipts.v1.events_pb2 import ReceiptIssued

    invoices = await _ready(invoicing)
    inv = invoices[0]
    producer = AIOKafkaProducer(bootstrap_servers=invoicing.kafka)
    await producer.start()
    msg = ReceiptIssued(
        receipt_id=str(uuid.uuid4()),
        school_id=SCHOOL,
        invoice_id=str(inv["invoice_id"]),
        series_code="BL26",
        number=17,
        url="http://receipts.local/r/ABCDEFGH23",
    )
    env = wrap(msg, producer="receipts", aggregate_id=str(inv["invoice_id"]), school_id=SCHOOL)
    await producer.send_and_wait(
        topic_name(Topic.RECEIPTS, invoicing.topic_prefix), env.SerializeToString(), key=str(inv["invoice_id"]).encode()
    )
    await producer.stop()

    async def linked() -> bool:
        return await invoicing.runtime.db().fetchval("SELECT count(*) FROM invoice_receipts") == 1

    await wait_until(linked, what="the receipt linked")
    token = await invoicing.runtime.db().fetchval(
        "SELECT public_token FROM invoices WHERE invoice_id = $1", inv["invoice_id"]
    )
    page = await invoicing.client.get(f"/pay/{token}")
    assert "Biên lai điện tử số BL26-0000017" in page.text and "http://receipts.local/r/ABCDEFGH23" in page.text


async def test_the_preview_shows_what_issuing_then_creates_and_writes_nothing(invoicing):
    await register_school(invoicing)
    r = await import_roster(invoicing, (SAMPLES / "roster-mam-non.csv").read_bytes())
    assert r.status_code == 200, r.text
    await _schedule(invoicing)
    acc = invoicing.as_("accountant")
    url = f"/schools/{SCHOOL}/periods/2026-09/invoices"
    preview = (await invoicing.client.get(f"{url}/preview", headers=acc)).json()
    assert await invoicing.runtime.db().fetchval("SELECT count(*) FROM invoices") == 0
    issued = (await invoicing.client.post(url, headers=acc, json={})).json()
    invoices = (await invoicing.client.get(f"/schools/{SCHOOL}/invoices", headers=acc)).json()
    assert (
        (preview["invoices"], preview["total"])
        == (issued["created"], issued["total_invoiced"])
        == (
            12,
            sum(i["total"] for i in invoices),
        )
    )
    by_class: dict[str, int] = {}
    for i in invoices:
        by_class[i["class_name"]] = by_class.get(i["class_name"], 0) + i["total"]
    assert {c["class_name"]: c["total"] for c in preview["by_class"]} == by_class
    meals = next(i for i in preview["by_item"] if i["item_code"] == "BANTRU")
    assert meals["list_amount"] == 12 * MEAL * DAYS
    assert meals["reduction"] == 550_000 + 275_000 + 385_000  # the three meal supports of the roster
    exemptions = {e["policy_category"]: e["reduction"] for e in preview["exemptions"]}
    assert {k: v for k, v in exemptions.items() if k != "STATE_FUNDED"} == {
        "HO_NGHEO": 550_000,
        "HO_CAN_NGHEO": 275_000,
        "CON_NGUOI_CO_CONG": 385_000,
    }
    again = (await invoicing.client.get(f"{url}/preview", headers=acc)).json()
    assert (again["invoices"], again["already_issued"], again["total"]) == (0, 12, 0)


async def test_a_collection_round_bills_one_class_with_its_own_invoices_beside_the_months(invoicing):
    monthly = await _ready(invoicing)
    acc = invoicing.as_("accountant")
    by_class: dict[str, list[dict]] = {}
    for i in monthly:
        by_class.setdefault(i["class_name"], []).append(i)
    cls, pupils = sorted(by_class.items())[0]
    body = {
        "code": "DP26",
        "name": "Đồng phục năm học 2026–2027",
        "period": "2026-09",
        "class_name": cls,
        "items": [
            {"name": "Đồng phục hè", "category": "other", "amount": 180_000},
            {"name": "Đồng phục thể dục", "category": "other", "amount": 120_000},
        ],
    }
    opened = await invoicing.client.post(f"/schools/{SCHOOL}/rounds", headers=acc, json=body)
    assert opened.status_code == 201, opened.text
    assert opened.json() == {
        "code": "DP26",
        "period": "2026-09",
        "invoices": len(pupils),
        "total": 300_000 * len(pupils),
    }
    invoices = (
        await invoicing.client.get(f"/schools/{SCHOOL}/invoices", headers=acc, params={"period": "2026-09"})
    ).json()
    round_invoices = [i for i in invoices if i["round_code"] == "DP26"]
    assert sorted(i["student_code"] for i in round_invoices) == sorted(p["student_code"] for p in pupils)
    assert all(i["total"] == 300_000 for i in round_invoices)
    references = {i["payment_reference"] for i in invoices}
    assert len(references) == len(invoices) == len(monthly) + len(pupils)  # each invoice has its own QR
    again = await invoicing.client.post(f"/schools/{SCHOOL}/rounds", headers=acc, json=body)
    assert again.status_code == 409 and "đã có đợt thu DP26" in again.json()["detail"]
    month_again = await invoicing.client.post(f"/schools/{SCHOOL}/periods/2026-09/invoices", headers=acc, json={})
    assert (month_again.json()["created"], month_again.json()["already_issued"]) == (0, len(monthly))
    rounds = (await invoicing.client.get(f"/schools/{SCHOOL}/rounds", headers=acc)).json()
    assert [(r["code"], r["invoices"], r["invoiced"], r["collected"]) for r in rounds] == [
        ("DP26", len(pupils), 300_000 * len(pupils), 0)
    ]
    events = await invoicing.runtime.db().fetch(
        "SELECT payload FROM outbox WHERE event_type = 'tuition.invoicing.v1.InvoiceIssued'"
    )
    codes = [unwrap(bytes(e["payload"])).payload.round_code for e in events]
    assert codes.count("DP26") == len(pupils) and codes.count("") == len(monthly)
    # Each invoice names the account that issued it (the month's run, the round): the district's audit.
    issuers = {unwrap(bytes(e["payload"])).payload.issued_by for e in events}
    assert issuers == {"test-accountant"}
    both = await invoicing.client.post(
        f"/schools/{SCHOOL}/rounds", headers=acc, json=body | {"code": "BH26", "grade": "x"}
    )
    assert both.status_code == 422 and "không chọn cùng lúc lớp và khối" in both.json()["detail"]


async def test_a_parent_pays_for_all_their_children_with_one_qr_from_either_childs_link(invoicing):
    await register_school(invoicing)
    rng = random.Random(3)
    a, b, other = (pupil(rng, f"FAM{i:05d}", 2020) for i in range(3))
    b = dataclasses.replace(b, phone=a.phone)  # the same guardian's phone: siblings
    r = await import_roster(invoicing, roster_csv([(a, "Mầm", "MG1"), (b, "Mầm", "MG2"), (other, "Mầm", "MG2")]))
    assert r.status_code == 200, r.text
    acc = invoicing.as_("accountant")
    fee = {"name": "Chăm sóc bán trú", "category": "services", "cadence": "monthly", "rates": [{"amount": 400_000}]}
    assert (await invoicing.client.put(f"/schools/{SCHOOL}/fee-items/CS", headers=acc, json=fee)).status_code == 204
    await invoicing.client.post(f"/schools/{SCHOOL}/periods/2026-09/invoices", headers=acc, json={})
    links = {
        i["student_code"]: i["pay_url"].split("/pay/")[1]
        for i in (await invoicing.client.get(f"/schools/{SCHOOL}/invoices", headers=acc)).json()
    }
    page = (await invoicing.client.get(f"/pay/{links[a.code]}")).text
    assert 'data-testid="family"' in page and b.name in page and other.name not in page
    assert 'data-testid="family"' not in (await invoicing.client.get(f"/pay/{links[other.code]}")).text

    # Both parents press "pay for all" at once, several times: one group.
    at_once = await asyncio.gather(
        *[invoicing.client.post(f"/pay/{links[(a, b)[i % 2].code]}/family") for i in range(8)]
    )
    assert len({x.headers.get("location") for x in at_once}) == 1
    assert await invoicing.runtime.db().fetchval("SELECT count(*) FROM payment_groups") == 1
    r = await invoicing.client.post(f"/pay/{links[a.code]}/family")
    assert r.status_code == 303 and r.headers["location"].startswith("/pay/")
    group = (await invoicing.client.get(r.headers["location"])).text
    assert "Thanh toán cho 2 con" in group and "800.000" in group and a.name in group and b.name in group
    again = await invoicing.client.post(f"/pay/{links[b.code]}/family")  # the sibling's link: the same group
    assert again.headers["location"] == r.headers["location"]
    alone = await invoicing.client.post(f"/pay/{links[other.code]}/family")
    assert alone.status_code == 404


async def test_a_parents_link_ends_on_the_schools_date_and_a_replaced_one_says_so(invoicing):
    invoices = await _ready(invoicing)
    acc = invoicing.as_("accountant")
    token = invoices[0]["pay_url"].split("/pay/")[1]
    assert (await invoicing.client.get(f"/pay/{token}")).status_code == 200
    # By default a link opens 120 days after its invoice was issued; the school may set the period's end.
    past = await invoicing.client.put(
        f"/schools/{SCHOOL}/payment-links/2026-09", headers=acc, json={"expires_on": "2026-01-01"}
    )
    assert past.status_code == 422 and "đã qua" in past.json()["detail"]
    today = datetime.now(VN).date()
    r = await invoicing.client.put(
        f"/schools/{SCHOOL}/payment-links/2026-09", headers=acc, json={"expires_on": today.isoformat()}
    )
    assert r.status_code == 200 and r.json()["invoices"] == 12
    assert (await invoicing.client.get(f"/pay/{token}")).status_code == 200  # it opens through its last day
    # Time passes (moved here): the next day the page says it has ended and what to do, and shows nothing else.
    await invoicing.runtime.db().execute("UPDATE invoices SET link_expires_on = link_expires_on - 1")
    ended = await invoicing.client.get(f"/pay/{token}")
    assert ended.status_code == 410 and "đã hết hạn ngày" in ended.text and "liên hệ kế toán" in ended.text
    assert invoices[0]["full_name"] not in ended.text and invoices[0]["payment_reference"] not in ended.text
    assert (await invoicing.client.get(f"/pay/{token}/qr.txt")).status_code == 410

    # The school replaces a link that went astray: the old one says so; the new one opens (with its new end).
    await invoicing.runtime.db().execute("UPDATE invoices SET link_expires_on = NULL")
    r = await invoicing.client.post(f"/schools/{SCHOOL}/invoices/{invoices[0]['invoice_id']}/payment-link", headers=acc)
    assert r.status_code == 200, r.text
    new = r.json()["pay_url"].split("/pay/")[1]
    assert new != token and (await invoicing.client.get(f"/pay/{new}")).status_code == 200
    old = await invoicing.client.get(f"/pay/{token}")
    assert old.status_code == 410 and "thay bằng liên kết mới" in old.text
    other = await invoicing.client.post(
        f"/schools/{SCHOOL}/invoices/{invoices[0]['invoice_id']}/payment-link",
        headers=invoicing.as_("accountant", school="MN-KHAC"),
    )
    assert other.status_code == 403
    assert (await invoicing.client.get("/pay/never-was-a-link")).status_code == 404


async def test_pupils_are_found_as_banks_and_parents_write_them_and_owing_lists_only_what_is_owed(invoicing):
    """Issue 30 §4: "duong dieu yen" finds Dương Diệu Yến, in any case, with marks composed or not; a code in
    any case; `owing` keeps the invoices still to pay."""
    await register_school(invoicing)
    rng = random.Random(30)
    yen, dang, other = (pupil(rng, f"HS{i:05d}", 2020) for i in range(3))
    yen = dataclasses.replace(yen, name="Dương Diệu Yến")
    dang = dataclasses.replace(dang, name="Đặng Thị Ánh")
    other = dataclasses.replace(other, name="Nguyễn Văn Yên")
    r = await import_roster(invoicing, roster_csv([(p, "Mầm", "MG1") for p in (yen, dang, other)]))
    assert r.status_code == 200, r.text
    acc = invoicing.as_("accountant")
    fee = {"name": "Bán trú", "category": "services", "cadence": "monthly", "rates": [{"amount": 300_000}]}
    assert (await invoicing.client.put(f"/schools/{SCHOOL}/fee-items/BT", headers=acc, json=fee)).status_code == 204
    for period in ("2026-09", "2026-10"):
        await invoicing.client.post(f"/schools/{SCHOOL}/periods/{period}/invoices", headers=acc, json={})

    async def found(q: str, **params: str) -> list[tuple[str, str]]:
        r = await invoicing.client.get(f"/schools/{SCHOOL}/invoices", headers=acc, params={"student": q} | params)
        assert r.status_code == 200, r.text
        return sorted({(i["full_name"], i["period"]) for i in r.json()})

    both = [("Dương Diệu Yến", "2026-09"), ("Dương Diệu Yến", "2026-10")]
    assert await found("duong dieu yen") == both
    assert await found("DUONG  DIEU") == both  # the bank's upper case, a double space
    assert await found(unicodedata.normalize("NFD", "Diệu Yến")) == both  # marks typed as combining characters
    assert await found("dang thi") == [("Đặng Thị Ánh", "2026-09"), ("Đặng Thị Ánh", "2026-10")]
    assert {n for n, _ in await found("yen")} == {"Dương Diệu Yến", "Nguyễn Văn Yên"}
    assert await found(yen.code.lower()) == both  # a code in any case
    assert await found("100%") == [] and await found("_") == []  # no wildcard in what is typed
    # One of Yến's invoices paid (reconciliation's event): owing lists the other.
    listed = await invoicing.client.get(f"/schools/{SCHOOL}/invoices", headers=acc, params={"student": yen.code})
    invoices = listed.json()
    september = next(i for i in invoices if i["period"] == "2026-09")
    await _pay(invoicing, september["invoice_id"], september["total"])

    async def paid() -> bool:
        return await _status(invoicing, september["invoice_id"]) == "paid"

    await wait_until(paid, what="the payment applied")
    assert await found("duong dieu yen", owing="true") == [("Dương Diệu Yến", "2026-10")]


async def test_the_roster_template_downloaded_filled_in_and_uploaded_is_imported(invoicing):
    """Issue 30 §2: the template the page offers reads back as a roster (its example pupil, with the mother as
    the guardian and the grade from its column)."""
    await register_school(invoicing)
    acc = invoicing.as_("accountant")
    template = await invoicing.client.get(f"/schools/{SCHOOL}/roster/template.xlsx", headers=acc)
    assert template.status_code == 200 and template.content[:2] == b"PK"
    assert "mau-danh-sach-hoc-sinh.xlsx" in template.headers["content-disposition"]
    r = await import_roster(invoicing, template.content, filename="mau.xlsx")
    assert r.status_code == 200, r.text
    assert len(r.json()["created"]) == 1 and r.json()["errors"] == []
    r = await import_roster(invoicing, template.content, filename="mau.xlsx", mode="apply")
    assert r.status_code == 200, r.text
    (pupil_row,) = (await invoicing.client.get(f"/schools/{SCHOOL}/students", headers=acc)).json()
    assert (pupil_row["full_name"], pupil_row["class_name"], pupil_row["grade"]) == ("Dương Diệu Yến", "1A1", "1")
    assert (pupil_row["guardian_name"], pupil_row["guardian_phone"]) == ("Lê Thị Hoa", "0987654321")
    refused = await invoicing.client.get(f"/schools/{SCHOOL}/roster/template.xlsx", headers=invoicing.as_("parent"))
    assert refused.status_code == 403


async def test_a_new_school_year_promotes_three_grades_graduates_the_last_and_carries_what_is_owed(invoicing):
    """Issue 30 §3, on a primary school's grades 3, 4 and 5: a preview first; then 3A → 4A, 4A → 5A (one pupil
    held back), 5A graduates and leaves the roll; the history is kept; last year's invoices stay owed; the new
    year bills each pupil at the new grade's rate; a second roll-over of the same year is refused."""
    await register_school(invoicing)
    acc = invoicing.as_("accountant")
    rng = random.Random(33)
    third = [pupil(rng, f"HS3{i:02d}", 2017) for i in range(3)]
    fourth = [pupil(rng, f"HS4{i:02d}", 2016) for i in range(3)]
    fifth = [pupil(rng, f"HS5{i:02d}", 2015) for i in range(2)]
    rows = [(p, "3", "3A") for p in third] + [(p, "4", "4A") for p in fourth] + [(p, "5", "5A") for p in fifth]
    assert (await import_roster(invoicing, roster_csv(rows))).status_code == 200
    rates = [{"amount": 100_000 * g, "grade": str(g)} for g in (3, 4, 5)]
    fee = {"name": "Học thêm", "category": "extra_classes", "cadence": "monthly", "rates": rates}
    assert (await invoicing.client.put(f"/schools/{SCHOOL}/fee-items/HT", headers=acc, json=fee)).status_code == 204
    r = await invoicing.client.post(f"/schools/{SCHOOL}/periods/2026-05/invoices", headers=acc, json={})
    assert r.json()["created"] == 8
    owed = 3 * 300_000 + 3 * 400_000 + 2 * 500_000
    held_back = fourth[0].code
    body = {"last_grade": 5, "repeaters": [held_back]}

    preview = await invoicing.client.post(f"/schools/{SCHOOL}/school-years/2026-2027/preview", headers=acc, json=body)
    assert preview.status_code == 200, preview.text
    p = preview.json()
    assert (p["from_year"], p["promoted"], p["graduated"], p["repeated"], p["applied"]) == ("2025-2026", 5, 2, 1, False)
    assert {(c["class_name"], c["outcome"], c["new_class"], c["pupils"]) for c in p["by_class"]} == {
        ("3A", "promoted", "4A", 3),
        ("4A", "promoted", "5A", 2),
        ("4A", "repeated", "4A", 1),
        ("5A", "graduated", None, 2),
    }
    assert p["carried"] == {
        "pupils_owing": 8,
        "outstanding": owed,
        "graduates_owing": 2,
        "graduates_outstanding": 1_000_000,
    }
    students = await invoicing.client.get(f"/schools/{SCHOOL}/students", headers=acc)
    assert {s["class_name"] for s in students.json()} == {"3A", "4A", "5A"}  # the preview changed nothing

    stale = await invoicing.client.post(
        f"/schools/{SCHOOL}/school-years/2026-2027", headers=acc, json=body | {"confirm": "↑9 ✓0 =0"}
    )
    assert stale.status_code == 409 and "xem trước lại" in stale.json()["detail"]
    done = await invoicing.client.post(
        f"/schools/{SCHOOL}/school-years/2026-2027", headers=acc, json=body | {"confirm": p["plan"]}
    )
    assert done.status_code == 200 and done.json()["applied"], done.text

    students = {
        s["student_code"]: s for s in (await invoicing.client.get(f"/schools/{SCHOOL}/students", headers=acc)).json()
    }
    assert {c: (s["grade"], s["class_name"]) for c, s in students.items()} == {
        **{x.code: ("4", "4A") for x in third},
        **{x.code: ("5", "5A") for x in fourth[1:]},
        held_back: ("4", "4A"),
    }  # the graduates have left the roll
    history = await invoicing.client.get(f"/schools/{SCHOOL}/students/{fifth[0].code}/personal-data", headers=acc)
    assert history.json()["class_history"] == [
        {"school_year": "2025-2026", "grade": "5", "class_name": "5A", "outcome": "graduated"}
    ]
    assert history.json()["student"]["graduated_in"] == "2025-2026"
    # Last year's invoices stay owed, graduates' too, with their QR.
    may = (await invoicing.client.get(f"/schools/{SCHOOL}/invoices", headers=acc, params={"period": "2026-05"})).json()
    assert sum(i["outstanding"] for i in may) == owed and {i["status"] for i in may} == {"open"}
    graduate_invoice = next(i for i in may if i["student_code"] == fifth[0].code)
    qr_ = await invoicing.client.get(f"/schools/{SCHOOL}/invoices/{graduate_invoice['invoice_id']}/qr.txt", headers=acc)
    assert qr_.status_code == 200
    # The new year bills the promoted pupils at their new grade's rate, and nobody who graduated.
    r = await invoicing.client.post(f"/schools/{SCHOOL}/periods/2026-09/invoices", headers=acc, json={})
    assert r.json()["created"] == 6
    september = (
        await invoicing.client.get(f"/schools/{SCHOOL}/invoices", headers=acc, params={"period": "2026-09"})
    ).json()
    assert sorted((i["class_name"], i["total"]) for i in september) == sorted(
        [("4A", 400_000)] * 4 + [("5A", 500_000)] * 2
    )

    again = await invoicing.client.post(
        f"/schools/{SCHOOL}/school-years/2026-2027", headers=acc, json=body | {"confirm": p["plan"]}
    )
    assert again.status_code == 409 and "đã được chuyển" in again.json()["detail"]
    bad = await invoicing.client.post(f"/schools/{SCHOOL}/school-years/2026-2028/preview", headers=acc, json=body)
    assert bad.status_code == 422 and "hai năm liền nhau" in bad.json()["detail"]


def _school_software_xlsx(rows: list[list[object]]) -> bytes:
    """A management program's export: title rows, then headings of its own."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["PHÒNG GD&ĐT QUẬN CẦU GIẤY"])
    ws.append(["DANH SÁCH HỌC SINH NĂM HỌC 2026-2027"])
    ws.append([])
    ws.append(["TT", "Mã HS (CSDL)", "Tên học sinh", "NS", "Lớp học", "Mẹ", "ĐT mẹ", "Cha", "ĐT cha"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def test_a_file_with_the_schools_own_headings_is_mapped_once_and_the_mapping_is_kept(invoicing):
    """Issue 30 §2: headings this reader does not know are named by the refusal, with the file's headings to
    choose from; mapped once, the school's next file is read with the same mapping."""
    await register_school(invoicing)
    acc = invoicing.as_("accountant")
    data = _school_software_xlsx(
        [
            [1, "HS9001", "Dương Diệu Yến", "05/03/2020", "1A", "Lê Thị Hoa", "0987654321", "Dương Văn An", ""],
            [2, "HS9002", "Trần Minh Khôi", "11/11/2020", "1A", "", "", "Trần Văn Bình", "0912345678"],
        ]
    )

    async def upload(mode: str = "preview", **form: str) -> httpx.Response:
        return await invoicing.client.post(
            f"/schools/{SCHOOL}/roster",
            params={"mode": mode},
            headers=acc,
            files={"file": ("xuat-tu-phan-mem.xlsx", data, "application/octet-stream")},
            data=form,
        )

    refused = await upload()
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert "Ghép các cột" in problem["detail"]
    missing = {e["field"] for e in problem["errors"]}
    assert missing == {"student_code", "full_name", "date_of_birth", "class_name", "guardian"}
    assert problem["errors"][0]["headers"] == [
        "TT",
        "Mã HS (CSDL)",
        "Tên học sinh",
        "NS",
        "Lớp học",
        "Mẹ",
        "ĐT mẹ",
        "Cha",
        "ĐT cha",
    ]

    mapping = {
        "student_code": "Mã HS (CSDL)",
        "full_name": "Tên học sinh",
        "date_of_birth": "NS",
        "class_name": "Lớp học",
        "mother_name": "Mẹ",
        "mother_phone": "ĐT mẹ",
        "father_name": "Cha",
        "father_phone": "ĐT cha",
    }
    bad = await upload(mapping=json.dumps({"hoc_phi": "X"}))
    assert bad.status_code == 422 and "hoc_phi" in bad.json()["detail"]
    applied = await upload("apply", mapping=json.dumps(mapping, ensure_ascii=False))
    assert applied.status_code == 200 and applied.json()["applied"], applied.text
    assert sorted(applied.json()["created"]) == ["HS9001", "HS9002"]
    students = {
        s["student_code"]: s for s in (await invoicing.client.get(f"/schools/{SCHOOL}/students", headers=acc)).json()
    }
    assert (students["HS9001"]["guardian_name"], students["HS9001"]["grade"]) == ("Lê Thị Hoa", "1")
    assert students["HS9002"]["guardian_name"] == "Trần Văn Bình"  # the father: the mother has no phone

    again = await upload()  # next month's file: no mapping sent, the school's is used
    assert again.status_code == 200 and again.json()["errors"] == [] and again.json()["valid"] == 2, again.text


async def test_the_payment_page_on_a_phone_saves_its_qr_opens_bank_apps_and_follows_the_payment(invoicing):
    """Issue 31 §6: the QR saved as an image, links that open the banking apps with the transfer filled in, the
    account, amount and memo kept whole, and a state the page polls that changes when the payment lands."""
    invoices = await _ready(invoicing)
    inv = invoices[0]
    token = inv["pay_url"].rsplit("/", 1)[1]
    page = (await invoicing.client.get(f"/pay/{token}")).text
    assert f'href="/pay/{token}/qr.png"' in page and "download=" in page and "Lưu mã QR" in page
    png = await invoicing.client.get(f"/pay/{token}/qr.png")
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert decoded and decoded[0].text.startswith("000201")  # the VietQR itself, saved as an image
    assert "https://dl.vietqr.io/pay?app=mb&amp;ba=0011001234567@vcb&amp;am=" in page  # VietQR's deep link (MB)
    assert "word-break: break-all" not in page and "white-space: nowrap" in page  # numbers never cut in two
    before = (await invoicing.client.get(f"/pay/{token}/status")).json()
    await _pay(invoicing, inv["invoice_id"], inv["total"])

    async def changed() -> bool:
        return (await invoicing.client.get(f"/pay/{token}/status")).json()["state"] != before["state"]

    await wait_until(changed, what="the page's state after the payment")
    assert (await invoicing.client.get(f"/pay/{token}/status")).json()["amount_due"] == 0


async def test_printed_payment_notices_two_per_page_with_their_qr(invoicing):
    """Issue 31 §7: for families without a smartphone, a notice per pupil still owing, two per A4 page, each
    with its QR (read back from the PDF's images), amount, due date and reference."""
    from pypdf import PdfReader

    invoices = await _ready(invoicing)
    acc = invoicing.as_("accountant")
    await _pay(invoicing, invoices[0]["invoice_id"], invoices[0]["total"])

    async def paid() -> bool:
        return await _status(invoicing, invoices[0]["invoice_id"]) == "paid"

    await wait_until(paid, what="the first invoice paid")
    r = await invoicing.client.get(f"/schools/{SCHOOL}/exports/notices.pdf", headers=acc, params={"period": "2026-09"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(r.content))
    owing = [i for i in invoices[1:] if i["total"] > 0]
    assert len(pdf.pages) == (len(owing) + 1) // 2
    text = "".join(p.extract_text() for p in pdf.pages)
    assert "GIẤY BÁO CÁC KHOẢN THU" in text and "15/09/2026" in text
    assert all(i["payment_reference"] in text for i in owing) and invoices[0]["payment_reference"] not in text
    images = [img for page in pdf.pages for img in page.images]
    assert len(images) == len(owing)
    read = zxingcpp.read_barcodes(Image.open(io.BytesIO(images[0].data)))
    assert read and read[0].text.startswith("000201")


async def test_pay_for_all_does_not_wait_for_rows_that_merely_refer_to_the_invoices(invoicing):
    """Another transaction holding KEY SHARE on a family's invoices (what inserting a row that refers to one
    takes: a message, a receipt) neither blocks "pay for all" nor deadlocks with it, in whatever order it takes
    them. (With FOR UPDATE it blocked, and taking the second invoice the other way round deadlocked.)"""
    await register_school(invoicing)
    rng = random.Random(5)
    a, b = (pupil(rng, f"KSH{i:05d}", 2020) for i in range(2))
    b = dataclasses.replace(b, phone=a.phone)
    assert (await import_roster(invoicing, roster_csv([(a, "Mầm", "MG1"), (b, "Mầm", "MG2")]))).status_code == 200
    acc = invoicing.as_("accountant")
    fee = {"name": "Bán trú", "category": "services", "cadence": "monthly", "rates": [{"amount": 300_000}]}
    assert (await invoicing.client.put(f"/schools/{SCHOOL}/fee-items/BT", headers=acc, json=fee)).status_code == 204
    await invoicing.client.post(f"/schools/{SCHOOL}/periods/2026-09/invoices", headers=acc, json={})
    listed = sorted(
        (await invoicing.client.get(f"/schools/{SCHOOL}/invoices", headers=acc)).json(), key=lambda i: i["invoice_id"]
    )
    first, second = (uuid.UUID(i["invoice_id"]) for i in listed)
    async with invoicing.runtime.db().acquire() as other, other.transaction():
        # The other transaction refers to the later invoice first, then (below) to the earlier one.
        await other.execute("SELECT 1 FROM invoices WHERE invoice_id = $1 FOR KEY SHARE", second)
        token = listed[0]["pay_url"].split("/pay/")[1]
        paid = asyncio.create_task(invoicing.client.post(f"/pay/{token}/family"))
        answer = await asyncio.wait_for(asyncio.shield(paid), timeout=10)  # not blocked by the KEY SHARE
        assert answer.status_code == 303, answer.text
        await other.execute("SELECT 1 FROM invoices WHERE invoice_id = $1 FOR KEY SHARE", first)
    assert await invoicing.runtime.db().fetchval("SELECT count(*) FROM payment_groups") == 1
