"""Reconciliation on the real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import io
import random
import uuid
from pathlib import Path
from string import Template

import pytest
from openpyxl import Workbook

from shared import payref

from .conftest import ACCOUNT, SCHOOL, camt054, casso_data, mt940, payos_data, sepay_body, sign_payos

pytestmark = pytest.mark.integration


async def _events(recon, event_type: str) -> int:
    return await recon.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE event_type = $1", f"tuition.reconciliation.v1.{event_type}"
    )


async def _allocations(recon) -> dict[uuid.UUID, list[uuid.UUID]]:
    out: dict[uuid.UUID, list[uuid.UUID]] = {}
    for r in await recon.pool.fetch("SELECT credit_id, invoice_id FROM allocations WHERE reversed_at IS NULL"):
        out.setdefault(r["credit_id"], []).append(r["invoice_id"])
    return out


def _typo(ref: str, rng: random.Random) -> str:
    i = rng.randrange(2, 10)
    choices = [c for c in payref.ALPHABET if c != ref[i]]
    return ref[:i] + rng.choice(choices) + ref[i + 1 :]


def _spaced(ref: str) -> str:
    return f"{ref[:5]} {ref[5:]}"


MANGLERS = [
    lambda ref, name: f"MBVCB.{random.randrange(10**9, 10**10)}.{ref}.{name}.CT tu 1903 toi {ACCOUNT} TRUONG MN",
    lambda ref, name: f"{random.randrange(100000, 999999)}.050926.140237.{ref.lower()} hoc phi {name.lower()}",
    lambda ref, name: f"IBFT {_spaced(ref)} {name}",
    lambda ref, name: f"CT nhanh 247 den: {name} {ref}-050926-14:02:37 884512",
    lambda ref, name: f"0200970415{ref}.1.140237.nop.hoc.phi",
    lambda ref, name: f"{ref} T09 2026",
    lambda ref, name: f"{name} {ref[:6]}\n{ref[6:]} thang 9",
]


async def test_a_mangled_batch_is_matched_with_no_wrong_match_and_the_unsafe_rest_waits_for_the_accountant(recon):
    rng = random.Random(20260905)
    invoices = await recon.issue([rng.randrange(30, 200) * 10_000 for _ in range(60)])
    expected: dict[str, uuid.UUID | None] = {}  # NtryRef → the invoice it must go to, None: must not be placed
    entries, webhook_credits = [], []
    for n, inv in enumerate(invoices):
        name = payref.fold_memo(inv.student_name)
        kind = n % 6
        if kind == 4:
            memo = f"{name} {_typo(inv.reference, rng)} hoc phi"  # mistyped reference
        elif kind == 5:
            memo = f"MBVCB.1234.{inv.reference[:7]}"  # truncated by the bank
        else:
            memo = MANGLERS[n % len(MANGLERS)](inv.reference, name)
        ref = f"FT{26248000000 + n}"
        expected[ref] = inv.invoice_id if kind < 4 else None
        (webhook_credits if n % 3 == 0 else entries).append((inv.total, memo, ref))
    entries.append((250_000, "UNG HO QUY KHUYEN HOC", "FT99999999901"))  # not a fee at all
    expected["FT99999999901"] = None
    for total, memo, ref in webhook_credits:
        r = await recon.casso(casso_data(total, memo, ref))
        assert r.status_code == 200, r.text
    r = await recon.statement("ntf.xml", camt054(entries))
    assert r.status_code == 200, r.text
    credit_of = {
        row["identifier"]: row["credit_id"]
        for row in await recon.pool.fetch(
            "SELECT identifier, credit_id FROM credit_identifiers WHERE identifier LIKE 'FT%'"
        )
    }
    placed = await _allocations(recon)
    queue = {
        item["credit_id"]
        for item in (await recon.client.get(f"/schools/{SCHOOL}/exceptions", headers=recon.headers())).json()
    }
    for ref, invoice_id in expected.items():
        credit = credit_of[ref]
        if invoice_id is None:
            assert credit not in placed, f"{ref} must not be placed"
            assert str(credit) in queue, f"{ref} must wait in the exceptions queue"
        else:
            assert placed.get(credit) == [invoice_id], f"{ref} went to {placed.get(credit)}"
    assert len(placed) == sum(v is not None for v in expected.values())


async def test_one_credit_by_webhook_three_times_then_in_camt054_and_mt940_is_one_payment(recon):
    (inv,) = await recon.issue([1_250_000])
    memo = f"MBVCB.11223344.{inv.reference}.NGUYEN NGOC BAO ANH LOP 5A1.CT tu 19033344455566 NGUYEN VAN HUNG toi"
    for _ in range(3):
        r = await recon.casso(casso_data(1_250_000, memo, "FT26248001937"))
        assert r.status_code == 200 and r.json()["state"] == "matched"
    assert (await recon.statement("ntf.xml", camt054([(1_250_000, memo, "FT26248001937")]))).status_code == 200
    r = await recon.statement("day.sta", mt940([(1_250_000, memo, "FT26248001937")]))
    assert r.status_code == 200, r.text
    assert r.json()["new_credits"] == 0
    assert await recon.pool.fetchval("SELECT count(*) FROM credits") == 1
    assert await recon.pool.fetchval("SELECT count(*) FROM allocations") == 1
    assert await _events(recon, "PaymentMatched") == 1
    sources = {r["source_kind"] for r in await recon.pool.fetch("SELECT source_kind FROM credit_sources")}
    assert sources == {"webhook_casso", "camt054", "mt940"}


async def test_a_webhook_without_the_banks_reference_is_recognised_in_the_statement_by_its_memo(recon):
    (inv,) = await recon.issue([900_000])
    memo = f"MBVCB.3278907687.{inv.reference}.HOC PHI T9.CT tu 19033344455566 NGUYEN VAN HUNG"
    for _ in range(2):
        assert (await recon.sepay(sepay_body(92704, 900_000, memo))).status_code == 200
    r = await recon.statement("ntf.xml", camt054([(900_000, memo[:60], "FT26248005555")]))  # the bank cut the memo
    assert r.json()["new_credits"] == 0
    assert await recon.pool.fetchval("SELECT count(*) FROM credits") == 1


async def test_two_identical_real_transfers_stay_two_credits_and_the_second_is_a_duplicate_payment(recon):
    (inv,) = await recon.issue([500_000])
    memo = f"{inv.reference} T09 2026"
    assert (await recon.sepay(sepay_body(1, 500_000, memo))).json()["state"] == "matched"
    assert (await recon.sepay(sepay_body(2, 500_000, memo))).json()["state"] == "duplicate"
    r = await recon.statement("ntf.xml", camt054([(500_000, memo, "FT1"), (500_000, memo, "FT2")]))
    assert r.json()["new_credits"] == 0
    assert await recon.pool.fetchval("SELECT count(*) FROM credits") == 2
    assert await _events(recon, "PaymentMatched") == 1


async def test_a_forged_or_missing_signature_is_refused_and_nothing_is_stored(recon):
    (inv,) = await recon.issue([300_000])
    data = casso_data(300_000, inv.reference, "FT1")
    assert (await recon.casso(data, key="not-the-key")).status_code == 401
    r = await recon.client.post(f"/webhooks/casso/{SCHOOL}", json={"error": 0, "data": data})
    assert r.status_code == 401 and "X-Casso-Signature" in r.json()["detail"]
    assert (await recon.sepay(sepay_body(5, 300_000, inv.reference), key="wrong")).status_code == 401
    signed = sign_payos(payos_data(300_000, inv.reference, "FT9"))
    signed["data"]["amount"] = 3_000_000  # tampered after signing
    assert (await recon.client.post(f"/webhooks/payos/{SCHOOL}", json=signed)).status_code == 401
    bad_json = await recon.client.post(
        f"/webhooks/sepay/{SCHOOL}", content=b"{not json", headers={"Authorization": "Apikey sepay-api-key-123"}
    )
    assert bad_json.status_code == 400
    assert await recon.pool.fetchval("SELECT count(*) FROM credits") == 0
    assert await recon.pool.fetchval("SELECT count(*) FROM outbox WHERE event_type LIKE 'tuition.reconciliation%'") == 0
    good = sign_payos(payos_data(300_000, inv.reference, "FT9"))
    assert (await recon.client.post(f"/webhooks/payos/{SCHOOL}", json=good)).json()["state"] == "matched"


async def test_a_statement_uploaded_twice_changes_nothing_and_a_broken_one_stores_nothing(recon):
    (inv,) = await recon.issue([700_000])
    data = camt054([(700_000, inv.reference, "FT7")])
    first = (await recon.statement("a.xml", data)).json()
    second = (await recon.statement("a-copy.xml", data)).json()
    assert first["new_credits"] == 1 and second["already_uploaded"] and second["new_credits"] == 0
    broken = mt940([(100_000, "X", "FT8")]).replace(b":62F:C260905VND100100000,", b":62F:C260905VND100000001,")
    r = await recon.statement("bad.sta", broken)
    assert r.status_code == 422 and "số dư không khớp" in r.json()["detail"]
    fraction = camt054([(100_000, "X", "FT9")]).replace(b">100000<", b">100000.5<")
    r = await recon.statement("frac.xml", fraction)
    assert r.status_code == 422 and "phần lẻ của đồng" in r.json()["detail"]
    assert await recon.pool.fetchval("SELECT count(*) FROM credits") == 1


async def test_partial_then_rest_completes_an_invoice_and_more_leaves_a_credit_balance(recon):
    a, b = await recon.issue([1_000_000, 600_000])
    r1 = await recon.sepay(sepay_body(1, 400_000, f"{a.reference} dot 1"))
    r2 = await recon.sepay(sepay_body(2, 600_000, f"{a.reference} dot 2"))
    r3 = await recon.sepay(sepay_body(3, 650_000, f"{b.reference}"))
    assert [r.json()["state"] for r in (r1, r2, r3)] == ["partial", "matched", "overpaid"]
    over = await recon.pool.fetchrow("SELECT * FROM credits WHERE credit_id = $1", uuid.UUID(r3.json()["credit_id"]))
    assert over["allocated"] == 600_000 and over["amount"] - over["allocated"] == 50_000


async def test_the_accountant_resolves_exceptions_every_action_is_audited_and_undoable(recon):
    a, b = await recon.issue([550_000, 700_000], family="fam-x")
    r = await recon.sepay(sepay_body(1, 1_250_000, "TRAN DUC MINH NOP TIEN AN 2 CHAU"))
    credit_id = r.json()["credit_id"]
    assert r.json()["state"] == "unmatched"
    h = recon.headers()
    split = await recon.client.post(
        f"/schools/{SCHOOL}/credits/{credit_id}/actions",
        headers=h,
        json={
            "kind": "split",
            "allocations": [
                {"invoice_id": str(a.invoice_id), "amount": 550_000},
                {"invoice_id": str(b.invoice_id), "amount": 700_000},
            ],
        },
    )
    assert split.status_code == 200 and split.json()["state"] == "resolved"
    assert await _events(recon, "PaymentMatched") == 2
    detail = (await recon.client.get(f"/schools/{SCHOOL}/credits/{credit_id}", headers=h)).json()
    assert detail["actions"][0]["actor"] == "ke-toan" and detail["actions"][0]["before"]["state"] == "unmatched"
    undone = await recon.client.post(f"/schools/{SCHOOL}/actions/{split.json()['action_id']}/undo", headers=h)
    assert undone.json()["state"] == "unmatched" and undone.json()["allocated"] == 0
    assert await _events(recon, "PaymentReversed") == 2
    assert await recon.pool.fetchval("SELECT sum(allocated) FROM invoices") == 0
    refund = await recon.client.post(
        f"/schools/{SCHOOL}/credits/{credit_id}/actions", headers=h, json={"kind": "refund"}
    )
    assert refund.status_code == 422 and "bank reference" in refund.json()["detail"]
    refund = await recon.client.post(
        f"/schools/{SCHOOL}/credits/{credit_id}/actions",
        headers=h,
        json={"kind": "refund", "bank_reference": "FT26249000001"},
    )
    assert refund.json() | {"action_id": None} == {
        "action_id": None,
        "state": "resolved",
        "reason_code": "no_reference",
        "allocated": 0,
        "refunded": 1_250_000,
        "ignored": 0,
        "handled": 1_250_000,
        "replayed": False,
    }
    again = await recon.client.post(
        f"/schools/{SCHOOL}/credits/{credit_id}/actions", headers=h, json={"kind": "ignore", "reason": "x"}
    )
    assert again.status_code == 409


async def test_a_credit_that_arrives_before_its_invoice_is_placed_when_the_invoice_arrives(recon):
    early_ref = payref.make_reference(777_777)
    r = await recon.sepay(sepay_body(1, 450_000, f"{early_ref} T09 2026"))
    assert r.json()["state"] == "unmatched" and r.json()["reason_code"] == "reference_unknown"
    inv_total = 450_000
    recon._counter += 1
    from tuition.invoicing.v1.events_pb2 import InvoiceIssued

    iid = uuid.uuid4()
    await recon.publish(
        (
            InvoiceIssued(
                invoice_id=str(iid),
                school_id=SCHOOL,
                student_id=str(uuid.uuid4()),
                student_code="2299999999",
                student_name="Muộn",
                class_name="1A",
                period="2026-09",
                payment_reference=early_ref,
                total=inv_total,
                due_date="2026-09-15",
                family_key="f",
            ),
            str(iid),
        )
    )
    from devinfra.testing import wait_until

    async def placed() -> bool:
        return await recon.pool.fetchval("SELECT state FROM credits") == "matched"

    await wait_until(placed, what="the early credit placed")
    assert (await _allocations(recon)) == {uuid.UUID(r.json()["credit_id"]): [iid]}


async def test_cash_is_recorded_against_an_invoice_and_the_daily_close_balances_to_the_dong(recon):
    a, b, c, d = await recon.issue([500_000, 800_000, 300_000, 200_000])
    await recon.sepay(sepay_body(1, 500_000, f"{a.reference} T09 2026"))  # matched
    await recon.sepay(sepay_body(2, 300_000, f"{b.reference}"))  # partial
    over = (await recon.sepay(sepay_body(3, 350_000, f"{c.reference}"))).json()  # overpaid by 50,000
    stranger = (await recon.sepay(sepay_body(4, 123_000, "CHUYEN NHAM"))).json()  # unmatched
    await recon.sepay(sepay_body(5, 999_000, "TIEN QUY LOP"))  # unmatched, ignored below
    h = recon.headers()
    ignored = (await recon.client.get(f"/schools/{SCHOOL}/credits", params={"state": "unmatched"}, headers=h)).json()
    to_ignore = next(x for x in ignored if x["amount"] == 999_000)
    await recon.client.post(
        f"/schools/{SCHOOL}/credits/{to_ignore['credit_id']}/actions",
        headers=h,
        json={"kind": "ignore", "reason": "Quỹ lớp, không phải học phí"},
    )
    await recon.client.post(
        f"/schools/{SCHOOL}/credits/{over['credit_id']}/actions",
        headers=h,
        json={"kind": "refund", "bank_reference": "FT-REFUND-1"},
    )
    cash = await recon.client.post(
        f"/schools/{SCHOOL}/cash",
        headers=h,
        json={
            "invoice_id": str(d.invoice_id),
            "amount": 200_000,
            "payer_name": "Bà ngoại",
            "received_at": "2026-09-05T10:00:00+07:00",
        },
    )
    assert cash.status_code == 201 and cash.json()["state"] == "matched"
    assert await recon.pool.fetchval("SELECT channel FROM credits WHERE first_source = 'cash'") == "CASH"
    report = (await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": "2026-09-05"}, headers=h)).json()
    bank = next(acc for acc in report["accounts"] if acc["account_number"] == ACCOUNT)
    assert bank["received"] == 500_000 + 300_000 + 350_000 + 123_000 + 999_000
    assert (bank["matched"], bank["refunded"], bank["ignored"], bank["in_exceptions"]) == (
        500_000 + 300_000 + 300_000,
        50_000,
        999_000,
        123_000,
    )
    assert report["balanced"] and bank["difference"] == 0
    # A credit whose books are wrong shows up as a difference.
    await recon.pool.execute(
        "UPDATE credits SET state = 'matched' WHERE credit_id = $1", uuid.UUID(stranger["credit_id"])
    )
    broken = (await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": "2026-09-05"}, headers=h)).json()
    bank = next(acc for acc in broken["accounts"] if acc["account_number"] == ACCOUNT)
    assert not broken["balanced"] and bank["difference"] == 123_000


async def test_an_accountant_of_another_school_is_refused(recon):
    other = recon.headers(school="TH-KHAC")
    assert (await recon.client.get(f"/schools/{SCHOOL}/exceptions", headers=other)).status_code == 403


async def test_the_daily_close_shows_the_statements_closing_balance_beside_the_credits(recon):
    (a,) = await recon.issue([1_250_000])
    h = recon.headers()
    before = (await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": "2026-09-05"}, headers=h)).json()
    assert before["accounts"] == []
    r = await recon.statement("day.sta", mt940([(1_250_000, f"{a.reference} T09", "FT26248009999")]))
    assert r.status_code == 200, r.text
    close = (await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": "2026-09-05"}, headers=h)).json()
    bank = next(acc for acc in close["accounts"] if acc["account_number"] == ACCOUNT)
    assert (bank["received"], bank["statement_closing_balance"], close["balanced"]) == (1_250_000, 101_250_000, True)
    other_day = (await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": "2026-09-06"}, headers=h)).json()
    assert other_day["accounts"] == []


async def test_concurrent_webhooks_of_a_school_share_transactions_without_paying_an_invoice_twice(recon):
    # Month start: a school's webhooks arrive together and are placed in shared transactions (app/intake/queue.py).
    # Each must still see the ones placed before it: ten transfers for one invoice pay it once; the same
    # webhook retried at the same moment is one credit; and the others' invoices are each paid once.
    invoices = await recon.issue([400_000] * 6)
    first, others = invoices[0], invoices[1:]
    same_invoice = [recon.sepay(sepay_body(500 + i, 400_000, f"{first.reference} LAN {i}")) for i in range(10)]
    retried = [recon.sepay(sepay_body(600, 400_000, f"{others[0].reference} T09")) for _ in range(5)]
    each = [recon.sepay(sepay_body(700 + i, 400_000, f"{inv.reference} T09")) for i, inv in enumerate(others[1:])]
    answers = await asyncio.gather(*same_invoice, *retried, *each)
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    states = [a.json()["state"] for a in answers[:10]]
    assert states.count("matched") == 1 and states.count("duplicate") == 9
    assert len({a.json()["credit_id"] for a in answers[10:15]}) == 1
    allocated = {
        r["invoice_id"]: r["allocated"] for r in await recon.pool.fetch("SELECT invoice_id, allocated FROM invoices")
    }
    assert all(allocated[inv.invoice_id] == 400_000 for inv in invoices)
    assert await recon.pool.fetchval("SELECT count(*) FROM credits") == 10 + 1 + 4
    assert await _events(recon, "PaymentMatched") == 6


SAMPLES_HERE = Path(__file__).resolve().parents[1] / "samples"


def _vcb_xlsx(rows: list[tuple[str, str, int, str, str]]) -> bytes:
    """A VCB Digibiz "Sao kê tài khoản" export as the bank's site gives it: title and account lines above the
    header, a virtual-account column, and a total line at the bottom."""
    wb = Workbook()
    ws = wb.active
    ws.append(["NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM"])
    ws.append(["SAO KÊ TÀI KHOẢN"])
    ws.append(["Số tài khoản:", ACCOUNT, "Loại tiền:", "VND"])
    ws.append(["Từ ngày: 05/09/2026", "Đến ngày: 05/09/2026"])
    ws.append([])
    ws.append(["STT", "Ngày giao dịch", "Số tham chiếu", "Số tiền ghi nợ", "Số tiền ghi có", "Mô tả", "Tài khoản ảo"])
    for n, (when, ref, credit, memo, virtual) in enumerate(rows, start=1):
        ws.append([n, when, ref, "", credit, memo, virtual])
    ws.append(["", "", "Tổng cộng", 0, sum(r[2] for r in rows), "", ""])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def test_statements_as_banks_send_them_batch_entries_virtual_accounts_and_lettered_codes(recon):
    c, d = await recon.issue([850_000, 850_000])
    (b,) = await recon.issue([1_500_000], virtual_account="96386900123401")
    (a,) = await recon.issue([1_250_000], code="NT260004")
    (e,) = await recon.issue([640_000], virtual_account="96386900123405")
    text = Template((SAMPLES_HERE / "camt053-day.xml").read_text()).substitute(
        C_REF=c.reference, D_REF=d.reference, B_VA="96386900123401"
    )
    r = await recon.statement("sao-ke.xml", text.encode())
    assert r.status_code == 200, r.text
    # The batch is two credits, each with its memo and reference; the fee and the pending credit are not credits.
    assert r.json()["new_credits"] == 3
    memos = {
        row["identifier"]: row["memo"]
        for row in await recon.pool.fetch(
            "SELECT i.identifier, c.memo FROM credit_identifiers i JOIN credits c USING (credit_id) "
            "WHERE i.identifier LIKE 'FT%'"
        )
    }
    assert c.reference in memos["FT26248100001"] and d.reference in memos["FT26248100002"]
    xlsx = _vcb_xlsx(
        [
            ("05/09/2026 08:12:45", "FT26248100010", 1_250_000, "IBFT nop hoc phi nt260004 nguyen van an", ""),
            ("05/09/2026 09:30:00", "FT26248100011", 640_000, "CHUYEN TIEN", "96386900123405"),
        ]
    )
    r = await recon.statement("sao-ke.xlsx", xlsx, layout="vcb_virtual")
    assert r.status_code == 200, r.text
    assert r.json()["new_credits"] == 2  # the total line is not a credit
    placed = await _allocations(recon)
    credit_of = {
        row["identifier"]: row["credit_id"]
        for row in await recon.pool.fetch("SELECT identifier, credit_id FROM credit_identifiers")
    }
    assert placed[credit_of["FT26248100001"]] == [c.invoice_id] and placed[credit_of["FT26248100002"]] == [d.invoice_id]
    assert placed[credit_of["FT26248100003"]] == [b.invoice_id]  # by the virtual account in the statement
    assert placed[credit_of["FT26248100010"]] == [a.invoice_id]  # by the lettered student code in the memo
    assert placed[credit_of["FT26248100011"]] == [e.invoice_id]  # by the virtual account column
    close = await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": "2026-09-05"}, headers=recon.headers())
    bank = next(acc for acc in close.json()["accounts"] if acc["account_number"] == ACCOUNT)
    assert bank["statement_closing_balance"] == 103_189_000
