"""Statements crafted to cost CPU or memory are refused quickly and clearly; nothing is stored."""

from __future__ import annotations

import pytest

from devinfra.testing_files import crafted_xlsx, zip_bomb_xlsx

pytestmark = pytest.mark.integration

HEADER = ["Ngày giao dịch", "Số tham chiếu", "Số tiền ghi có", "Mô tả"]
ROW = ["05/09/2026 14:02:37", "FT1", "500000", "HP TEST"]


async def _nothing_stored(recon) -> None:
    assert await recon.pool.fetchval("SELECT count(*) FROM credits") == 0
    assert await recon.pool.fetchval("SELECT count(*) FROM statements") == 0


async def test_an_xlsx_that_claims_a_million_rows_is_refused_by_its_row_limit(recon):
    data = crafted_xlsx([HEADER, ROW])
    assert len(data) < 20_000

    r = await recon.statement("sao-ke.xlsx", data, layout="vcb")

    assert r.status_code == 422 and "hơn 200000 dòng" in r.json()["detail"], r.text
    await _nothing_stored(recon)


async def test_an_xlsx_that_inflates_to_hundreds_of_megabytes_is_refused_unread(recon):
    r = await recon.statement("sao-ke.xlsx", zip_bomb_xlsx([HEADER, ROW]), layout="vcb")
    assert r.status_code == 422 and "giải nén ra" in r.json()["detail"], r.text
    await _nothing_stored(recon)


@pytest.mark.parametrize("amount", ["1E+400000", "9" * 30, "10000000000000000000000"])
async def test_an_absurd_amount_in_a_statement_is_refused_by_name(recon, amount):
    csv_text = "\n".join([",".join(HEADER), ",".join([*ROW[:2], amount, *ROW[3:]])])
    r = await recon.statement("sao-ke.csv", csv_text.encode(), layout="vcb")
    assert r.status_code == 422 and "dòng 2" in r.json()["detail"], r.text
    await _nothing_stored(recon)


async def test_a_csv_row_shorter_than_its_header_reads_its_missing_cells_as_empty(recon):
    # The memo column is missing on line 2 (was an IndexError: a 500); line 3 holds no credit.
    csv_text = "\n".join([",".join(HEADER), "05/09/2026 14:02:37,FT1,500000", "x"])
    r = await recon.statement("sao-ke.csv", csv_text.encode(), layout="vcb")
    assert r.status_code == 200, r.text
    assert (r.json()["credits"], r.json()["new_credits"]) == (1, 1)
    assert await recon.pool.fetchval("SELECT memo FROM credits") == ""


@pytest.mark.parametrize("amount", [10**19, 2**64, 1.5, 1e12])
async def test_cash_beyond_the_bound_or_as_a_float_is_refused(recon, amount):
    [inv] = await recon.issue([500_000])
    r = await recon.client.post(
        "/schools/MN-HOA-PHUONG/cash",
        headers=recon.headers(),
        json={"invoice_id": str(inv.invoice_id), "amount": amount},
    )
    assert r.status_code == 422, r.text
    await _nothing_stored(recon)


async def test_cash_sent_twice_with_one_idempotency_key_is_recorded_once(recon):
    [inv] = await recon.issue([500_000])
    body = {"invoice_id": str(inv.invoice_id), "amount": 500_000, "idempotency_key": "quay-thu-0001"}
    first = await recon.client.post("/schools/MN-HOA-PHUONG/cash", headers=recon.headers(), json=body)
    again = await recon.client.post("/schools/MN-HOA-PHUONG/cash", headers=recon.headers(), json=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert (first.json()["new"], again.json()["new"]) == (True, False)
    assert await recon.pool.fetchval("SELECT count(*) FROM credits") == 1
