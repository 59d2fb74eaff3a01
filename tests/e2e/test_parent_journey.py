"""A parent's whole journey on a 360-px phone (Debian's Chromium), against invoicing, reconciliation and receipts
served over HTTP on the real PostgreSQL and Kafka, with Zalo's stand-in (devinfra/messaging_standins.py): the
invoice notices reach the guardian by Zalo; the parent signs in on `/phu-huynh` with the phone on the roster
and the code that came by Zalo, sees two children at two schools, opens one child's payment page, saves the QR
image, pays from the bank (the aggregator's webhook), sees the receipt appear without reloading, and finds it
on the family's page, with the other child still owing; agrees to the school's messages on the way; axe-core
checks every page."""

from __future__ import annotations

import asyncio
import io
import random
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image

from devinfra.messaging_standins import ZaloStandIn
from devinfra.testing import free_ports, service_app, serving, wait_until
from shared.auth import mint_token
from shared.formatting import VN
from shared.settings import DEV_JWT_SECRET
from simulator.people import pupil, roster_csv
from tests.e2e.accessibility import assert_accessible

pytestmark = pytest.mark.integration
TEMPLATES = {"invoice": "500101", "payment": "500102", "reminder": "500103", "code": "500104"}
# Two schools of one district, each with its account and its aggregator's key; one family with a child at each.
SCHOOLS = {
    "THCS-NGHIA-TAN": ("Trường THCS Nghĩa Tân", "0011009876543", "6", "6A", 1_250_000),
    "MN-HOA-SEN": ("Trường Mầm non Hoa Sen", "0011005551234", "Mẫu giáo nhỡ", "MG-B", 850_000),
}
SEPAY_KEY = "parent-journey-sepay-key"


def _as(role: str, school: str | None = None) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(DEV_JWT_SECRET, role=role, school=school, subject=f"t-{role}")}


async def _two_schools_one_family(http: httpx.AsyncClient, base: dict[str, str]) -> tuple[str, list[Any]]:
    """Each school registered with its bank account and webhook key, its pupil, its fee and the month issued."""
    rng = random.Random(3101)
    older = pupil(rng, "HS310101", 2014)
    younger = replace(pupil(rng, "MN310102", 2021), guardian=older.guardian, phone=older.phone)
    for (school, (name, account, grade, cls, fee)), kid in zip(SCHOOLS.items(), (older, younger), strict=True):
        body = {
            "name": name,
            "district_code": "HN-CAU-GIAY",
            "bank_bin": "970436",
            "account_number": account,
            "account_name": name.upper(),
        }
        r = await http.put(f"{base['invoicing']}/schools/{school}", headers=_as("service"), json=body)
        assert r.status_code == 200, r.text
        staff = _as("accountant", school)
        hook = {"scheme": "apikey", "secret": SEPAY_KEY}
        r = await http.put(f"{base['reconciliation']}/schools/{school}/webhooks/sepay", headers=staff, json=hook)
        assert r.status_code == 204, r.text
        r = await http.post(
            f"{base['invoicing']}/schools/{school}/roster", params={"mode": "apply"}, headers=staff,
            files={"file": ("roster.csv", roster_csv([(kid, grade, cls)]), "text/csv")},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        item = {"name": "Học phí và bán trú", "category": "services", "cadence": "monthly", "rates": [{"amount": fee}]}
        r = await http.put(f"{base['invoicing']}/schools/{school}/fee-items/HP", headers=staff, json=item)
        assert r.status_code == 204, r.text
        r = await http.post(
            f"{base['invoicing']}/schools/{school}/periods/2026-12/invoices", headers=staff,
            json={"due_date": "2026-12-15"},
        )  # fmt: skip
        assert r.status_code == 200 and r.json()["created"] == 1, r.text
    return older.phone, [older, younger]


async def _zalo_code(zalo: ZaloStandIn) -> str:
    async def arrived() -> bool:
        return any(d.body["template_id"] == TEMPLATES["code"] for d in zalo.delivered)

    await wait_until(arrived, timeout=30, what="the sign-in code on Zalo")
    [sent] = [d for d in zalo.delivered if d.body["template_id"] == TEMPLATES["code"]]
    return str(sent.body["template_data"]["otp"])


async def _bank_pays(http: httpx.AsyncClient, base: str, amount: int, memo: str) -> None:
    """The school's bank credits the transfer; the aggregator (SePay) tells reconciliation."""
    school, (_, account, *_) = next(iter(SCHOOLS.items()))
    credit = {
        "id": 310101,
        "gateway": "Vietcombank",
        "transactionDate": datetime.now(VN).strftime("%Y-%m-%d %H:%M:%S"),
        "accountNumber": account,
        "code": None,
        "content": f"MBVCB.1234567.{memo}.CT tu 0912000111 NGUYEN VAN A",
        "transferType": "in",
        "transferAmount": amount,
        "accumulated": 0,
        "subAccount": None,
        "referenceCode": "FT26336310101",
        "description": "",
    }
    r = await http.post(
        f"{base}/webhooks/sepay/{school}", json=credit, headers={"Authorization": f"Apikey {SEPAY_KEY}"}
    )
    assert r.status_code == 200 and r.json()["state"] == "matched", r.text


async def test_a_parent_signs_in_by_code_sees_two_children_at_two_schools_pays_one_and_the_receipt_appears(
    make_database, infra_endpoints, topic_prefix
):
    zalo = ZaloStandIn(app_id="3101", secret_key="zalo-journey", refresh_token="r-1", templates=set(TEMPLATES.values()))
    ports = free_ports(4)
    names = ("invoicing", "reconciliation", "receipts")
    base = {s: f"http://127.0.0.1:{p}" for s, p in zip(names, ports[:3], strict=True)}
    channels = zalo.settings(f"http://127.0.0.1:{ports[3]}", TEMPLATES) | {"messages_quiet_hours": ""}
    apps = {
        "invoicing": await service_app(
            "invoicing",
            make_database,
            infra_endpoints,
            topic_prefix,
            public_url=base["invoicing"],
            reconciliation_url=base["reconciliation"],
            receipts_url=base["receipts"],
            **channels,
        ),
        "reconciliation": await service_app("reconciliation", make_database, infra_endpoints, topic_prefix),
        "receipts": await service_app(
            "receipts", make_database, infra_endpoints, topic_prefix, public_url=base["receipts"]
        ),
    }
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(serving(zalo.app(), ports[3]))
        for app, port in zip(apps.values(), ports[:3], strict=True):
            await stack.enter_async_context(serving(app, port))
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        phone, kids = await _two_schools_one_family(http, base)

        async def notices() -> bool:
            return sum(d.body["template_id"] == TEMPLATES["invoice"] for d in zalo.delivered) == 2

        await wait_until(notices, timeout=30, what="the two invoice notices on Zalo")
        assert {d.to for d in zalo.delivered} == {"84" + phone[1:]}
        await _the_parent_on_the_phone(phone, kids, zalo, http, base)


async def _the_parent_on_the_phone(
    phone: str, kids: list[Any], zalo: ZaloStandIn, http: httpx.AsyncClient, base: dict[str, str]
) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = await browser.new_page(viewport={"width": 360, "height": 740}, accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # Signs in with the phone on the roster and the code that came by Zalo.
        await page.goto(f"{base['invoicing']}/phu-huynh")
        await assert_accessible(page, "the parent's sign-in")
        await page.fill("[data-testid=parent-phone]", phone)
        await page.click("[data-testid=parent-send]")
        await expect(page.locator("[data-testid=parent-said]")).to_contain_text("mã đăng nhập đã được gửi")
        await page.fill("[data-testid=parent-code]", await _zalo_code(zalo))
        await page.press("[data-testid=parent-code]", "Enter")
        # Both children, each at their school, each owing their month; the notices the school sent.
        await expect(page.locator("[data-testid=child]")).to_have_count(2)
        family = await page.inner_text("[data-testid=family]")
        assert kids[0].name in family and kids[1].name in family
        assert "Trường THCS Nghĩa Tân" in family and "Trường Mầm non Hoa Sen" in family
        assert "Còn phải nộp 1.250.000" in family and "Còn phải nộp 850.000" in family
        assert await page.locator("[data-testid=child-message]").count() == 2
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360
        assert await page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly
        await page.click("[data-testid=agree]")  # agrees to the school's messages (the code proved the phone)
        await expect(page.locator("[data-testid=choice-said]")).to_contain_text("đã đồng ý nhận tin nhắn")
        await assert_accessible(page, "the family's page")
        # Opens the older child's payment page, saves the QR and pays it from the bank's app.
        older = page.locator("[data-testid=child]", has_text=kids[0].name)
        await older.locator("a.pay").click()
        await expect(page.locator("[data-testid=save-qr]")).to_be_visible()
        await assert_accessible(page, "the payment page")
        async with page.expect_download() as saved:
            await page.click("[data-testid=save-qr]")
        image = await asyncio.to_thread(Path(await (await saved.value).path()).read_bytes)
        [code] = await asyncio.to_thread(zxingcpp.read_barcodes, Image.open(io.BytesIO(image)))
        assert code.text.startswith("000201") and "54071250000" in code.text  # VietQR, 1,250,000 đồng
        memo = (await page.inner_text("[data-testid=memo]")).strip()
        assert memo and memo in code.text  # the reference the bank's app fills in
        await page.evaluate("window.stayedOnThePage = true")
        await _bank_pays(http, base["reconciliation"], 1_250_000, memo)
        await expect(page.locator("[data-testid=receipt]")).to_have_count(1, timeout=30_000)
        assert await page.evaluate("window.stayedOnThePage === true")  # updated in place, not reloaded
        await expect(page.locator("#live")).to_contain_text("vừa ghi nhận")
        # Back on the family's page: the receipt under the older child, the younger one still owing.
        await page.goto(f"{base['invoicing']}/phu-huynh")
        await expect(page.locator("[data-testid=child-receipt]")).to_have_count(1)
        older = page.locator("[data-testid=child]", has_text=kids[0].name)
        assert "Đã nộp đủ" in await older.inner_text()
        younger = page.locator("[data-testid=child]", has_text=kids[1].name)
        assert "Còn phải nộp 850.000" in await younger.inner_text()
        # The receipt opens at the receipts service, signed and verifiable.
        await page.click("[data-testid=child-receipt]")
        await expect(page.locator("body")).to_contain_text("1.250.000")
        assert page.url.startswith(base["receipts"])
        await assert_accessible(page, "the receipt")
        assert not errors, errors
        await browser.close()
