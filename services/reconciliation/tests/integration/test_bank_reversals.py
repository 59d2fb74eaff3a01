"""A bank's reversal in its statement takes back the credit it names, through HTTP, on the real database
(issue 28 §1): never a credit of its own, never applied twice, and the daily close cannot balance over one
that no credit answers for."""

from __future__ import annotations

import pytest

from .conftest import ACCOUNT, SCHOOL, sepay_body

pytestmark = pytest.mark.integration


def _mt940(lines: list[str], *, opening: int, closing: int, tag: str = "1") -> bytes:
    return "\n".join(
        [
            f":20:STMT260905-{tag}",
            f":25:970436/{ACCOUNT}",
            ":28C:1/1",
            f":60F:C260905VND{opening},",
            *lines,
            f":62F:C260905VND{closing},",
            "",
        ]
    ).encode()


def _line(mark: str, amount: int, ref: str, memo: str) -> str:
    return f":61:2609050905{mark}{amount},NTRF{ref}//S{ref}\n:86:{memo}"


async def _close(recon) -> dict:
    r = await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": "2026-09-05"}, headers=recon.headers())
    assert r.status_code == 200, r.text
    return r.json()


async def _reversed_payments(recon) -> int:
    return await recon.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE event_type = 'tuition.reconciliation.v1.PaymentReversed'"
    )


async def test_a_credit_and_its_reversal_in_one_statement_leave_the_invoice_owing_and_the_day_balanced(recon):
    [inv] = await recon.issue([1_250_000])
    paid = await recon.sepay(sepay_body(1, 1_250_000, f"{inv.reference} HOC PHI", ref="FT26248001937"))
    assert paid.json()["state"] == "matched"
    day = _mt940(
        [
            _line("C", 1_250_000, "FT26248001937", f"{inv.reference} HOC PHI"),
            _line("RC", 1_250_000, "FT26248001937", "HOAN TRA GD LOI"),
        ],
        opening=100_000_000,
        closing=100_000_000,
    )
    r = await recon.statement("day.sta", day)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["new_credits"], body["reversals"]) == (0, {"applied": 1, "open": 0, "already_known": 0})
    credit = await recon.pool.fetchrow("SELECT * FROM credits")
    assert (credit["state"], credit["reason_code"], credit["allocated"]) == ("withdrawn", "reversed_by_bank", 0)
    assert await recon.pool.fetchval("SELECT count(*) FROM allocations WHERE reversed_at IS NULL") == 0
    assert await _reversed_payments(recon) == 1
    close = await _close(recon)
    assert close["balanced"] and close["open_reversals"] == 0
    # The bank's reversal is audited and cannot be undone by the accountant.
    action = await recon.pool.fetchrow("SELECT action_id, kind FROM credit_actions")
    assert action["kind"] == "bank_reversal"
    undo = await recon.client.post(f"/schools/{SCHOOL}/actions/{action['action_id']}/undo", headers=recon.headers())
    assert undo.status_code == 409
    # The same reversal in the day's second file is known, not applied again.
    again = await recon.statement("day-2.sta", day.replace(b":20:STMT260905-1", b":20:STMT260905-2"))
    assert again.json()["reversals"] == {"applied": 0, "open": 0, "already_known": 1}
    assert await _reversed_payments(recon) == 1


async def test_a_reversal_no_credit_answers_for_waits_in_the_queue_and_the_close_says_so(recon):
    [inv] = await recon.issue([800_000])
    await recon.sepay(sepay_body(1, 800_000, f"{inv.reference}"))
    await recon.sepay(sepay_body(2, 800_000, "NOP TIEN KHONG GHI MA"))
    # A reversal of 800,000 whose reference is unknown: two credits of that amount that day, so none is chosen.
    day = _mt940(
        [
            _line("C", 800_000, "MBVCB.3278907001", inv.reference),
            _line("C", 800_000, "MBVCB.3278907002", "NOP TIEN KHONG GHI MA"),
            _line("RC", 800_000, "FT9999", "HOAN TRA"),
        ],
        opening=5_000_000,
        closing=5_800_000,
    )
    r = await recon.statement("day.sta", day)
    assert r.json()["reversals"] == {"applied": 0, "open": 1, "already_known": 0}, r.text
    assert await _reversed_payments(recon) == 0
    close = await _close(recon)
    assert close["open_reversals"] == 1 and not close["balanced"]
    [open_] = (await recon.client.get(f"/schools/{SCHOOL}/reversals?state=open", headers=recon.headers())).json()
    assert (open_["amount"], open_["line"]) == (800_000, "MT940 dòng 9 (:61:)")
    paid_credit = await recon.pool.fetchval("SELECT credit_id FROM credits WHERE allocated > 0")
    settle = await recon.client.post(
        f"/schools/{SCHOOL}/reversals/{open_['reversal_id']}",
        json={"credit_id": str(paid_credit), "note": "ngân hàng xác nhận hoàn giao dịch đầu"},
        headers=recon.headers(),
    )
    assert settle.status_code == 200 and settle.json()["state"] == "applied", settle.text
    assert await _reversed_payments(recon) == 1
    assert (await _close(recon))["balanced"]
    twice = await recon.client.post(
        f"/schools/{SCHOOL}/reversals/{open_['reversal_id']}", json={"note": "x"}, headers=recon.headers()
    )
    assert twice.status_code == 409


async def test_a_zero_notice_line_is_skipped_with_a_note_in_the_upload_answer(recon):
    [inv] = await recon.issue([500_000])
    day = _mt940(
        [_line("C", 0, "NOTICE", "THONG BAO"), _line("C", 500_000, "FT5", inv.reference)],
        opening=0,
        closing=500_000,
    )
    r = await recon.statement("day.sta", day)
    assert r.status_code == 200, r.text
    assert r.json()["new_credits"] == 1
    assert r.json()["notes"] == ["MT940 dòng 5 (:61:): số tiền 0 (dòng thông báo), bỏ qua"]


async def test_two_equal_payments_of_one_camt_batch_are_two_payments(recon):
    a, b = await recon.issue([500_000, 500_000])

    def tx(memo: str) -> str:
        # Each transaction repeats the entry's AcctSvcrRef as its own (as some banks write batches).
        refs = "<Refs><AcctSvcrRef>SVC1</AcctSvcrRef></Refs>"
        return f'<TxDtls>{refs}<Amt Ccy="VND">500000</Amt><RmtInf><Ustrd>{memo}</Ustrd></RmtInf></TxDtls>'

    data = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>M</MsgId>
</GrpHdr><Ntfctn><Id>N</Id><Acct><Id><Othr><Id>{ACCOUNT}</Id></Othr></Id></Acct>
<Ntry><NtryRef>BATCH1</NtryRef><Amt Ccy="VND">1000000</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>2026-09-05</Dt></BookgDt><AcctSvcrRef>SVC1</AcctSvcrRef>
<NtryDtls>{tx(a.reference)}{tx(b.reference)}</NtryDtls></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"""
    r = await recon.statement("batch.xml", data.encode())
    assert r.status_code == 200, r.text
    assert r.json()["new_credits"] == 2
    paid = await recon.pool.fetch("SELECT invoice_id FROM allocations WHERE reversed_at IS NULL")
    assert {p["invoice_id"] for p in paid} == {a.invoice_id, b.invoice_id}


async def test_an_accountants_match_on_a_credit_the_bank_took_back_cannot_be_undone_into_money_again(recon):
    [inv] = await recon.issue([600_000])
    credit = (await recon.sepay(sepay_body(1, 600_000, "NOP TIEN", ref="FT600"))).json()["credit_id"]
    match = await recon.client.post(
        f"/schools/{SCHOOL}/credits/{credit}/actions",
        json={"kind": "match", "allocations": [{"invoice_id": str(inv.invoice_id)}]},
        headers=recon.headers(),
    )
    assert match.status_code == 200, match.text
    day = _mt940(
        [_line("C", 600_000, "FT600", "NOP TIEN"), _line("RC", 600_000, "FT600", "HOAN TRA")],
        opening=0,
        closing=0,
    )
    assert (await recon.statement("day.sta", day)).json()["reversals"]["applied"] == 1
    undo = await recon.client.post(
        f"/schools/{SCHOOL}/actions/{match.json()['action_id']}/undo", headers=recon.headers()
    )
    assert undo.status_code == 409 and "Ngân hàng đã thu hồi" in undo.json()["detail"], undo.text
    row = await recon.pool.fetchrow("SELECT state, allocated, ignored FROM credits")
    assert (row["state"], row["allocated"], row["ignored"]) == ("withdrawn", 0, 600_000)
