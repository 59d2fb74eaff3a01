"""Receipts: content, tampering, keys, series, cancellation, rendering, the CLI."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from devinfra.testing import wait_until
from receipts.adapters import compact
from shared.events.envelope import unwrap
from shared.events.topics import Topic
from tuition.invoicing.v1.events_pb2 import InvoiceAdjusted

from .conftest import SCHOOL, invoice_event, payment_event, publish, school_event

pytestmark = pytest.mark.integration


async def _issue(app, n: int = 1, amount: int = 1_584_520) -> list[dict]:
    await publish(app.kafka, app.prefix, Topic.INVOICING, [school_event()] + [invoice_event(i) for i in range(n)])
    await publish(app.kafka, app.prefix, Topic.RECONCILIATION, [payment_event(i, amount) for i in range(n)])

    async def ready() -> bool:
        return await app.pool.fetchval("SELECT count(*) FROM receipts") >= n

    await wait_until(ready, what=f"{n} receipts")
    return (await app.client.get(f"/schools/{SCHOOL}/receipts", headers=app.headers())).json()


async def _verify(app, body: bytes | str) -> dict:
    return (await app.client.post("/verify", content=body)).json()


async def test_a_receipt_carries_everything_the_law_asks_and_verifies(receipts_app):
    (receipt,) = await _issue(receipts_app)
    code = receipt["verification_code"]
    xml = (await receipts_app.client.get(f"/r/{code}.xml")).content
    data = etree.fromstring(xml).find("DLBLai")
    assert data.get("Id") == "data"
    assert data.findtext("TTChung/KHMSBLai") == "01BLP0-001" and data.findtext("TTChung/KHBLai") == "BL26"
    assert data.findtext("TTChung/SBLai") == "0000001"
    assert data.findtext("TTChung/NLap").endswith("+07:00")
    assert data.findtext("NDBLai/NBan/MST") == "0101234567"
    assert data.findtext("NDBLai/NNop/HVTHSinh") == "Nguyễn Ngọc Bảo Anh"
    assert data.findtext("NDBLai/TToan/TgSTienBChu") == "Một triệu năm trăm tám mươi tư nghìn năm trăm hai mươi đồng"
    sig = etree.fromstring(xml).find("DSCKS/NBan/{http://www.w3.org/2000/09/xmldsig#}Signature")
    assert sig is not None and sig.find(".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate") is not None
    assert (await _verify(receipts_app, xml))["valid"]
    compact_text = await receipts_app.pool.fetchval("SELECT compact FROM receipts")
    verdict = await _verify(receipts_app, compact_text)
    assert verdict["valid"] and verdict["fields"]["amount"] == 1_584_520 and verdict["format"] == "qr"
    page = await receipts_app.client.get(f"/r/{code}")
    assert "Một triệu năm trăm tám mươi tư nghìn năm trăm hai mươi đồng" in page.text and "<svg" in page.text


async def test_changing_any_single_field_or_byte_fails_verification_with_a_reason(receipts_app):
    (receipt,) = await _issue(receipts_app)
    xml = (await receipts_app.client.get(f"/r/{receipt['verification_code']}.xml")).content
    root = etree.fromstring(xml)
    leaves = [el for el in root.find("DLBLai").iter() if el.text and el.text.strip() and len(el) == 0]
    assert len(leaves) > 20
    for i in range(len(leaves)):
        copy = etree.fromstring(xml)
        leaf = [el for el in copy.find("DLBLai").iter() if el.text and el.text.strip() and len(el) == 0][i]
        leaf.text = leaf.text[:-1] + ("X" if leaf.text[-1] != "X" else "Y")
        verdict = await _verify(receipts_app, etree.tostring(copy))
        assert not verdict["valid"] and "bị sửa" in verdict["reason"], leaf.tag
    amount = etree.fromstring(xml)
    amount.find("DLBLai/NDBLai/TToan/TgSTien").text = "15845200"
    verdict = await _verify(receipts_app, etree.tostring(amount))
    assert verdict["changed_fields"] == ["amount"]
    text = await receipts_app.pool.fetchval("SELECT compact FROM receipts")
    for position in (10, len(text) // 2, len(text) - 3):
        flipped = text[:position] + ("A" if text[position] != "A" else "B") + text[position + 1 :]
        assert not (await _verify(receipts_app, flipped))["valid"]


async def test_old_receipts_still_verify_after_key_rotation_and_a_revoked_key_fails(receipts_app):
    (first,) = await _issue(receipts_app)
    old_xml = (await receipts_app.client.get(f"/r/{first['verification_code']}.xml")).content
    old_kid = await receipts_app.pool.fetchval("SELECT xml_kid FROM receipts")
    assert (
        await receipts_app.client.post(f"/schools/{SCHOOL}/keys/rotate", headers=receipts_app.headers())
    ).status_code == 201
    await publish(receipts_app.kafka, receipts_app.prefix, Topic.INVOICING, [invoice_event(50)])
    await publish(receipts_app.kafka, receipts_app.prefix, Topic.RECONCILIATION, [payment_event(50)])

    async def two() -> bool:
        return await receipts_app.pool.fetchval("SELECT count(*) FROM receipts") == 2

    await wait_until(two, what="a receipt signed with the new key")
    kids = await receipts_app.pool.fetch("SELECT DISTINCT xml_kid FROM receipts")
    assert len(kids) == 2
    keylist = (await receipts_app.client.get("/keys")).json()
    assert {k["status"] for k in keylist["keys"]} == {"active", "retired"}
    old_verdict = await _verify(receipts_app, old_xml)
    assert old_verdict["valid"], old_verdict
    revoke = await receipts_app.client.post(
        f"/schools/{SCHOOL}/keys/{old_kid}/revoke", headers=receipts_app.headers("service")
    )
    assert revoke.status_code == 204
    verdict = await _verify(receipts_app, old_xml)
    assert not verdict["valid"] and "thu hồi" in verdict["reason"]


def test_a_receipt_signed_by_another_schools_key_or_an_unknown_key_is_refused():
    from receipts.adapters import certificates as keys
    from receipts.adapters import xmlsig
    from receipts.app.verification import KeyList, verify_xml
    from receipts.domain.receipt import Line, ReceiptContent, build_xml

    ca = keys.new_ca()
    a = keys.issue_school_key(ca, school_id="A", school_name="A", kind="xml")
    content = ReceiptContent(
        school_id="B",
        school_name="B",
        school_code="B",
        tax_code="",
        address="",
        form_code="01BLP0-001",
        series_code="BL26",
        number=1,
        issued_at=datetime.now(UTC),
        payer_name="P",
        student_name="S",
        student_code="C",
        class_name="1A",
        period="2026-09",
        lines=(Line("x", 1),),
        amount=1,
        channel="CASH",
        bank_reference="",
        payment_reference="HP",
        verification_code="V",
        payment_id="p",
        invoice_id=str(uuid.uuid4()),
    )
    doc = xmlsig.sign(build_xml(content), a, datetime.now(UTC))
    published = {"keys": [keys.jwk(a.cert, school_id="A", status="active")], "trust_anchors": [keys.cert_pem(ca.cert)]}
    verdict = verify_xml(doc, KeyList(published))
    assert not verdict.valid and "Sai trường" in verdict.reason
    no_keys = KeyList({"keys": [], "trust_anchors": published["trust_anchors"]})
    assert "không có trong danh sách khóa" in verify_xml(doc, no_keys).reason
    other_ca = keys.new_ca("Some Other CA")
    assert (
        "tổ chức chứng thực được tin cậy"
        in verify_xml(doc, KeyList(published | {"trust_anchors": [keys.cert_pem(other_ca.cert)]})).reason
    )


async def test_a_series_is_registered_before_use_and_the_years_turn_opens_a_new_one(receipts_app):
    h = receipts_app.headers()
    bad = await receipts_app.client.post(
        f"/schools/{SCHOOL}/series",
        headers=h,
        json={"form_code": "01BLP0-001", "series_code": "BL25", "year": 2026, "range_to": 100},
    )
    assert bad.status_code == 422 and "kết thúc bằng 25" in bad.json()["detail"]
    ok = await receipts_app.client.post(
        f"/schools/{SCHOOL}/series",
        headers=h,
        json={"form_code": "01BLP0-002", "series_code": "HP26", "year": 2026, "range_from": 1, "range_to": 150},
    )
    assert ok.status_code == 201
    again = await receipts_app.client.post(
        f"/schools/{SCHOOL}/series",
        headers=h,
        json={"form_code": "01BLP0-002", "series_code": "HP26", "year": 2026, "range_from": 1, "range_to": 150},
    )
    assert again.status_code == 409
    await _issue(receipts_app, n=60)
    series = (await receipts_app.client.get(f"/schools/{SCHOOL}/series", headers=h)).json()
    hp = next(s for s in series if s["series_code"] == "HP26")
    assert hp["next_number"] == 61 and hp["numbers_left"] == 90 and hp["running_low"]
    assert (
        await receipts_app.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE event_type = 'tuition.receipts.v1.SeriesRunningLow'"
        )
        > 0
    )
    from receipts.app.issuing import issue_receipt
    from receipts.settings import ReceiptsSettings
    from shared.events.outbox import Outbox

    payment, _ = payment_event(0, 1000)
    payment.payment_id = "new-year"
    async with receipts_app.pool.acquire() as conn, conn.transaction():
        await issue_receipt(
            conn,
            Outbox("receipts", receipts_app.prefix),
            ReceiptsSettings(),
            payment=payment,
            now=datetime(2027, 1, 1, 0, 30, tzinfo=UTC),
        )
    series = (await receipts_app.client.get(f"/schools/{SCHOOL}/series", headers=h)).json()
    new = next(s for s in series if s["year"] == 2027)
    assert new["series_code"] == "HP27" and new["next_number"] == 2


async def test_a_cancelled_receipt_keeps_its_number_and_its_replacement_references_it(receipts_app):
    (receipt,) = await _issue(receipts_app)
    r = await receipts_app.client.post(
        f"/schools/{SCHOOL}/receipts/{receipt['receipt_id']}/cancel",
        headers=receipts_app.headers(),
        json={"reason": "Sai tên người nộp"},
    )
    assert r.status_code == 200 and r.json()["replaced_by"]
    rows = {str(x["receipt_id"]): x for x in await receipts_app.pool.fetch("SELECT * FROM receipts")}
    old, new = rows[receipt["receipt_id"]], rows[r.json()["replaced_by"]]
    assert (old["number"], old["status"], new["number"], new["status"]) == (1, "cancelled", 2, "issued")
    xml = etree.fromstring(bytes(new["xml"]))
    assert xml.findtext("DLBLai/TTChung/TTBLLQuan/BLaiBTThe") == "BL26 0000001"
    events = await receipts_app.pool.fetch(
        "SELECT payload FROM outbox WHERE event_type = 'tuition.receipts.v1.ReceiptCancelled'"
    )
    assert len(events) == 1
    # For the district's audit of money actions: who cancelled it, and how much it was for.
    cancelled = unwrap(bytes(events[0]["payload"])).payload
    assert (cancelled.cancelled_by, cancelled.amount) == ("ke-toan", old["amount"])
    assert cancelled.reason == "Sai tên người nộp"
    assert old["cancelled_by"] == "ke-toan" and old["amount"] > 0
    twice = await receipts_app.client.post(
        f"/schools/{SCHOOL}/receipts/{receipt['receipt_id']}/cancel",
        headers=receipts_app.headers(),
        json={"reason": "x"},
    )
    assert twice.status_code == 409


async def test_the_pdf_is_in_vietnamese_carries_the_signed_xml_and_verifies(receipts_app):
    (receipt,) = await _issue(receipts_app)
    pdf = (await receipts_app.client.get(f"/r/{receipt['verification_code']}.pdf")).content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "BIÊN LAI THU TIỀN" in text and "Nguyễn Ngọc Bảo Anh" in text and "Trường Mầm non Hoa Phượng" in text
    assert (await _verify(receipts_app, pdf))["valid"]
    await asyncio.to_thread(_save_artifact, "receipt.pdf", pdf)


def _save_artifact(name: str, data: bytes) -> None:
    Path("test-artifacts").mkdir(exist_ok=True)
    (Path("test-artifacts") / name).write_bytes(data)


async def test_the_cli_verifies_offline_with_a_saved_key_list(receipts_app):
    (receipt,) = await _issue(receipts_app)
    xml = (await receipts_app.client.get(f"/r/{receipt['verification_code']}.xml")).content
    keylist = (await receipts_app.client.get("/keys")).json()
    qr = await receipts_app.pool.fetchval("SELECT compact FROM receipts")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "keys.json").write_text(json.dumps(keylist))
        (Path(tmp) / "r.xml").write_bytes(xml)
        (Path(tmp) / "bad.xml").write_bytes(xml.replace(b"Nguy\xe1\xbb\x85n V\xc4\x83n H\xc3\xb9ng", b"Tran Van B"))

        def cli(arg: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "suite.cli", "receipts", "verify", arg, "--keys", str(Path(tmp) / "keys.json")],
                capture_output=True,
                text=True,
                check=False,
            )

        results = await asyncio.gather(
            *(asyncio.to_thread(cli, a) for a in (str(Path(tmp) / "r.xml"), qr, str(Path(tmp) / "bad.xml")))
        )
    good, good_qr, bad = results
    assert good.returncode == 0 and json.loads(good.stdout)["valid"]
    assert good_qr.returncode == 0
    assert bad.returncode == 1 and "bị sửa" in json.loads(bad.stdout)["reason"]
    assert compact.PREFIX == "BL1:"


async def test_a_reversed_payment_cancels_its_receipt_which_keeps_its_number(receipts_app):
    from tuition.reconciliation.v1.events_pb2 import PaymentReversed

    (receipt,) = await _issue(receipts_app)
    payment, invoice_id = payment_event(0)
    await publish(
        receipts_app.kafka,
        receipts_app.prefix,
        Topic.RECONCILIATION,
        [
            (
                PaymentReversed(
                    payment_id=payment.payment_id,
                    invoice_id=invoice_id,
                    school_id=SCHOOL,
                    amount=payment.amount,
                    reason="undo by ke-toan",
                ),
                invoice_id,
            )
        ],
    )

    async def cancelled() -> bool:
        return await receipts_app.pool.fetchval("SELECT status FROM receipts") == "cancelled"

    await wait_until(cancelled, what="the receipt cancelled")
    row = await receipts_app.pool.fetchrow("SELECT number, cancel_reason, replaced_by FROM receipts")
    assert (row["number"], row["cancel_reason"], row["replaced_by"]) == (1, "Khoản nộp bị hủy: undo by ke-toan", None)
    assert (
        await receipts_app.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE event_type = 'tuition.receipts.v1.ReceiptCancelled'"
        )
        == 1
    )
    assert receipt["number"] == 1


async def test_a_batch_of_payments_is_numbered_in_order_signed_in_worker_processes_and_what_waits_is_parked(
    receipts_app,
):
    from receipts.app.issuing import on_payments
    from receipts.settings import ReceiptsSettings
    from shared.events.outbox import Outbox

    await publish(
        receipts_app.kafka,
        receipts_app.prefix,
        Topic.INVOICING,
        [school_event()] + [invoice_event(i) for i in range(5)],
    )

    async def book() -> bool:
        return await receipts_app.pool.fetchval("SELECT count(*) FROM invoices") == 5

    await wait_until(book, what="5 invoices")
    payments = [payment_event(i)[0] for i in (3, 0, 4, 1, 2)]
    no_invoice = payment_event(99)[0]  # its invoice has not arrived: parked, it takes no number
    settings = ReceiptsSettings(signing_processes=2)
    async with receipts_app.pool.acquire() as conn, conn.transaction():
        # The suite's outbox under this test's prefix: the relay publishes to the topics the test created.
        outbox = Outbox("receipts", receipts_app.prefix)
        await on_payments(conn, outbox, settings, [*payments[:2], no_invoice, *payments[2:], payments[0]])
    rows = await receipts_app.pool.fetch("SELECT payment_id, number FROM receipts ORDER BY number")
    assert [(r["payment_id"], r["number"]) for r in rows] == [(p.payment_id, n) for n, p in enumerate(payments, 1)]
    parked = await receipts_app.pool.fetch("SELECT payment_id, waiting_for FROM pending_payments")
    assert [(r["payment_id"], r["waiting_for"]) for r in parked] == [("pay-99", "invoice")]
    events = await receipts_app.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE event_type = 'tuition.receipts.v1.ReceiptIssued'"
    )
    assert events == 5
    for code in await receipts_app.pool.fetch("SELECT verification_code, compact FROM receipts"):
        xml = (await receipts_app.client.get(f"/r/{code['verification_code']}.xml")).content
        assert (await _verify(receipts_app, xml))["valid"]
        assert (await _verify(receipts_app, code["compact"]))["valid"]
    async with receipts_app.pool.acquire() as conn, conn.transaction():  # delivered again: nothing new
        await on_payments(conn, Outbox("receipts", receipts_app.prefix), settings, payments)
    assert await receipts_app.pool.fetchval("SELECT count(*) FROM receipts") == 5


async def test_a_receipt_for_part_of_an_invoice_shows_lines_adding_up_to_what_was_received(receipts_app):
    (receipt,) = await _issue(receipts_app, amount=500_000)
    code = receipt["verification_code"]
    data = etree.fromstring((await receipts_app.client.get(f"/r/{code}.xml")).content).find("DLBLai")
    lines = [(k.findtext("Ten"), int(k.findtext("STien"))) for k in data.findall("NDBLai/DSKThu/KThu")]
    # The allocation rule, worked out in tests/unit/test_receipt_lines.py.
    assert lines == [("Tiền ăn bán trú", 173_554), ("Chăm sóc bán trú", 47_333), ("Bảo hiểm y tế", 279_113)]
    assert data.findtext("NDBLai/TToan/TgSTien") == "500000"
    pdf = (await receipts_app.client.get(f"/r/{code}.pdf")).content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "173.554" in text and "884.520" not in text  # the part paid, never the invoice's full line
    page = (await receipts_app.client.get(f"/r/{code}")).text
    assert "279.113" in page and "884.520" not in page


async def test_a_receipt_of_an_adjusted_invoice_paid_whole_shows_the_adjustment(receipts_app):
    invoice, iid = invoice_event(0)
    adjusted = InvoiceAdjusted(invoice_id=iid, school_id=SCHOOL, delta=-84_520, new_total=1_500_000, reason="nghỉ ốm")
    await publish(receipts_app.kafka, receipts_app.prefix, Topic.INVOICING, [school_event(), (invoice, iid)])
    await publish(receipts_app.kafka, receipts_app.prefix, Topic.INVOICING, [(adjusted, iid)])

    async def adjusted_in() -> bool:
        return await receipts_app.pool.fetchval("SELECT total FROM invoices") == 1_500_000

    await wait_until(adjusted_in, what="the adjustment in the receipts' copy")
    (receipt,) = await _issue(receipts_app, amount=1_500_000)
    data = etree.fromstring((await receipts_app.client.get(f"/r/{receipt['verification_code']}.xml")).content)
    lines = [(k.findtext("Ten"), int(k.findtext("STien"))) for k in data.findall("DLBLai/NDBLai/DSKThu/KThu")]
    assert lines[-1] == ("Điều chỉnh: nghỉ ốm", -84_520) and sum(a for _, a in lines) == 1_500_000


async def test_the_public_verification_page_and_a_wrong_receipt_link_answer_a_person_in_vietnamese(receipts_app):
    """Issue 31 §8: `GET /verify` is a page to paste a QR text or upload a PDF/XML; a wrong receipt code is a
    page that says so (not an API's JSON)."""
    page = await receipts_app.client.get("/verify")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Kiểm tra biên lai điện tử" in page.text and 'id="qr"' in page.text and 'type="file"' in page.text
    assert "script-src 'self' 'sha256-" in page.headers["content-security-policy"]
    missing = await receipts_app.client.get("/r/KHONGCOMA")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy biên lai" in missing.text and "KHONGCOMA" in missing.text
    verdict = await receipts_app.client.post("/verify", content=b"BL1:khong-phai-bien-lai")
    assert verdict.status_code == 200 and verdict.json()["valid"] is False
