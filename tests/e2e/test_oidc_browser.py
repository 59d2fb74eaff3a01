"""Signing in with the province's identity provider, end to end: a real Keycloak (from Maven Central,
started by devinfra) with a realm this test creates, invoicing served over HTTP, and Debian's Chromium.
The accountant signs in there, comes back to the workspace, switches schools and signs out; a person the
district gave no account, and a forged or replayed answer, are refused in Vietnamese."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from devinfra.keycloak import running_keycloak
from devinfra.testing import free_ports, service_app, serving
from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
DISTRICT = "HN-CAU-GIAY"
SCHOOLS = {"MN-HOA-SEN": "Trường Mầm non Hoa Sen", "TH-NGHIA-TAN": "Trường Tiểu học Nghĩa Tân"}
CLIENT_ID, CLIENT_SECRET = "thu-hoc-phi", "client-secret-of-the-suite-0123456789"


async def _keycloak_login(page, username: str, password: str) -> None:
    await page.wait_for_selector("#username")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#kc-login")


async def test_an_accountant_signs_in_with_the_provinces_provider_switches_schools_and_signs_out(
    make_database, infra_endpoints, topic_prefix
):
    from playwright.async_api import async_playwright, expect

    (port,) = free_ports(1)
    base = f"http://127.0.0.1:{port}"
    async with contextlib.AsyncExitStack() as stack:
        kc = await asyncio.to_thread(stack.enter_context, running_keycloak())
        issuer = await asyncio.to_thread(
            kc.realm,
            "so-gd-hanoi",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=f"{base}/auth/oidc/callback",
            users=[
                {"username": "ketoan.lan", "password": "mật khẩu ở Sở", "firstName": "Lan", "lastName": "Nguyễn"},
                {"username": "nguoi.la", "password": "mật khẩu ở Sở"},
            ],
        )
        app = await service_app(
            "invoicing",
            make_database,
            infra_endpoints,
            topic_prefix,
            public_url=base,
            workspace_origin=base,
            oidc_issuer=issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
        )
        await stack.enter_async_context(serving(app, port))
        svc = {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET, role='service', subject='operator')}"}
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for school_id, name in SCHOOLS.items():
                school = {
                    "name": name,
                    "district_code": DISTRICT,
                    "bank_bin": "970436",
                    "account_number": "0011001234567",
                    "account_name": "TRUONG",
                }
                assert (await http.put(f"/schools/{school_id}", headers=svc, json=school)).status_code == 200
            made = await http.post(
                "/accounts",
                headers=svc,
                json={
                    "username": "ketoan.lan",
                    "display_name": "Nguyễn Thị Lan",
                    "role": "accountant",
                    "district_code": DISTRICT,
                    "schools": list(SCHOOLS),
                },
            )
            assert made.status_code == 200, made.text
            # An answer that no browser asked for (or one replayed) signs nobody in.
            forged = await http.get("/auth/oidc/callback", params={"state": "made-up", "code": "x"})
            assert forged.status_code == 401 and "hết hạn" in forged.text

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            errors: list[str] = []
            page = await (await browser.new_context()).new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{base}/ketoan")
            await page.click("[data-testid=oidc]")
            await _keycloak_login(page, "ketoan.lan", "mật khẩu ở Sở")
            first, other = sorted(SCHOOLS)
            await expect(page.locator("[data-testid=school-name]")).to_have_text(SCHOOLS[first])
            assert page.url.startswith(f"{base}/ketoan") and "code=" not in page.url and "token" not in page.url
            assert await page.evaluate("document.cookie") == ""
            await page.select_option("[data-testid=school-switch]", other)
            await expect(page.locator("[data-testid=school-name]")).to_have_text(SCHOOLS[other])
            await page.click("#signout")
            await expect(page.locator("#u-name")).to_be_visible()

            # A person the province knows but the district gave no account: refused, saying so.
            stranger = await (await browser.new_context()).new_page()
            await stranger.goto(f"{base}/dang-nhap")
            await stranger.click("[data-testid=oidc]")
            await _keycloak_login(stranger, "nguoi.la", "mật khẩu ở Sở")
            await expect(stranger.locator("[data-testid=oidc-error]")).to_contain_text("chưa được cấp")
            assert not errors, errors
            await browser.close()

        pool = app.state.runtime.db()
        linked = await pool.fetchval("SELECT oidc_subject FROM accounts WHERE username = 'ketoan.lan'")
        assert linked.startswith(issuer + "|")
        via = await pool.fetchval(
            "SELECT detail->>'via' FROM audit_log WHERE actor = 'ketoan.lan' AND action = 'sign_in'"
        )
        assert via == "oidc"
