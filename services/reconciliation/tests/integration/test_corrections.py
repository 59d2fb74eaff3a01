"""Correcting what was placed before: a wrong automatic match reversed, a mistaken cash entry withdrawn; each an
audited action whose undo puts the same amounts back as new payments."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from devinfra.testing import wait_until

from .conftest import SCHOOL, camt054, sepay_body

pytestmark = pytest.mark.integration


async def _payments(recon, invoice_id: uuid.UUID) -> list[tuple[int, bool]]:
    rows = await recon.pool.fetch(
        "SELECT amount, reversed_at IS NOT NULL AS reversed FROM allocations WHERE invoice_id = $1 ORDER BY created_at",
        invoice_id,
    )
    return [(r["amount"], r["reversed"]) for r in rows]


async def _reversed_events(recon) -> list[str]:
    from shared.events.envelope import unwrap
    from tuition.reconciliation.v1.events_pb2 import PaymentReversed

    rows = await recon.pool.fetch(
        "SELECT payload FROM outbox WHERE event_type = 'tuition.reconciliation.v1.PaymentReversed' ORDER BY seq"
    )
    out = []
    for r in rows:
        m = unwrap(bytes(r["payload"])).payload
        assert isinstance(m, PaymentReversed)
        out.append(m.invoice_id)
    return out


async def test_a_wrong_automatic_match_is_reversed_audited_requeued_and_the_undo_puts_it_back(recon):
    a, b = await recon.issue([500_000, 500_000])
    # The parent typed their other child's reference: the machine matched it, correctly by the memo, wrongly in fact.
    credit = (await recon.sepay(sepay_body(1, 500_000, f"{a.reference} T09 2026"))).json()
    assert credit["state"] == "matched"
    h = recon.headers()
    url = f"/schools/{SCHOOL}/credits/{credit['credit_id']}/actions"

    refused = await recon.client.post(url, headers=h, json={"kind": "unmatch"})
    assert refused.status_code == 422 and "lý do" in refused.json()["detail"]

    reversed_ = await recon.client.post(url, headers=h, json={"kind": "unmatch", "reason": "phụ huynh ghi nhầm mã"})
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json() | {"action_id": None} == {
        "action_id": None,
        "state": "unmatched",
        "reason_code": "reversed_by_accountant",
        "allocated": 0,
        "refunded": 0,
        "ignored": 0,
        "handled": 500_000,
        "replayed": False,
    }
    assert await _payments(recon, a.invoice_id) == [(500_000, True)]
    assert await _reversed_events(recon) == [str(a.invoice_id)]
    assert await recon.pool.fetchval("SELECT allocated FROM invoices WHERE invoice_id = $1", a.invoice_id) == 0
    queue = (await recon.client.get(f"/schools/{SCHOOL}/exceptions", headers=h)).json()
    assert [c["credit_id"] for c in queue] == [credit["credit_id"]]
    detail = (await recon.client.get(f"/schools/{SCHOOL}/credits/{credit['credit_id']}", headers=h)).json()
    assert detail["actions"][0]["kind"] == "unmatch" and detail["actions"][0]["actor"] == "ke-toan"
    assert detail["actions"][0]["before"]["state"] == "matched"

    # Matched by hand to the right invoice, then both steps undone: back where the machine left it.
    right = await recon.client.post(
        url, headers=h, json={"kind": "match", "allocations": [{"invoice_id": str(b.invoice_id)}]}
    )
    assert right.json()["state"] == "resolved" and right.json()["allocated"] == 500_000
    await recon.client.post(f"/schools/{SCHOOL}/actions/{right.json()['action_id']}/undo", headers=h)
    undone = await recon.client.post(f"/schools/{SCHOOL}/actions/{reversed_.json()['action_id']}/undo", headers=h)
    assert undone.status_code == 200, undone.text
    assert (undone.json()["state"], undone.json()["reason_code"], undone.json()["allocated"]) == (
        "matched",
        "reference",
        500_000,
    )
    # A new payment (a new receipt), the reversed one kept for the audit.
    assert await _payments(recon, a.invoice_id) == [(500_000, True), (500_000, False)]
    assert await _payments(recon, b.invoice_id) == [(500_000, True)]
    assert await recon.pool.fetchval("SELECT allocated FROM invoices WHERE invoice_id = $1", a.invoice_id) == 500_000
    assert (await recon.client.get(f"/schools/{SCHOOL}/exceptions", headers=h)).json() == []


async def test_a_credit_with_nothing_matched_has_no_match_to_reverse(recon):
    r = (await recon.sepay(sepay_body(1, 123_000, "CHUYEN NHAM"))).json()
    resp = await recon.client.post(
        f"/schools/{SCHOOL}/credits/{r['credit_id']}/actions",
        headers=recon.headers(),
        json={"kind": "unmatch", "reason": "x"},
    )
    assert resp.status_code == 409 and "không có khoản nộp nào để hủy" in resp.json()["detail"]


async def test_a_mistaken_cash_entry_is_withdrawn_the_close_still_balances_and_a_bank_credit_cannot_be(recon):
    (a,) = await recon.issue([300_000])
    h = recon.headers()
    cash = await recon.client.post(
        f"/schools/{SCHOOL}/cash",
        headers=h,
        json={"invoice_id": str(a.invoice_id), "amount": 300_000, "received_at": "2026-09-05T09:00:00+07:00"},
    )
    assert cash.json()["state"] == "matched"
    url = f"/schools/{SCHOOL}/credits/{cash.json()['credit_id']}/actions"
    withdrawn = await recon.client.post(url, headers=h, json={"kind": "withdraw", "reason": "ghi nhầm học sinh"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["state"], withdrawn.json()["allocated"], withdrawn.json()["ignored"]) == (
        "withdrawn",
        0,
        300_000,
    )
    assert await recon.pool.fetchval("SELECT allocated FROM invoices WHERE invoice_id = $1", a.invoice_id) == 0
    assert await _reversed_events(recon) == [str(a.invoice_id)]
    close = (await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": "2026-09-05"}, headers=h)).json()
    desk = next(acc for acc in close["accounts"] if acc["account_number"].startswith("CASH:"))
    assert (desk["received"], desk["matched"], desk["withdrawn"], desk["difference"]) == (300_000, 0, 300_000, 0)
    assert close["balanced"]
    again = await recon.client.post(url, headers=h, json={"kind": "withdraw", "reason": "again"})
    assert again.status_code == 409 and "đã được rút" in again.json()["detail"]

    undone = await recon.client.post(f"/schools/{SCHOOL}/actions/{withdrawn.json()['action_id']}/undo", headers=h)
    assert (undone.json()["state"], undone.json()["allocated"], undone.json()["ignored"]) == ("matched", 300_000, 0)

    bank = (await recon.sepay(sepay_body(9, 300_000, "CHUYEN NHAM"))).json()
    # The bank's statement brings the same credit: it is in the account, so it is refunded or ignored instead.
    confirmed = await recon.statement("ntf.xml", camt054([(300_000, "CHUYEN NHAM", "MBVCB.3278907009")]))
    assert confirmed.json()["new_credits"] == 0, confirmed.text
    refused = await recon.client.post(
        f"/schools/{SCHOOL}/credits/{bank['credit_id']}/actions",
        headers=h,
        json={"kind": "withdraw", "reason": "x"},
    )
    assert refused.status_code == 422 and "Sao kê ngân hàng đã xác nhận" in refused.json()["detail"]


async def test_the_exceptions_export_lists_what_needed_the_accountant_with_the_reasons_given(recon):
    (a,) = await recon.issue([300_000])
    h = recon.headers()
    await recon.sepay(sepay_body(1, 300_000, f"{a.reference}"))  # matched by the machine: not listed
    stray = (await recon.sepay(sepay_body(2, 99_000, "=1+1 CHUYEN NHAM"))).json()
    await recon.client.post(
        f"/schools/{SCHOOL}/credits/{stray['credit_id']}/actions",
        headers=h,
        json={"kind": "ignore", "reason": "không phải khoản thu"},
    )
    r = await recon.client.get(
        f"/schools/{SCHOOL}/exports/credits.csv",
        params={"from": "2026-09-05", "to": "2026-09-05", "kind": "exceptions"},
        headers=h,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="ngoai-le-' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 2, rows
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Nội dung chuyển khoản"] == "'=1+1 CHUYEN NHAM"  # a formula stays text
    assert (row["Số tiền (đồng)"], row["Bỏ qua (đồng)"], row["Trạng thái"]) == ("99000", "99000", "Kế toán đã xử lý")
    assert row["Ghi chú của kế toán"] == "ke-toan: không phải khoản thu"
    assert row["Thời điểm"] == "05/09/2026 14:02"
    everything = await recon.client.get(
        f"/schools/{SCHOOL}/exports/credits.xlsx", params={"from": "2026-09-05", "to": "2026-09-05"}, headers=h
    )
    assert everything.status_code == 200 and everything.content[:2] == b"PK"
    too_long = await recon.client.get(
        f"/schools/{SCHOOL}/exports/credits.csv", params={"from": "2025-01-01", "to": "2026-09-05"}, headers=h
    )
    assert too_long.status_code == 422 and "366 ngày" in too_long.json()["detail"]


async def test_an_excess_kept_as_credit_balance_pays_the_familys_next_invoice_and_the_close_balances(recon):
    (a,) = await recon.issue([500_000], family="fam-balance")
    h = recon.headers()
    over = (await recon.sepay(sepay_body(1, 650_000, a.reference))).json()
    assert over["state"] == "overpaid"
    kept = await recon.client.post(
        f"/schools/{SCHOOL}/credits/{over['credit_id']}/actions", headers=h, json={"kind": "keep"}
    )
    assert kept.status_code == 200, kept.text
    assert (kept.json()["state"], kept.json()["allocated"]) == ("credit_balance", 500_000)
    assert (await recon.client.get(f"/schools/{SCHOOL}/exceptions", headers=h)).json() == []
    close = (await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": "2026-09-05"}, headers=h)).json()
    assert (close["accounts"][0]["held"], close["balanced"]) == (150_000, True)

    # Next month's invoice of a sibling: the balance pays 150,000 of it as a payment of its own.
    (b,) = await recon.issue([400_000], family="fam-balance")

    async def applied() -> bool:
        return (
            await recon.pool.fetchval(
                "SELECT coalesce(sum(amount), 0) FROM allocations WHERE invoice_id = $1 AND reversed_at IS NULL",
                b.invoice_id,
            )
            == 150_000
        )

    await wait_until(applied, what="the credit balance applied to the new invoice")
    row = await recon.pool.fetchrow("SELECT * FROM credits WHERE credit_id = $1", uuid.UUID(over["credit_id"]))
    assert (row["state"], row["allocated"]) == ("resolved", 650_000)
    reason = await recon.pool.fetchval("SELECT reason_code FROM allocations WHERE invoice_id = $1", b.invoice_id)
    assert reason == "credit_balance"
    assert await recon.pool.fetchval("SELECT allocated FROM invoices WHERE invoice_id = $1", b.invoice_id) == 150_000
    close = (await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": "2026-09-05"}, headers=h)).json()
    assert (close["accounts"][0]["held"], close["accounts"][0]["matched"], close["balanced"]) == (0, 650_000, True)
    # Another family's invoice is never paid from it.
    (other,) = await recon.issue([100_000], family="fam-other")
    assert await recon.pool.fetchval("SELECT allocated FROM invoices WHERE invoice_id = $1", other.invoice_id) == 0


async def test_keeping_a_balance_needs_to_know_whose_family(recon):
    stray = (await recon.sepay(sepay_body(1, 99_000, "CHUYEN TIEN"))).json()
    r = await recon.client.post(
        f"/schools/{SCHOOL}/credits/{stray['credit_id']}/actions", headers=recon.headers(), json={"kind": "keep"}
    )
    assert r.status_code == 422 and "số dư của gia đình nào" in r.json()["detail"]


async def _events(recon, name: str) -> list:
    from shared.events.envelope import unwrap

    rows = await recon.pool.fetch(
        "SELECT payload FROM outbox WHERE event_type = $1 ORDER BY seq", f"tuition.reconciliation.v1.{name}"
    )
    return [unwrap(bytes(r["payload"])).payload for r in rows]


async def test_every_money_action_goes_out_with_the_account_that_took_it(recon):
    """For the district's audit (reporting): cash names who recorded it, a statement's credits who uploaded them,
    each action of the queue who took it and how much it moved; a bank's webhook names no one."""
    a, b = await recon.issue([300_000, 200_000])
    h = recon.headers()
    cash = await recon.client.post(
        f"/schools/{SCHOOL}/cash",
        headers=h,
        json={"invoice_id": str(a.invoice_id), "amount": 300_000, "payer_name": "Nguyễn Văn An"},
    )
    url = f"/schools/{SCHOOL}/credits/{cash.json()['credit_id']}/actions"
    withdrawn = await recon.client.post(url, headers=h, json={"kind": "withdraw", "reason": "ghi nhầm học sinh"})
    await recon.client.post(f"/schools/{SCHOOL}/actions/{withdrawn.json()['action_id']}/undo", headers=h)
    stray = (await recon.sepay(sepay_body(3, 99_000, "CHUYEN NHAM"))).json()
    await recon.client.post(
        f"/schools/{SCHOOL}/credits/{stray['credit_id']}/actions",
        headers=h,
        json={"kind": "refund", "amount": 99_000, "bank_reference": "FT-HOAN-1"},
    )
    uploaded = await recon.statement("ntf.xml", camt054([(200_000, f"{b.reference}", "MBVCB.111")]))
    assert uploaded.json()["new_credits"] == 1, uploaded.text

    recorded = {r["first_source"]: r["recorded_by"] for r in await recon.pool.fetch("SELECT * FROM credits")}
    assert recorded == {"cash": "ke-toan", "webhook_sepay": "", "camt054": "ke-toan"}
    received = {m.source: m.recorded_by for m in await _events(recon, "CreditReceived")}
    assert received == {"cash": "ke-toan", "webhook_sepay": "", "camt054": "ke-toan"}
    actions = [(m.kind, m.actor, m.amount, m.reason, m.credit_id) for m in await _events(recon, "CreditActionTaken")]
    assert actions == [
        ("withdraw", "ke-toan", 300_000, "ghi nhầm học sinh", cash.json()["credit_id"]),
        ("undo", "ke-toan", 300_000, "", cash.json()["credit_id"]),
        ("refund", "ke-toan", 99_000, "", stray["credit_id"]),
    ]
    (undo,) = [m for m in await _events(recon, "CreditActionTaken") if m.kind == "undo"]
    assert undo.undoes == withdrawn.json()["action_id"] and undo.HasField("taken_at")
    # The automatic matches took no action: no event names anyone for them.
    assert len(await _events(recon, "CreditActionTaken")) == 3
