"""Who may register a school and change its collection account: its own district only, and audited."""

from __future__ import annotations

import pytest

from .conftest import DISTRICT, SCHOOL, register_school

pytestmark = pytest.mark.integration


def _school(account: str, district: str = DISTRICT) -> dict[str, str]:
    return {
        "name": "Trường Mầm non Hoa Phượng",
        "district_code": district,
        "bank_bin": "970436",
        "account_number": account,
        "account_name": "TRUONG MN HOA PHUONG",
    }


async def _school_events(invoicing) -> int:
    return await invoicing.runtime.db().fetchval(
        "SELECT count(*) FROM outbox WHERE event_type = 'tuition.invoicing.v1.SchoolRegistered'"
    )


async def test_another_district_cannot_overwrite_a_school_or_its_account(invoicing):
    await register_school(invoicing)
    intruder = invoicing.as_("district", district="HN-BA-DINH")

    r = await invoicing.client.put(f"/schools/{SCHOOL}", headers=intruder, json=_school("9999999999", "HN-BA-DINH"))

    assert r.status_code == 403, r.text
    assert "thuộc phòng khác" in r.json()["detail"]
    school = (await invoicing.client.get(f"/schools/{SCHOOL}", headers=invoicing.as_("service"))).json()
    assert (school["district_code"], school["account_number"]) == (DISTRICT, "0011001234567")
    assert await _school_events(invoicing) == 1


async def test_a_district_token_cannot_register_a_school_of_another_district(invoicing):
    own = invoicing.as_("district", district=DISTRICT)

    r = await invoicing.client.put("/schools/TH-MOI", headers=own, json=_school("0011001234567", "HN-BA-DINH"))

    assert r.status_code == 403
    assert await invoicing.runtime.db().fetchval("SELECT count(*) FROM schools") == 0


async def test_a_district_cannot_take_another_districts_school_id_first(invoicing):
    squatter = invoicing.as_("district", district="HN-BA-DINH")
    for school_id in ("MN-HOA-PHUONG", f"{DISTRICT}.MN-HOA-PHUONG", "HN-BA.MN-X"):
        r = await invoicing.client.put(
            f"/schools/{school_id}", headers=squatter, json=_school("0011001234567", "HN-BA-DINH")
        )
        assert r.status_code == 403 and "mã trường được đặt theo phòng" in r.json()["detail"], r.text
    assert await invoicing.runtime.db().fetchval("SELECT count(*) FROM schools") == 0
    own = invoicing.as_("district", district=DISTRICT)
    mine = await invoicing.client.put(f"/schools/{DISTRICT}.MN-HOA-PHUONG", headers=own, json=_school("0011001234567"))
    assert mine.status_code == 200, mine.text


async def test_the_own_district_changes_the_account_and_the_change_is_audited(invoicing):
    own = invoicing.as_("district", district=DISTRICT)
    await register_school(invoicing)  # by the operator, under the id the province gave it

    r = await invoicing.client.put(f"/schools/{SCHOOL}", headers=own, json=_school("0011009999999"))

    assert r.status_code == 200 and r.json()["account_number"] == "0011009999999"
    changes = (await invoicing.client.get(f"/schools/{SCHOOL}/changes", headers=own)).json()
    assert len(changes) == 1
    (change,) = changes
    assert change["changed_by"] == "test-district"
    assert (change["before"]["account_number"], change["after"]["account_number"]) == ("0011001234567", "0011009999999")
    # The same registration again changes nothing and records nothing.
    assert (await invoicing.client.put(f"/schools/{SCHOOL}", headers=own, json=_school("0011009999999"))).is_success
    assert len((await invoicing.client.get(f"/schools/{SCHOOL}/changes", headers=own)).json()) == 1
    assert await _school_events(invoicing) == 2


async def test_an_accountant_sees_national_policies_and_its_own_schools_not_anothers(invoicing):
    await register_school(invoicing)
    await register_school(invoicing, school="TH-KHAC")
    rule = {"category": "HO_NGHEO", "fee_category": "meals", "kind": "percent", "value": 50}
    for school in (SCHOOL, "TH-KHAC"):
        r = await invoicing.client.post(
            f"/schools/{school}/policies",
            headers=invoicing.as_("accountant", school=school),
            json=rule | {"effective_from": "2026-09-01", "legal_basis": f"Nghị quyết HĐND ({school})"},
        )
        assert r.status_code == 201, r.text

    async def schools_seen(headers: dict[str, str]) -> set[str | None]:
        policies = (await invoicing.client.get("/policies", headers=headers)).json()["policies"]
        return {p["school_id"] for p in policies}

    assert await schools_seen(invoicing.as_("accountant")) == {None, SCHOOL}
    assert await schools_seen(invoicing.as_("accountant", school="TH-KHAC")) == {None, "TH-KHAC"}
    assert await schools_seen(invoicing.as_("district", district=DISTRICT)) == {None, SCHOOL, "TH-KHAC"}
    assert await schools_seen(invoicing.as_("district", district="HN-BA-DINH")) == {None}
    assert await schools_seen(invoicing.as_("service")) == {None, SCHOOL, "TH-KHAC"}
