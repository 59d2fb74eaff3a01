"""Roster uploads crafted to cost CPU or memory are refused quickly and clearly; nothing is stored."""

from __future__ import annotations

import pytest

from devinfra.testing_files import crafted_xlsx, zip_bomb_xlsx

from .conftest import import_roster, register_school

pytestmark = pytest.mark.integration

HEADER = ["Mã học sinh", "Họ và tên", "Ngày sinh", "Khối", "Lớp", "Mã định danh", "Họ tên cha/mẹ", "Số điện thoại"]


async def test_a_roster_xlsx_that_claims_a_million_rows_is_refused_by_its_row_limit(invoicing):
    await register_school(invoicing)
    r = await import_roster(invoicing, crafted_xlsx([HEADER]), mode="apply", filename="ds.xlsx")
    assert r.status_code == 422 and "hơn 20000 dòng" in r.json()["detail"], r.text
    assert await invoicing.runtime.db().fetchval("SELECT count(*) FROM students") == 0


async def test_a_roster_xlsx_that_inflates_to_hundreds_of_megabytes_is_refused_unread(invoicing):
    await register_school(invoicing)
    r = await import_roster(invoicing, zip_bomb_xlsx([HEADER]), mode="preview", filename="ds.xlsx")
    assert r.status_code == 422 and "giải nén ra" in r.json()["detail"], r.text


async def test_a_roster_over_the_upload_limit_is_refused_before_it_is_read(invoicing):
    await register_school(invoicing)
    r = await import_roster(invoicing, b"x" * (9 * 1024 * 1024), mode="preview")
    assert r.status_code == 413


@pytest.mark.parametrize("amount", [10**20, 2**63, 5.5, 1e15, "500000"])
async def test_a_fee_rate_beyond_the_bound_or_not_an_integer_is_refused(invoicing, amount):
    await register_school(invoicing)
    body = {"name": "Tiền ăn", "category": "meals", "cadence": "monthly", "rates": [{"amount": amount}]}
    r = await invoicing.client.put(
        "/schools/MN-HOA-PHUONG/fee-items/AN", headers=invoicing.as_("accountant"), json=body
    )
    assert r.status_code == 422, r.text
    assert await invoicing.runtime.db().fetchval("SELECT count(*) FROM fee_items") == 0


async def test_a_negative_page_or_a_nul_character_is_a_clear_refusal_not_a_500(invoicing):
    # Found by schemathesis: both reached PostgreSQL and came back as 500s.
    await register_school(invoicing)
    acc = invoicing.as_("accountant")
    assert (
        await invoicing.client.get("/schools/MN-HOA-PHUONG/invoices", params={"limit": -1}, headers=acc)
    ).status_code == 422
    assert (
        await invoicing.client.get("/schools/MN-HOA-PHUONG/invoices", params={"offset": -1}, headers=acc)
    ).status_code == 422
    body = {"name": "Tiền\x00ăn", "category": "meals", "cadence": "monthly", "rates": [{"amount": 1000}]}
    r = await invoicing.client.put("/schools/MN-HOA-PHUONG/fee-items/AN", headers=acc, json=body)
    assert r.status_code == 422 and "không lưu được" in r.json()["detail"] and r.json()["code"] == "unstorable"
    assert await invoicing.runtime.db().fetchval("SELECT count(*) FROM fee_items") == 0
