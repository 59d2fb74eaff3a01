"""Signing in, in a real browser (Debian's Chromium) against invoicing served over HTTP: a district
administrator accepts an invitation, invites an accountant of two schools from the administration page; the
accountant accepts, sets a password and an authenticator, signs in, switches schools and signs out. No
token in any URL, any storage or any readable cookie."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from devinfra.testing import free_ports, service_app, serving
from invoicing.adapters.credentials import totp_code
from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
DISTRICT = "HN-CAU-GIAY"
SCHOOLS = {"TH-NGHIA-TAN": "Trường Tiểu học Nghĩa Tân", "MN-HOA-SEN": "Trường Mầm non Hoa Sen"}


async def _setup(base: str) -> str:
    """Two schools of the district and its first administrator (by the operator); the invitation link."""
    svc = {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET, role='service', subject='operator')}"}
    async with httpx.AsyncClient(timeout=30) as http:
        for school_id, name in SCHOOLS.items():
            school = {
                "name": name,
                "district_code": DISTRICT,
                "bank_bin": "970436",
                "account_number": "0011001234567",
                "account_name": "TRUONG",
            }
            assert (await http.put(f"{base}/schools/{school_id}", headers=svc, json=school)).status_code == 200
        r = await http.post(
            f"{base}/accounts",
            headers=svc,
            json={
                "username": "pgd.caugiay",
                "display_name": "Trần Thu Hà",
                "role": "district_admin",
                "district_code": DISTRICT,
            },
        )
    assert r.status_code == 200, r.text
    return r.json()["link"]


async def _accept(page, link: str, password: str) -> str:
    """The invitation's page: a password and the authenticator; returns the authenticator's secret."""
    await page.goto(link)
    await page.wait_for_selector("[data-testid=totp-secret]:not(:empty)")
    assert "#" not in page.url
    secret = await page.inner_text("[data-testid=totp-secret]")
    await page.fill("#password", password)
    await page.fill("#again", password)
    await page.fill("#code", totp_code(secret))
    await page.click("#save")
    await page.wait_for_selector("#done:not([hidden])")
    return secret


async def _sign_in(page, username: str, password: str, secret: str, *, steps_ahead: int = 0) -> None:
    """`steps_ahead`: the code of a later 30-second step (accepted one step either side): a second sign-in of
    the same account now, whose current code was already used once."""
    await page.fill("#u-name", username)
    await page.fill("#u-pass", password)
    await page.click("#signin-go")
    await page.wait_for_selector("#code-step:not([hidden])")
    await page.fill("#u-code", totp_code(secret, now=time.time() + 30 * steps_ahead))
    await page.click("#code-go")


async def _nothing_kept(page) -> None:
    assert "token" not in page.url and "#" not in page.url.split("/")[-1].split("#", 1)[0]
    assert await page.evaluate("Object.keys(sessionStorage).length + Object.keys(localStorage).length") == 0
    assert await page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly


async def test_an_administrator_invites_an_accountant_of_two_schools_who_signs_in_switches_and_signs_out(
    make_database, infra_endpoints, topic_prefix
):
    from playwright.async_api import async_playwright, expect

    (port,) = free_ports(1)
    base = f"http://127.0.0.1:{port}"
    app = await service_app(
        "invoicing", make_database, infra_endpoints, topic_prefix, public_url=base, workspace_origin=base
    )
    async with serving(app, port):
        link = await _setup(base)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            errors: list[str] = []
            admin = await (await browser.new_context()).new_page()
            admin.on("pageerror", lambda exc: errors.append(str(exc)))

            admin_secret = await _accept(admin, link, "phòng giáo dục cầu giấy 2026")
            await admin.goto(f"{base}/quan-tri")
            await _sign_in(admin, "pgd.caugiay", "phòng giáo dục cầu giấy 2026", admin_secret)
            await expect(admin.locator("#who")).to_contain_text("Trần Thu Hà")
            await admin.fill("#a-username", "ketoan.lan")
            await admin.fill("#a-name", "Nguyễn Thị Lan")
            await admin.select_option("#a-role", "accountant")
            await admin.fill("#a-schools", ", ".join(SCHOOLS))
            await admin.click("#a-create")
            invitation = await admin.locator("[data-testid=link]").inner_text()
            await expect(admin.locator("[data-testid=accounts]")).to_contain_text("Chưa nhận lời mời")
            await _nothing_kept(admin)

            # The accountant, in a browser of their own.
            lan = await (await browser.new_context()).new_page()
            lan.on("pageerror", lambda exc: errors.append(str(exc)))
            lan_secret = await _accept(lan, invitation, "sổ sách trường học tháng chín")
            await lan.goto(f"{base}/ketoan")
            await _sign_in(lan, "ketoan.lan", "sổ sách trường học tháng chín", lan_secret)
            first, other = sorted(SCHOOLS)  # the account's schools in order of their ids; the first is open
            await expect(lan.locator("[data-testid=school-name]")).to_have_text(SCHOOLS[first])
            await lan.select_option("[data-testid=school-switch]", other)
            await expect(lan.locator("[data-testid=school-name]")).to_have_text(SCHOOLS[other])
            await _nothing_kept(lan)

            # She signs in on her phone too; her account page lists both sessions, and she ends the phone's.
            android = "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
            phone = await (await browser.new_context(user_agent=android)).new_page()
            phone.on("pageerror", lambda exc: errors.append(str(exc)))
            await phone.goto(f"{base}/ketoan")
            await _sign_in(phone, "ketoan.lan", "sổ sách trường học tháng chín", lan_secret, steps_ahead=1)
            await expect(phone.locator("[data-testid=school-name]")).to_be_visible()
            await lan.goto(f"{base}/dang-nhap")
            sessions = lan.locator("[data-testid=session]")
            await expect(sessions).to_have_count(2)
            await expect(sessions.filter(has_text="Phiên này")).to_have_count(1)
            await sessions.filter(has_text="Android").get_by_role("button", name="Kết thúc").click()
            await expect(sessions).to_have_count(1)
            await expect(sessions).to_contain_text("Phiên này")
            await phone.reload()
            await expect(phone.locator("#u-name")).to_be_visible()  # the phone's session has ended
            await lan.goto(f"{base}/ketoan")
            await expect(lan.locator("[data-testid=school-name]")).to_be_visible()
            await lan.click("#signout")
            await expect(lan.locator("#u-name")).to_be_visible()
            await lan.reload()
            await expect(lan.locator("#u-name")).to_be_visible()

            # The administrator sees it all in the audit log, and can lock the account.
            await admin.reload()
            audit = admin.locator("[data-testid=audit]")
            for action in ("Tạo tài khoản", "Nhận lời mời", "Chuyển trường", "Đăng xuất"):
                await expect(audit).to_contain_text(action)
            row = admin.locator("tr[data-username='ketoan.lan']")
            await row.get_by_role("button", name="Khóa").click()
            await expect(row).to_contain_text("Đã khóa")
            await lan.goto(f"{base}/ketoan")
            await lan.fill("#u-name", "ketoan.lan")
            await lan.fill("#u-pass", "sổ sách trường học tháng chín")
            await lan.click("#signin-go")
            await expect(lan.locator("#signin-error")).to_contain_text("bị khóa")
            assert not errors, errors
            await browser.close()
    await asyncio.sleep(0)
