"""The fee law as of 2025-2026 (Decree 238/2025/NĐ-CP, Resolution 217/2025/QH15) on the decree's own cases,
with the national rules exactly as the migrations seed them."""

from __future__ import annotations

import dataclasses
import random

import pytest

from simulator.people import pupil, roster_csv

from .conftest import SCHOOL, register_school

pytestmark = pytest.mark.integration

PRIVATE = "TH-NGOI-SAO"
TUITION_PUBLIC, TUITION_PRIVATE, MEAL, DAYS = 155_000, 3_000_000, 30_000, 20


async def _roster(inv, school: str, pupils: list[tuple[str, str]]) -> None:
    """pupils: (code, policy text)."""
    rng = random.Random(238)
    rows = [(dataclasses.replace(pupil(rng, code, 2018), policy=policy), "Khối 3", "3A1") for code, policy in pupils]
    r = await inv.client.post(
        f"/schools/{school}/roster",
        params={"mode": "apply"},
        headers=inv.as_("accountant", school=school),
        files={"file": ("roster.csv", roster_csv(rows), "text/csv")},
    )
    assert r.status_code == 200 and r.json()["applied"], r.text


async def _item(inv, school: str, code: str, body: dict) -> None:
    r = await inv.client.put(
        f"/schools/{school}/fee-items/{code}", headers=inv.as_("accountant", school=school), json=body
    )
    assert r.status_code == 204, r.text


async def _rule(inv, school: str, body: dict) -> None:
    r = await inv.client.post(f"/schools/{school}/policies", headers=inv.as_("accountant", school=school), json=body)
    assert r.status_code == 201, r.text


async def _lines(inv, school: str, period: str) -> dict[str, dict[str, dict]]:
    """Per pupil code, per fee item: the invoice line of the period."""
    h = inv.as_("accountant", school=school)
    r = await inv.client.post(f"/schools/{school}/periods/{period}/invoices", headers=h, json={})
    assert r.status_code == 200, r.text
    out = {}
    for i in (await inv.client.get(f"/schools/{school}/invoices", params={"period": period}, headers=h)).json():
        detail = (await inv.client.get(f"/schools/{school}/invoices/{i['invoice_id']}", headers=h)).json()
        out[i["student_code"]] = {line["item_code"]: line for line in detail["lines"]}
    return out


async def test_decree_238_on_its_own_cases(invoicing):
    inv = invoicing
    await register_school(inv)
    await register_school(inv, PRIVATE, ownership="private")
    await _roster(inv, SCHOOL, [("TH0001", ""), ("TH0002", "Con hộ cận nghèo")])
    await _roster(inv, PRIVATE, [("TS0001", ""), ("TS0002", "Con hộ nghèo")])
    tuition = {"name": "Học phí", "category": "tuition", "cadence": "monthly"}
    await _item(inv, SCHOOL, "HOCPHI", tuition | {"rates": [{"amount": TUITION_PUBLIC}]})
    meals = {"name": "Tiền ăn bán trú", "category": "meals", "cadence": "monthly", "per_day": True}
    await _item(inv, SCHOOL, "BANTRU", meals | {"rates": [{"amount": MEAL}]})
    await _item(inv, PRIVATE, "HOCPHI", tuition | {"rates": [{"amount": TUITION_PRIVATE}]})
    for period in ("2025-05", "2026-09", "2026-10"):
        r = await inv.client.put(
            f"/schools/{SCHOOL}/calendar/{period}", headers=inv.as_("accountant"), json={"school_days": DAYS}
        )
        assert r.status_code == 204

    # 1. A public primary pupil: tuition exempt from 2025-2026 for every pupil (no flag on the fee item).
    before = await _lines(inv, SCHOOL, "2025-05")  # school year 2024-2025: the law before
    assert before["TH0001"]["HOCPHI"]["amount"] == TUITION_PUBLIC
    september = await _lines(inv, SCHOOL, "2026-09")
    line = september["TH0001"]["HOCPHI"]
    assert (line["reduction"], line["amount"], line["policy_category"]) == (TUITION_PUBLIC, 0, "STATE_FUNDED")
    # 3. A near-poor child's meals: Decree 238 is about tuition; no national rule reduces meals.
    assert september["TH0002"]["BANTRU"]["amount"] == MEAL * DAYS == 600_000
    assert september["TH0002"]["HOCPHI"]["amount"] == 0
    # ... the school's own dated rule does: the state's meal support of 160,000 a month (a cap, not a share).
    await _rule(
        inv,
        SCHOOL,
        {
            "category": "HO_CAN_NGHEO",
            "fee_category": "meals",
            "kind": "fixed",
            "value": 160_000,
            "effective_from": "2026-10-01",
            "legal_basis": "Quyết định của UBND quận về hỗ trợ tiền ăn",
            "article": "NĐ 105/2020/NĐ-CP, Điều 7",
        },
    )
    october = await _lines(inv, SCHOOL, "2026-10")
    assert (october["TH0002"]["BANTRU"]["reduction"], october["TH0002"]["BANTRU"]["amount"]) == (160_000, 440_000)
    assert october["TH0001"]["BANTRU"]["amount"] == 600_000

    # 2. A private-school pupil: the state supports tuition up to the level the provincial council sets,
    # never more than the school's fee; 4. the council raises the level from January: a new dated rule.
    support = {
        "category": "STATE_SUPPORT",
        "fee_category": "tuition",
        "kind": "fixed",
        "everyone": True,
        "ownership": "private",
        "article": "NĐ 238/2025/NĐ-CP, Điều 17 (hỗ trợ học phí cơ sở dân lập, tư thục)",
    }
    await _rule(
        inv, PRIVATE, support | {"value": 1_500_000, "effective_from": "2025-09-01", "legal_basis": "NQ HĐND 2025"}
    )
    await _rule(
        inv, PRIVATE, support | {"value": 1_800_000, "effective_from": "2026-01-01", "legal_basis": "NQ HĐND 2026"}
    )
    december, january = await _lines(inv, PRIVATE, "2025-12"), await _lines(inv, PRIVATE, "2026-01")
    assert (december["TS0001"]["HOCPHI"]["reduction"], december["TS0001"]["HOCPHI"]["amount"]) == (1_500_000, 1_500_000)
    assert (january["TS0001"]["HOCPHI"]["reduction"], january["TS0001"]["HOCPHI"]["amount"]) == (1_800_000, 1_200_000)
    assert january["TS0001"]["HOCPHI"]["policy_category"] == "STATE_SUPPORT"
    # A poor household's child at the private school: exempt (Điều 15), more than the support.
    assert (january["TS0002"]["HOCPHI"]["amount"], january["TS0002"]["HOCPHI"]["policy_category"]) == (0, "HO_NGHEO")
    # The public school's universal exemption is not the private school's.
    assert all(
        line["policy_category"] != "STATE_FUNDED" for pupil_lines in january.values() for line in pupil_lines.values()
    )

    # Every rule cites its article; the earlier support rule is still there, unchanged.
    rules = (await inv.client.get("/policies", headers=inv.as_("service"))).json()["policies"]
    national = [r for r in rules if r["school_id"] is None]
    assert all(r["article"].startswith("NĐ 238/2025/NĐ-CP, Điều 1") for r in national), national
    levels = sorted(
        (r["effective_from"], r["value"], r["effective_to"]) for r in rules if r["category"] == "STATE_SUPPORT"
    )
    assert levels == [("2025-09-01", 1_500_000, None), ("2026-01-01", 1_800_000, None)]


async def test_a_rule_for_every_pupil_is_not_a_category_a_roster_can_give_a_pupil(invoicing):
    await register_school(invoicing)
    rng = random.Random(1)
    for text in ("STATE_SUPPORT", "STATE_FUNDED"):
        rows = [(dataclasses.replace(pupil(rng, "TH0009", 2018), policy=text), "Khối 3", "3A1")]
        r = await invoicing.client.post(
            f"/schools/{SCHOOL}/roster",
            params={"mode": "preview"},
            headers=invoicing.as_("accountant"),
            files={"file": ("roster.csv", roster_csv(rows), "text/csv")},
        )
        expected = f"không có đối tượng miễn giảm {text!r} trong danh mục của trường"
        assert [e["message"] for e in r.json()["errors"]] == [expected]
