"""The district's audit of money actions (issue 29 §7): every action a person took on money, from the events of
invoicing, reconciliation and receipts, with the account that took it; read by the district's office and its
auditors on the real PostgreSQL and Kafka, listed and exported."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta

import pytest

from devinfra.testing import wait_until
from reporting.main import SPEC
from shared.events.topics import Topic
from shared.formatting import VN
from tuition.invoicing.v1.events_pb2 import InvoiceAdjusted, InvoiceCancelled, InvoiceIssued
from tuition.receipts.v1.events_pb2 import ReceiptCancelled, ReceiptIssued
from tuition.reconciliation.v1.events_pb2 import CASH, VIETQR, CreditActionTaken, CreditReceived

from .test_dashboard import D1, D2, Seed, _get, _send, _settings, serve, token

pytestmark = pytest.mark.integration


def _issued(seed: Seed, school: str, n: int, total: int, by: str, *, round_code: str = "") -> None:
    for _ in range(n):
        iid = str(uuid.uuid4())
        m = InvoiceIssued(
            invoice_id=iid, school_id=school, student_id=str(uuid.uuid4()), period="2026-12", total=total,
            school_year="2026-2027", due_date="2026-12-15", issued_by=by, round_code=round_code,
        )  # fmt: skip
        m.issued_at.GetCurrentTime()
        seed.invoicing.append((m, iid, school))
        seed.invoice_ids.setdefault(f"{school}-first", iid)


async def test_every_money_action_names_its_account_for_the_district_listed_and_exported(
    make_database, infra_endpoints, topic_prefix
):
    seed = Seed()
    seed.school("MN-A", "Trường Mầm non Hoa Sen", D1)
    seed.school("TH-B", "Trường Tiểu học Nghĩa Tân", D1)
    seed.school("TH-D", "Trường Tiểu học Ba Đình", D2)
    _issued(seed, "MN-A", 3, 1_000_000, "ketoan.hoasen")  # one issuing run of three invoices
    _issued(seed, "MN-A", 2, 150_000, "ketoan.hoasen", round_code="DP")  # a collection round: its own run
    _issued(seed, "TH-B", 1, 800_000, "")  # written before invoices named their issuer: not an action listed
    _issued(seed, "TH-D", 1, 900_000, "ketoan.badinh")  # another district's
    first = seed.invoice_ids["MN-A-first"]
    seed.invoicing.append(
        (
            InvoiceAdjusted(
                invoice_id=first, school_id="MN-A", delta=-120_000, new_total=880_000,
                reason="Hoàn tiền ăn 4 ngày nghỉ", adjusted_by="ketoan.hoasen",
            ),
            first,
            "MN-A",
        )
    )  # fmt: skip
    other = seed.invoice_ids["TH-B-first"]
    seed.invoicing.append(
        (InvoiceCancelled(invoice_id=other, school_id="TH-B", reason="Lập nhầm", cancelled_by="ketoan.nghiatan"),
         other, "TH-B")
    )  # fmt: skip
    cash = CreditReceived(credit_id="c-cash", school_id="MN-A", amount=500_000, channel=CASH, source="cash",
                          recorded_by="thuquy.hoasen")  # fmt: skip
    bank = CreditReceived(credit_id="c-bank", school_id="MN-A", amount=700_000, channel=VIETQR, source="webhook_sepay")
    match = CreditActionTaken(action_id="a1", credit_id="c-bank", school_id="MN-A", kind="match", amount=700_000,
                              actor="ketoan.hoasen", reason="")  # fmt: skip
    undo = CreditActionTaken(action_id="a2", credit_id="c-bank", school_id="MN-A", kind="undo", amount=700_000,
                             actor="ketoan.hoasen", undoes="a1")  # fmt: skip
    refund = CreditActionTaken(action_id="a3", credit_id="c-bank", school_id="MN-A", kind="refund", amount=200_000,
                               actor="ketoan.hoasen", reason="Chuyển thừa")  # fmt: skip
    seed.reconciliation += [(m, m.credit_id, "MN-A") for m in (cash, bank, match, undo, refund)]
    receipts = [
        (ReceiptIssued(receipt_id="r1", school_id="MN-A", invoice_id=first, amount=500_000), first, "MN-A"),
        (ReceiptCancelled(receipt_id="r1", school_id="MN-A", invoice_id=first, reason="Sai tên người nộp",
                          replaced_by="r2", cancelled_by="ketoan.hoasen", amount=500_000), first, "MN-A"),
        # Cancelled because its payment was reversed: the reversal's action names who; not listed twice.
        (ReceiptCancelled(receipt_id="r3", school_id="MN-A", invoice_id=first, reason="payment reversed: x",
                          amount=700_000), first, "MN-A"),
    ]  # fmt: skip
    await seed.publish(infra_endpoints.kafka, topic_prefix)
    await _send(infra_endpoints.kafka, topic_prefix, Topic.RECEIPTS, receipts)
    settings = _settings(await make_database(SPEC.migrations), infra_endpoints, topic_prefix)
    async with serve(settings) as (base, app):
        db = app.state.runtime.db()

        async def settled() -> bool:
            row = await db.fetchrow(
                "SELECT (SELECT count(*) FROM money_actions) AS m, (SELECT count(*) FROM schools) AS s, "
                "(SELECT coalesce(sum(items), 0) FROM money_actions WHERE kind = 'invoice.issued') AS i"
            )
            return (row["m"], row["s"], row["i"]) == (10, 3, 6)

        await wait_until(settled, what="every money action in the projection")
        today = datetime.now(VN).date()
        days = {"from": str(today - timedelta(days=1)), "to": str(today)}
        district = token("district", district=D1)
        r = await _get(base, f"/api/districts/{D1}/money-actions", district, **days)
        assert r.status_code == 200, r.text
        listed = r.json()
        seen = sorted((a["school_id"], a["kind"], a["actor"], a["amount"], a["items"]) for a in listed)
        assert seen == [
            ("MN-A", "cash.recorded", "thuquy.hoasen", 500_000, 1),
            ("MN-A", "credit.match", "ketoan.hoasen", 700_000, 1),
            ("MN-A", "credit.refund", "ketoan.hoasen", 200_000, 1),
            ("MN-A", "credit.undo", "ketoan.hoasen", 700_000, 1),
            ("MN-A", "invoice.adjusted", "ketoan.hoasen", -120_000, 1),
            ("MN-A", "invoice.issued", "ketoan.hoasen", 300_000, 2),
            ("MN-A", "invoice.issued", "ketoan.hoasen", 3_000_000, 3),
            ("MN-A", "receipt.cancelled", "ketoan.hoasen", 500_000, 1),
            ("TH-B", "invoice.cancelled", "ketoan.nghiatan", 800_000, 1),
        ]
        by_kind = {a["kind"]: a for a in listed}
        assert by_kind["invoice.adjusted"]["reason"] == "Hoàn tiền ăn 4 ngày nghỉ"
        assert by_kind["invoice.adjusted"]["label"] == "Điều chỉnh hoá đơn"
        assert by_kind["credit.undo"]["reason"] == "(hoàn tác a1)"
        assert by_kind["credit.refund"]["reason"] == "Chuyển thừa"
        assert by_kind["receipt.cancelled"]["school_name"] == "Trường Mầm non Hoa Sen"
        assert {a["subject"] for a in listed if a["kind"] == "invoice.issued"} == {"2026-12", "2026-12 / DP"}
        assert all(datetime.fromisoformat(a["occurred_at"]).utcoffset() == timedelta(hours=7) for a in listed)
        times = [datetime.fromisoformat(a["occurred_at"]) for a in listed]
        assert times == sorted(times, reverse=True)

        # One school, and the district's auditor reads the same.
        one = await _get(base, f"/api/districts/{D1}/money-actions", district, school_id="TH-B", **days)
        assert [a["kind"] for a in one.json()] == ["invoice.cancelled"]
        auditor = await _get(base, f"/api/districts/{D1}/money-actions", token("auditor", district=D1), **days)
        assert auditor.status_code == 200 and len(auditor.json()) == len(listed)
        # Days before any action: nothing.
        empty = await _get(
            base, f"/api/districts/{D1}/money-actions", district, **{"from": "2026-01-01", "to": "2026-01-31"}
        )
        assert empty.status_code == 200 and empty.json() == []

        # Refused: another district's office, a school's accountant, a range backwards or longer than a year.
        for who in (token("district", district=D2), token("accountant", school="MN-A")):
            refused = await _get(base, f"/api/districts/{D1}/money-actions", who, **days)
            assert refused.status_code == 403, refused.text
        backwards = await _get(
            base, f"/api/districts/{D1}/money-actions", district, **{"from": "2026-12-02", "to": "2026-12-01"}
        )
        assert backwards.status_code == 422 and "đứng trước ngày bắt đầu" in backwards.text
        long = await _get(
            base, f"/api/districts/{D1}/money-actions", district, **{"from": "2025-01-01", "to": "2026-12-01"}
        )
        assert long.status_code == 422 and "tối đa" in long.text

        # The export: the same rows, Vietnamese headings, times in Vietnam's time.
        exported = await _get(base, f"/api/districts/{D1}/money-actions.csv", district, **days)
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert rows[0] == ["Thời điểm", "Trường", "Thao tác", "Tài khoản", "Số tiền (đồng)", "Số hoá đơn", "Đối tượng",
                           "Lý do"]  # fmt: skip
        assert len(rows) == 1 + len(listed)
        adjusted = next(row for row in rows if row[2] == "Điều chỉnh hoá đơn")
        assert adjusted[3:5] == ["ketoan.hoasen", "-120000"] and adjusted[7] == "Hoàn tiền ăn 4 ngày nghỉ"
        first_time = datetime.strptime(rows[1][0], "%d/%m/%Y %H:%M:%S")
        assert abs(first_time - datetime.now(VN).replace(tzinfo=None)) < timedelta(minutes=10)
        xlsx = await _get(base, f"/api/districts/{D1}/money-actions.xlsx", district, **days)
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
