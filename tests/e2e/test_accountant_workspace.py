"""The accountant's workspace in a real browser (Debian's Chromium) against invoicing, reconciliation and
receipts served over HTTP, on the real PostgreSQL and Kafka: the month's work as a school accountant does it,
through the pages only (the test calls an API only to play the bank and the district): the roster from a
management program's Excel file mapped by its columns, fee items, issuing, a bank statement previewed and
recorded, every kind of exception (a split with amounts too), an invoice adjusted and one cancelled, a receipt
cancelled and replaced, cash at the desk, the day's close, the exports; axe-core checks every page."""

from __future__ import annotations

import asyncio
import io
import random
import re
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader

from devinfra.testing import free_ports, service_app, serving, wait_until
from invoicing.adapters.credentials import totp_code
from shared.auth import mint_token
from shared.formatting import VN
from shared.settings import DEV_JWT_SECRET
from simulator.people import pupil, roster_csv
from tests.e2e.accessibility import ZOOMED, assert_accessible, wider_than_the_window

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
SCHOOL = "TH-NGHIA-TAN"
ACCOUNT = "0011001234567"
SEPAY_KEY = "workspace-sepay-key-0001"
SHOTS = Path("test-artifacts")
USERNAME, PASSWORD = "ketoan.nghiatan", "sân trường Nghĩa Tân mùa thu 2026"


def _token(role: str, **scope: str) -> str:
    return mint_token(DEV_JWT_SECRET, role=role, subject=f"ke-toan-{SCHOOL}" if role == "accountant" else role, **scope)


def _credit(n: int, amount: int, memo: str) -> dict[str, Any]:
    return {
        "id": n,
        "gateway": "Vietcombank",
        "transactionDate": datetime.now(VN).strftime("%Y-%m-%d %H:%M:%S"),
        "accountNumber": ACCOUNT,
        "code": None,
        "content": memo,
        "transferType": "in",
        "transferAmount": amount,
        "accumulated": 0,
        "subAccount": None,
        "referenceCode": f"FT26{n:08d}",
        "description": "",
    }


async def _register(http: httpx.AsyncClient, base: dict[str, str]) -> None:
    """The school and how its aggregator signs webhooks (the rest the accountant does in the browser)."""
    svc = {"Authorization": f"Bearer {_token('service')}"}
    acc = {"Authorization": f"Bearer {_token('accountant', school=SCHOOL)}"}
    school = {
        "name": "Trường Tiểu học Nghĩa Tân",
        "district_code": "HN-CAU-GIAY",
        "bank_bin": "970436",
        "account_number": ACCOUNT,
        "account_name": "TRUONG TH NGHIA TAN",
    }
    assert (await http.put(f"{base['invoicing']}/schools/{SCHOOL}", headers=svc, json=school)).status_code == 200
    webhook = {"scheme": "apikey", "secret": SEPAY_KEY}
    r = await http.put(f"{base['reconciliation']}/schools/{SCHOOL}/webhooks/sepay", headers=acc, json=webhook)
    assert r.status_code == 204, r.text


def _rosters() -> tuple[bytes, bytes]:
    """Five pupils in two classes, the first two siblings: a CSV with a guardian's phone that is not a mobile
    number, and the same pupils as a management program exports them (.xlsx, title rows, own headings)."""
    from openpyxl import Workbook

    rng = random.Random(7)
    pupils = [(pupil(rng, f"2026{i:04d}", 2019), "1", "1A" if i < 3 else "1B") for i in range(5)]
    lines = roster_csv(pupils).decode().split("\n")
    cells = lines[3].split(",")
    cells[9] = "12345"
    lines[3] = ",".join(cells)
    wb = Workbook()
    ws = wb.active
    ws.append(["PHÒNG GIÁO DỤC VÀ ĐÀO TẠO QUẬN CẦU GIẤY"])
    ws.append(["DANH SÁCH HỌC SINH NĂM HỌC 2026-2027"])
    ws.append([])
    ws.append(["TT", "Mã HS (CSDL)", "Tên học sinh", "NS", "Lớp học", "Mẹ", "ĐT mẹ", "Cha", "ĐT cha"])
    mother = (pupils[0][0].guardian, pupils[0][0].phone)
    for n, (p, _, cls) in enumerate(pupils, start=1):
        guardian = mother if n == 2 else (p.guardian, p.phone)  # A's and B's mother
        ws.append([n, p.code, p.name, p.birth.strftime("%d/%m/%Y"), cls, *guardian, "", ""])
    out = io.BytesIO()
    wb.save(out)
    return "\n".join(lines).encode(), out.getvalue()


def _camt054(day: str, entries: list[tuple[int, str, str]]) -> bytes:
    """The bank's end-of-day notification (ISO 20022 camt.054): (amount, memo, bank reference) per credit."""
    ntries = "".join(
        f"""<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="VND">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>{ref}</AcctSvcrRef><NtryDtls><TxDtls><Refs><TxId>{ref}</TxId></Refs>
        <RmtInf><Ustrd>{memo}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""
        for amount, memo, ref in entries
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
  <GrpHdr><MsgId>NTF-{day}</MsgId><CreDtTm>{day}T17:00:00+07:00</CreDtTm></GrpHdr>
  <Ntfctn><Id>N1</Id><CreDtTm>{day}T17:00:00+07:00</CreDtTm>
    <Acct><Id><Othr><Id>{ACCOUNT}</Id></Othr></Id><Ccy>VND</Ccy></Acct>{ntries}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>""".encode()


def _ascii_upper(name: str) -> str:
    """A name as a bank writes it in a memo: no diacritics, upper case."""
    from shared.payref import fold_memo

    return fold_memo(name)


def _day_credits(
    a: dict[str, Any], c: dict[str, Any], d: dict[str, Any], e: dict[str, Any]
) -> list[tuple[int, int, str]]:
    """The day's transfers as the aggregator reports them: (number, amount, memo)."""
    return [
        (1, 500_000, f"{a['payment_reference']} T09 2026"),  # B's parent typed A's reference
        (2, 500_000, f"NOP TIEN CHAU {c['full_name'].upper()}"),  # no reference at all
        (3, 550_000, d["payment_reference"]),  # 50,000 too much
        (5, 500_000, f"{d['payment_reference']} NOP LAN 2"),  # D's other parent pays again
        (6, 200_000, f"HOC PHI MA {e['student_code']}"),  # E's code, an amount that is not the invoice's
        (4, 200_000, "QUY LOP 1A"),  # not a school fee
    ]


async def _pay(http: httpx.AsyncClient, base: str, n: int, amount: int, memo: str) -> dict[str, Any]:
    r = await http.post(
        f"{base}/webhooks/sepay/{SCHOOL}",
        json=_credit(n, amount, memo),
        headers={"Authorization": f"Apikey {SEPAY_KEY}"},
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_the_accountant_works_the_day_in_the_browser(make_database, infra_endpoints, topic_prefix):
    ports = free_ports(3)
    base = {s: f"http://127.0.0.1:{p}" for s, p in zip(("invoicing", "reconciliation", "receipts"), ports, strict=True)}
    common = {"workspace_origin": base["invoicing"]}
    apps = {
        "invoicing": await service_app(
            "invoicing",
            make_database,
            infra_endpoints,
            topic_prefix,
            public_url=base["invoicing"],
            reconciliation_url=base["reconciliation"],
            receipts_url=base["receipts"],
            **common,
        ),
        "reconciliation": await service_app("reconciliation", make_database, infra_endpoints, topic_prefix, **common),
        "receipts": await service_app(
            "receipts", make_database, infra_endpoints, topic_prefix, public_url=base["receipts"], **common
        ),
    }
    async with AsyncExitStack() as stack:
        for app, port in zip(apps.values(), ports, strict=True):
            await stack.enter_async_context(serving(app, port))
        async with httpx.AsyncClient(timeout=30) as http:
            await _register(http, base)
            book = apps["reconciliation"].state.runtime.db()

            async def payments_arrive() -> list[dict[str, Any]]:
                acc = {"Authorization": f"Bearer {_token('accountant', school=SCHOOL)}"}
                url = f"{base['invoicing']}/schools/{SCHOOL}/invoices"
                invoices = sorted((await http.get(url, headers=acc)).json(), key=lambda i: i["student_code"])
                await wait_until(
                    lambda: _equals(book.fetchval("SELECT count(*) FROM invoices"), 5), what="reconciliation's book"
                )
                a, _, c, d, e = invoices
                # The machine matches A's reference to A (wrong, as B's parent says), finds nothing in the bare
                # memo, sees the overpayment and the second payment, and does not guess E's short amount.
                states = ["matched", "unmatched", "overpaid", "duplicate", "ambiguous", "unmatched"]
                for (n, amount, memo), state in zip(_day_credits(a, c, d, e), states, strict=True):
                    assert (await _pay(http, base["reconciliation"], n, amount, memo))["state"] == state, memo
                return invoices

            await _browser(base, payments_arrive)


async def _download(page: Any, testid: str) -> list[list[Any]]:
    """Click an export button, read the .xlsx the browser saves: its rows, header first."""
    async with page.expect_download(timeout=10_000) as info:
        await page.click(f"[data-testid={testid}]")
    download = await info.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.freeze_panes == "A2", testid
    return [[c.value for c in row] for row in sheet.iter_rows()]


async def _equals(value: Any, expected: Any) -> bool:
    return await value == expected


async def _browser(base: dict[str, str], payments_arrive: Callable[[], Awaitable[list[dict[str, Any]]]]) -> None:
    from playwright.async_api import async_playwright, expect

    await asyncio.to_thread(SHOTS.mkdir, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-sync",
            ],
        )
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # The questions the page asks (confirm, prompt): answered in order, and kept to be read.
        asked: list[str] = []
        answers: list[str | bool] = []

        async def answer(dialog) -> None:
            asked.append(dialog.message)
            reply = answers.pop(0) if answers else True
            if reply is False:
                await dialog.dismiss()
            else:
                await dialog.accept(reply if isinstance(reply, str) else "")

        page.on("dialog", answer)

        # The district invited the accountant: the invitation's page sets a password and the authenticator.
        async with httpx.AsyncClient(timeout=30) as http:
            made = await http.post(
                f"{base['invoicing']}/accounts",
                headers={"Authorization": f"Bearer {_token('service')}"},
                json={
                    "username": USERNAME,
                    "display_name": "Nguyễn Thị Lan",
                    "role": "accountant",
                    "district_code": "HN-CAU-GIAY",
                    "schools": [SCHOOL],
                },
            )
        assert made.status_code == 200, made.text
        await page.goto(made.json()["link"])
        await expect(page.locator("[data-testid=username]")).to_have_text(USERNAME)
        assert "#" not in page.url  # the link's secret leaves the address bar
        totp = await page.inner_text("[data-testid=totp-secret]")
        await page.fill("#password", PASSWORD)
        await page.fill("#again", PASSWORD)
        await page.fill("#code", totp_code(totp))
        await page.click("#save")
        await expect(page.locator("#done")).to_be_visible()

        # Signed out: the sign-in form; a wrong password is refused with a clear message.
        await page.goto(f"{base['invoicing']}/ketoan#thiet-lap")
        await page.fill("#u-name", USERNAME)
        await page.fill("#u-pass", "không phải mật khẩu")
        await page.click("#signin-go")
        await expect(page.locator("#signin-error")).to_contain_text("không đúng")
        await page.fill("#u-pass", PASSWORD)
        await page.click("#signin-go")
        await expect(page.locator("#u-code")).to_be_visible()
        await page.fill("#u-code", totp_code(totp))
        await page.click("#code-go")
        await expect(page.locator("[data-testid=school-name]")).to_have_text("Trường Tiểu học Nghĩa Tân")
        # No token anywhere a page keeps one: not in the address, not in storage, not readable as a cookie.
        assert "token" not in page.url
        assert await page.evaluate("Object.keys(sessionStorage).length + Object.keys(localStorage).length") == 0
        assert await page.evaluate("document.cookie") == ""

        # The school's setup: its account, the aggregator that reports its credits, a receipt series.
        await page.click("a[data-tab=truong]")
        await expect(page.locator("[data-testid=school-account]")).to_contain_text(ACCOUNT)
        await expect(page.locator("[data-testid=webhook]")).to_contain_text(f"/webhooks/sepay/{SCHOOL}")
        await page.fill("#se-form", "01BLP0-001")
        await page.fill("#se-code", "BL26")
        await page.fill("#se-year", "2026")
        await page.click("#se-save")
        await expect(page.locator("[data-testid=series-row]", has_text="BL26")).to_contain_text("số tiếp theo 1")
        await page.screenshot(path=str(SHOTS / "workspace-school.png"), full_page=True)
        await assert_accessible(page, "Thiết lập trường")
        await page.click("a[data-tab=thiet-lap]")

        # The roster: a broken row is named (line, column, why) and nothing is stored; the fixed file goes in.
        broken, fixed = _rosters()
        await page.set_input_files(
            "#r-file", files=[{"name": "danh-sach.csv", "mimeType": "text/csv", "buffer": broken}]
        )
        await page.click("#r-apply")
        await expect(page.locator("[data-testid=roster-error]")).to_have_count(1)
        error = await page.inner_text("[data-testid=roster-error]")
        assert error.startswith("4\t") and "Số điện thoại" in error, error  # the header is line 1
        assert "Chưa nhập gì" in await page.inner_text("[data-testid=roster-summary]")
        assert "null" not in await page.inner_text("main") and "undefined" not in await page.inner_text("main")
        await page.screenshot(path=str(SHOTS / "workspace-roster.png"), full_page=True)
        # The same pupils as the school's software exports them: its headings are mapped once, on the page.
        await page.set_input_files(
            "#r-file",
            files=[{"name": "xuat-tu-phan-mem.xlsx", "mimeType": "application/octet-stream", "buffer": fixed}],
        )
        await page.click("#r-preview")
        await expect(page.locator("[data-testid=roster-mapping]")).to_contain_text("chưa được nhận ra")
        await assert_accessible(page, "Ghép cột danh sách")
        for field, heading in (
            ("student_code", "Mã HS (CSDL)"),
            ("full_name", "Tên học sinh"),
            ("date_of_birth", "NS"),
            ("class_name", "Lớp học"),
            ("mother_name", "Mẹ"),
            ("mother_phone", "ĐT mẹ"),
        ):
            await page.select_option(f"[data-testid=map-{field}]", heading)
        await page.click("[data-testid=map-apply]")
        await expect(page.locator("[data-testid=roster-summary]")).to_contain_text("5 dòng đúng, 0 lỗi")
        await page.click("#r-apply")
        await expect(page.locator("[data-testid=roster-summary]")).to_contain_text("5 học sinh mới")

        # A fee item, then issuing with its preview first.
        await page.fill("#fi-code", "DV")
        await page.fill("#fi-name", "Dịch vụ bán trú")
        await page.select_option("#fi-category", "services")
        await page.fill("#fi-amount", "500000")
        await page.click("#fi-save")
        await expect(page.locator("[data-testid=fee-item]")).to_have_count(1)
        # A one-off item needs the month it is billed in; set, then retired before it is ever billed.
        await page.fill("#fi-code", "THAMQUAN")
        await page.fill("#fi-name", "Tham quan")
        await page.select_option("#fi-cadence", "one_off")
        await page.fill("#fi-amount", "150000")
        await page.click("#fi-save")
        await expect(page.locator("#toast")).to_contain_text("cần kỳ thu")
        await page.fill("#fi-period", "2026-10")
        await page.click("#fi-save")
        item = page.locator("[data-testid=fee-item][data-code=THAMQUAN]")
        await expect(item).to_contain_text("kỳ 2026-10")
        await item.locator("[data-testid=fee-retire]").click()
        await expect(page.locator("[data-testid=fee-item]")).to_have_count(1)
        assert "Ngừng thu khoản THAMQUAN" in asked[-1]
        await page.select_option("#fi-cadence", "monthly")
        await page.fill("#i-period", "2026-09")
        await page.fill("#i-days", "21")
        await page.click("[data-testid=save-calendar]")
        await expect(page.locator("#toast")).to_contain_text("21 ngày học")
        await page.click("#i-preview")
        await expect(page.locator("[data-testid=issue-total]")).to_have_text("2.500.000 ₫")
        assert "5 hóa đơn" in await page.inner_text("[data-testid=issue-summary]")
        assert "null" not in await page.inner_text("main") and "undefined" not in await page.inner_text("main")
        await page.screenshot(path=str(SHOTS / "workspace-issue-preview.png"), full_page=True)
        await assert_accessible(page, "Chuẩn bị kỳ thu")
        # Issuing asks once more, with the count and the total.
        await page.click("#i-issue")
        await expect(page.locator("[data-testid=issue-done]")).to_contain_text("Đã phát hành 5 hóa đơn")
        assert "5 hóa đơn" in asked[-1] and "2.500.000 ₫" in asked[-1], asked

        # A and B (the roster's first two) are siblings: their mother pays both with one reference and one QR.
        await page.click("a[data-tab=hoa-don]")
        # The list opens on the current month (none issued for it here); September's five are one filter away.
        assert await page.input_value("#f-period") == datetime.now(VN).strftime("%Y-%m")
        await page.fill("#f-period", "2026-09")
        await page.press("#f-period", "Enter")
        for code in ("20260000", "20260001"):
            row = page.locator("[data-testid=invoice-row]", has_text=code)
            await row.locator("[data-testid=invoice-pick]").check()
        await page.click("[data-testid=group]")
        await expect(page.locator("[data-testid=group-done]")).to_contain_text("cho 2 hóa đơn, tổng 1.000.000 ₫")
        await page.click("a[data-tab=thiet-lap]")

        # Parents pay; the machine matches what it can.
        a, b, c, d, e = await payments_arrive()
        await page.click("a[data-tab=hoa-don]")
        await page.fill("#f-period", "2026-09")
        await page.press("#f-period", "Enter")  # Enter filters, as the button does
        await expect(page.locator("[data-testid=invoice-row]")).to_have_count(5)
        assert await page.locator("[data-testid=due-date]").first.inner_text() == "15/09/2026"
        await expect(page.locator("[data-testid=exceptions-count]")).to_have_text("5")

        # The class filter, then one invoice: its lines, history, QR and the message for the parent.
        await page.fill("#f-class", "1B")
        await page.click("#f-go")
        await expect(page.locator("[data-testid=invoice-row]")).to_have_count(2)
        await page.locator("[data-testid=invoice-row]", has_text=e["full_name"]).click()
        await page.wait_for_selector("[data-testid=invoice-qr] img")
        message = await page.input_value("[data-testid=parent-message]")
        assert e["full_name"] in message and e["pay_url"] in message and "500.000" in message
        assert "hạn nộp 15/09/2026" in message
        assert await page.inner_text("[data-testid=invoice-outstanding]") == "500.000 ₫"
        assert "null" not in await page.inner_text("main") and "undefined" not in await page.inner_text("main")
        await page.screenshot(path=str(SHOTS / "workspace-invoices.png"), full_page=True)
        await assert_accessible(page, "Hóa đơn")

        # The queue: five credits to resolve.
        await page.click("a[data-tab=ngoai-le]")
        await page.wait_for_selector("[data-testid=exception]")
        assert await page.locator("[data-testid=exception]").count() == 5
        memos = await page.locator("[data-testid=memo]").all_inner_texts()
        assert f"NOP TIEN CHAU {c['full_name'].upper()}" in memos
        reasons = await page.locator("[data-testid=reason]").all_inner_texts()
        assert sum("không có mã thanh toán" in r for r in reasons) == 3  # the bare memo, the fund, the short one
        assert any("còn 50.000 ₫ chưa xử lý" in r for r in reasons)  # the overpaid credit's excess
        assert any("đã nộp đủ trước đó" in r for r in reasons)  # the duplicate
        assert "null" not in await page.inner_text("main") and "undefined" not in await page.inner_text("main")
        await page.screenshot(path=str(SHOTS / "workspace-exceptions.png"), full_page=True)
        await assert_accessible(page, "Cần xử lý")

        # No reference: find the pupil by name, match; the toast offers to undo, and undo puts it back.
        card = page.locator("[data-testid=exception]", has_text="NOP TIEN CHAU")
        await card.locator("input[placeholder^='tìm học sinh']").fill(c["student_code"])
        await card.get_by_role("button", name="Tìm").click()
        await card.get_by_role("button", name="Khớp").first.click()
        await expect(page.locator("[data-testid=exception]")).to_have_count(4)
        await page.click("[data-testid=toast-undo]")
        await expect(page.locator("[data-testid=exception]")).to_have_count(5)
        card = page.locator("[data-testid=exception]", has_text="NOP TIEN CHAU")
        await card.locator("input[placeholder^='tìm học sinh']").fill(c["student_code"])
        await card.get_by_role("button", name="Tìm").click()
        await card.get_by_role("button", name="Khớp").first.click()
        await expect(page.locator("[data-testid=exception]")).to_have_count(4)

        # Overpaid by 50,000: kept as the family's credit balance, for its next invoice.
        card = page.locator("[data-testid=exception]", has_text="Nộp thừa")
        await card.locator("[data-testid=keep]").click()
        await expect(page.locator("[data-testid=exception]")).to_have_count(3)

        # Paid twice: the second transfer refunded, with the bank reference of the refund transfer.
        card = page.locator("[data-testid=exception]", has_text="NOP LAN 2")
        await card.locator("input[placeholder^='số tham chiếu']").fill("FT26REFUND01")
        await card.get_by_role("button", name="Đã hoàn").click()
        await expect(page.locator("[data-testid=exception]")).to_have_count(2)

        # Not a fee at all: ignored, with its reason.
        card = page.locator("[data-testid=exception]", has_text="QUY LOP 1A")
        await card.locator("input[placeholder='lý do']").fill("Quỹ lớp, không phải khoản thu của trường")
        await card.get_by_role("button", name="Bỏ qua").click()
        await expect(page.locator("[data-testid=exception]")).to_have_count(1)

        # The short transfer: its candidate is E's invoice, shown with what is owed; matched as a part payment.
        card = page.locator("[data-testid=exception]", has_text="HOC PHI MA")
        candidate = card.locator("[data-testid=candidate]")
        await expect(candidate).to_contain_text(e["full_name"])
        await candidate.get_by_role("button", name="Khớp").click()
        await page.wait_for_selector("[data-testid=exceptions-empty]")

        # A wrong automatic match reversed: back in the queue, then matched to the right pupil.
        await page.click("a[data-tab=da-khop]")
        await page.locator("[data-testid=matched-row]", has_text=a["payment_reference"]).click()
        await page.wait_for_selector("[data-testid=unmatch]")
        # The payment names the pupil it paid for, and opens right under the row clicked.
        await expect(page.locator("[data-testid=credit-allocations]")).to_contain_text(a["full_name"])
        above = "() => document.getElementById('credit').closest('tr').previousElementSibling.innerText"
        assert a["payment_reference"] in await page.evaluate(above)
        await page.fill("[data-testid=correction-reason]", "Phụ huynh em B ghi nhầm mã của em A")
        await page.click("[data-testid=unmatch]")
        await expect(page.locator("[data-testid=exceptions-count]")).to_have_text("1")
        # The credit's history is drawn again after the queue's count: wait for it, never read it early.
        await expect(page.locator("[data-testid=credit-actions]")).to_contain_text("Hủy khớp")
        assert USERNAME in await page.inner_text("[data-testid=credit-actions]")
        assert "null" not in await page.inner_text("main") and "undefined" not in await page.inner_text("main")
        await page.screenshot(path=str(SHOTS / "workspace-reversal.png"), full_page=True)
        await page.click("a[data-tab=ngoai-le]")
        card = page.locator("[data-testid=exception]", has_text=a["payment_reference"])
        assert "hủy khớp" in (await card.locator("[data-testid=reason]").inner_text()).lower()
        await card.locator("input[placeholder^='tìm học sinh']").fill(b["student_code"])
        await card.get_by_role("button", name="Tìm").click()
        await card.get_by_role("button", name="Khớp").first.click()
        await page.wait_for_selector("[data-testid=exceptions-empty]")

        # The bank's statement of the day: previewed line by line (the six transfers the webhook reported are
        # known already; one more, that names A and E, is new), then recorded.
        day = datetime.now(VN).strftime("%Y-%m-%d")
        both = f"HP {_ascii_upper(a['full_name'])} VA {_ascii_upper(e['full_name'])}"
        known = [(amount, memo, f"FT26{n:08d}") for n, amount, memo in _day_credits(a, c, d, e)]
        statement = _camt054(day, [*known, (600_000, both, "FT2600000099")])
        await page.click("a[data-tab=sao-ke]")
        await page.set_input_files(
            "#st-file", files=[{"name": "sao-ke.xml", "mimeType": "application/xml", "buffer": statement}]
        )
        await page.click("#st-preview")
        await expect(page.locator("[data-testid=statement-summary]")).to_contain_text("Xem trước")
        summary = await page.inner_text("[data-testid=statement-summary]")
        assert "7 dòng tiền về, 1 khoản mới, 6 khoản trùng" in summary, summary
        lines = await page.locator("[data-testid=statement-line]").all_inner_texts()
        assert all("Trùng (đã có)" in line for line in lines[:6]) and "Khoản mới" in lines[6], lines
        await expect(page.locator("[data-testid=exceptions-count]")).to_have_text("0")  # a preview records nothing
        await assert_accessible(page, "Sao kê ngân hàng")
        await page.click("#st-record")
        await expect(page.locator("[data-testid=statement-summary]")).to_contain_text("Đã ghi nhận")
        await expect(page.locator("[data-testid=exceptions-count]")).to_have_text("1")

        # The queue suggests the two pupils the memo names; the transfer is split between them, with amounts.
        await page.click("a[data-tab=ngoai-le]")
        card = page.locator("[data-testid=exception]", has_text="600.000")
        suggestions = card.locator("[data-testid=suggestion]")
        await expect(suggestions).to_have_count(2)
        assert "có tên học sinh" in await suggestions.first.inner_text()
        await suggestions.filter(has_text=a["full_name"]).locator("[data-testid=split-add]").click()
        await suggestions.filter(has_text=e["full_name"]).locator("[data-testid=split-add]").click()
        amounts = card.locator("[data-testid=split-amount]")
        assert [await x.input_value() for x in await amounts.all()] == ["500000", "300000"]  # what each owes
        await amounts.nth(1).fill("100000")
        await expect(card.locator("[data-testid=split-total]")).to_contain_text("Tổng 600.000 ₫")
        await assert_accessible(page, "Chia khoản tiền")
        await card.locator("[data-testid=split-go]").click()
        await page.wait_for_selector("[data-testid=exceptions-empty]")

        # Cash at the desk: the pupil found, the amount filled in, the receipt link once it is signed.
        await page.click("a[data-tab=tien-mat]")
        await page.fill("#c-student", e["student_code"])
        await page.press("#c-student", "Enter")
        await page.focus("[data-testid=cash-invoice]")  # by keyboard: the row, Enter
        await page.keyboard.press("Enter")
        assert await page.input_value("#c-amount") == "200000"  # left after the 200,000 transfer and 100,000 split
        await page.fill("#c-payer", "Bà ngoại")
        await page.click("#c-record")
        await page.wait_for_selector("[data-testid=cash-receipt] a", timeout=20_000)
        assert await page.inner_text("[data-testid=cash-total]") == "200.000 ₫"
        assert "null" not in await page.inner_text("main") and "undefined" not in await page.inner_text("main")
        await page.screenshot(path=str(SHOTS / "workspace-cash.png"), full_page=True)
        await assert_accessible(page, "Thu tiền mặt")

        # The daily close: both the bank account and the cash desk balance to the đồng.
        await page.click("a[data-tab=chot-ngay]")
        await page.wait_for_selector("[data-testid=close-row]")
        rows = await page.locator("[data-testid=close-row]").all_inner_texts()
        assert "Khớp đúng" in await page.inner_text("[data-testid=close-status]"), rows
        assert len(rows) == 2
        bank = next(r for r in rows if ACCOUNT in r)
        cells = [cell.strip() for cell in bank.split("\t")]
        assert cells[2] == "3.050.000 ₫"  # received: 500,000 × 3 + 550,000 + 200,000 × 2 + the statement's 600,000
        assert (cells[5], cells[6], cells[8], cells[9]) == ("500.000 ₫", "200.000 ₫", "50.000 ₫", "0 ₫")  # refunded,
        # ignored, held as the family's balance, difference
        assert "null" not in await page.inner_text("main") and "undefined" not in await page.inner_text("main")
        await page.screenshot(path=str(SHOTS / "workspace-close.png"), full_page=True)
        await assert_accessible(page, "Chốt sổ ngày")

        # The printable list of who still owes in 1A: only A, with the amount and reference (PDF text read back).
        await page.click("a[data-tab=hoa-don]")
        await page.fill("#f-period", "2026-09")
        await page.fill("#f-class", "1A")
        async with page.expect_download(timeout=10_000) as info:
            await page.click("[data-testid=print-unpaid]")
        pdf = await info.value
        assert pdf.suggested_filename == f"chua-nop-{SCHOOL}-2026-09-1A.pdf"
        text = "".join(p.extract_text() for p in PdfReader(await pdf.path()).pages)
        assert "không có học sinh nào còn nợ kỳ 2026-09" in text, text  # A is paid now, by the split
        assert c["full_name"] not in text and a["full_name"] not in text

        # D's receipt was made out wrongly: cancelled (it keeps its number) and replaced by a new one.
        await page.fill("#f-class", "")
        await page.fill("#f-student", d["student_code"])
        await page.click("#f-go")
        await expect(page.locator("[data-testid=invoice-row]")).to_have_count(1)
        await page.locator("[data-testid=invoice-row]").click()
        receipt = page.locator("[data-testid=invoice-receipt]")
        await expect(receipt).to_have_count(1, timeout=20_000)
        first_number = await receipt.locator("a").inner_text()
        answers.extend(["Ghi sai người nộp", True])  # the reason asked, then: replace it
        await receipt.locator("[data-testid=receipt-cancel]").click()
        await expect(page.locator("[data-testid=invoice-receipt]")).to_have_count(1, timeout=20_000)
        await expect(page.locator("[data-testid=invoice-receipt] a")).not_to_have_text(first_number, timeout=20_000)
        await page.fill("#f-student", "")
        await page.click("a[data-tab=chot-ngay]")

        # The exports the accountant files: formatted Excel, read back.
        await page.fill("#x-period", "2026-09")
        collection = await _download(page, "export-collection")
        assert collection[0][:3] == ["Mã học sinh", "Họ và tên", "Lớp"] and len(collection) == 6
        exceptions = await _download(page, "export-exceptions")
        by_memo = {row[3]: row for row in exceptions[1:]}
        assert len(by_memo) == 7  # the reversed match, the bare memo, the overpayment, twice, the fund, the short one,
        # the statement's transfer split between two pupils
        assert by_memo[f"{d['payment_reference']} NOP LAN 2"][12] == "FT26REFUND01"
        assert by_memo[d["payment_reference"]][6] == "Số dư của gia đình"
        assert by_memo["QUY LOP 1A"][10] == 200_000 and "Quỹ lớp" in by_memo["QUY LOP 1A"][13]

        async def register_complete() -> bool:  # receipts are signed a moment after each payment
            rows = await _download(page, "export-receipts")
            issued = {r[4] for r in rows[1:] if r[9] == "Đã lập"}
            return issued == {p["student_code"] for p in (a, b, c, d, e)}

        await wait_until(register_complete, timeout=20, interval=1, what="every receipt in the register")
        register = await _download(page, "export-receipts")
        cancelled = [r for r in register[1:] if r[9] == "Đã hủy"]
        assert d["student_code"] in {r[4] for r in cancelled}  # the receipt cancelled and replaced
        assert {r[4] for r in cancelled} <= {a["student_code"], c["student_code"], d["student_code"]}

        # The invoices now: A owes again, B, C and D are paid, E paid in cash.
        await page.click("a[data-tab=hoa-don]")
        await page.fill("#f-class", "")
        expected = {p["student_code"]: "Đã nộp đủ" for p in (a, b, c, d, e)}

        async def statuses_settled() -> bool:  # invoicing learns each payment and reversal from Kafka
            await page.click("#f-go")
            await expect(page.locator("[data-testid=invoice-row]")).to_have_count(5)
            rows = await page.locator("[data-testid=invoice-row]").all_inner_texts()
            return {r.split("\t")[1].strip(): r.split("\t")[-1].strip() for r in rows} == expected

        await wait_until(statuses_settled, timeout=20, interval=0.5, what="the invoices' statuses in the list")

        # An extra collection round for class 1B: its own invoices beside the month's.
        await page.click("a[data-tab=thiet-lap]")
        await page.fill("#o-code", "DP26")
        await page.fill("#o-name", "Đồng phục năm học 2026–2027")
        await page.fill("#o-period", "2026-09")
        await page.fill("#o-class", "1B")
        await page.fill("#o-item", "Đồng phục hè")
        await page.fill("#o-amount", "180000")
        await page.click("#o-open")
        await expect(page.locator("[data-testid=round]")).to_have_count(1)
        assert "2 hóa đơn" in await page.inner_text("[data-testid=round]")
        await page.click("a[data-tab=hoa-don]")
        await page.fill("#f-class", "1B")
        await page.click("#f-go")
        await expect(page.locator("[data-testid=invoice-row]")).to_have_count(4)

        # D's uniform is taken without the jacket: the invoice adjusted down, with its reason in the history (the
        # family's 50,000 balance was applied to it already). E moved school: E's uniform invoice cancelled.
        uniform = page.locator("[data-testid=invoice-row]", has_text="180.000")
        await uniform.filter(has_text=d["full_name"]).click()
        await expect(page.locator("[data-testid=invoice-detail]")).to_contain_text("Đồng phục hè")
        await page.select_option("[data-testid=adjust-way]", "-1")
        await page.fill("[data-testid=adjust-amount]", "30.000")
        await page.fill("[data-testid=adjust-reason]", "Không lấy áo khoác")
        await page.click("[data-testid=adjust]")
        await expect(page.locator("#toast")).to_contain_text("Đã điều chỉnh")
        await expect(page.locator("[data-testid=invoice-history]")).to_contain_text("Không lấy áo khoác")
        await expect(page.locator("[data-testid=invoice-outstanding]")).to_have_text("100.000 ₫")
        await assert_accessible(page, "Điều chỉnh hóa đơn")
        await uniform.filter(has_text=e["full_name"]).click()
        await page.fill("[data-testid=cancel-reason]", "Chuyển trường")
        await page.click("[data-testid=invoice-cancel]")
        await expect(page.locator("[data-testid=invoice-detail]")).to_contain_text("Đã hủy")
        assert "Hủy hóa đơn kỳ 2026-09" in asked[-1]
        # D's uniform is still owed (150,000 now): its parent's link and reference, to pay from the phone below.
        await page.locator("[data-testid=invoice-row]", has_text="150.000").filter(has_text=d["full_name"]).click()
        await expect(page.locator("[data-testid=invoice-detail]")).to_contain_text("Đồng phục hè")
        uniform_link = await page.get_attribute("[data-testid=pay-link]", "href")
        uniform_ref = re.search(r"Mã thanh toán (\w+)", await page.inner_text("[data-testid=invoice-detail]"))
        assert uniform_link and uniform_ref

        # Every page fits a 1366×768 laptop without scrolling sideways, and at 200 % zoom; axe-core on each; the
        # parent's page fits a 360-pixel phone.
        # The school's certificates: what each signs, valid until when, how many receipts it has signed.
        await page.click("a[data-tab=truong]")
        await expect(page.locator("[data-testid=key-row]")).to_have_count(2)
        assert "Ký mã QR" in await page.inner_text("[data-testid=keys]")
        # The messages to parents: none could go (this school has no channel configured): each says why.
        await page.click("a[data-tab=tin-nhan]")
        await expect(page.locator("[data-testid=message-row]").first).to_contain_text("Không gửi")
        assert "Không có kênh nào gửi được" in await page.inner_text("[data-testid=message-rows]")
        tabs = ("truong", "thiet-lap", "hoa-don", "ngoai-le", "da-khop", "sao-ke", "tien-mat", "chot-ngay", "tin-nhan")
        for tab in tabs:
            await page.click(f"a[data-tab={tab}]")
            await page.wait_for_load_state("networkidle")
            assert await page.evaluate("document.documentElement.scrollWidth") <= 1366, tab
            await assert_accessible(page, tab)
        await page.set_viewport_size(ZOOMED)
        for tab in tabs:
            await page.click(f"a[data-tab={tab}]")
            await page.wait_for_load_state("networkidle")
            assert await wider_than_the_window(page) == [], f"{tab} at 200 %"
        await page.set_viewport_size({"width": 1366, "height": 768})
        phone = await browser.new_page(viewport={"width": 360, "height": 740})
        await phone.goto(a["pay_url"])  # paid (by the split): the parent sees it and the receipt
        await expect(phone.locator("a", has_text="Biên lai điện tử")).to_be_visible()
        await assert_accessible(phone, "the parent's page")
        assert await phone.evaluate("document.documentElement.scrollWidth") <= 360
        await phone.screenshot(path=str(SHOTS / "parent-page-phone.png"), full_page=True)
        await phone.close()

        # Signing out ends the session: the page shows the sign-in form again, also after a reload.
        await page.click("#signout")
        await expect(page.locator("#u-name")).to_be_visible()
        await page.reload()
        await expect(page.locator("#u-name")).to_be_visible()
        await _the_principal_approves_the_day(page, base["invoicing"])

        # After the day's close: D's parent opens the uniform's link on the phone, saves the QR image, pays from
        # the bank's app; the page shows the receipt by itself, without being reloaded.
        phone = await browser.new_page(viewport={"width": 360, "height": 740})
        await phone.goto(uniform_link)
        async with phone.expect_download() as saved:
            await phone.click("[data-testid=save-qr]")
        image = await asyncio.to_thread(Path(await (await saved.value).path()).read_bytes)
        [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image)))
        assert code.text.startswith("000201") and "5406100000" in code.text  # VietQR, 100,000 đồng
        assert await phone.locator("[data-testid=bank-apps] a").count() == 5
        assert await phone.evaluate("document.documentElement.scrollWidth") <= 360
        await phone.evaluate("window.stayedOnThePage = true")
        async with httpx.AsyncClient(timeout=30) as http:
            await _pay(http, base["reconciliation"], 40, 100_000, f"{uniform_ref.group(1)} DONG PHUC")
        await expect(phone.locator("[data-testid=receipt]")).to_have_count(2, timeout=30_000)
        assert await phone.evaluate("window.stayedOnThePage === true")  # updated in place, not reloaded
        await expect(phone.locator("#live")).to_contain_text("vừa ghi nhận")
        await phone.close()
        assert not errors, errors
        await browser.close()


async def _the_principal_approves_the_day(page, invoicing: str) -> None:
    """The school's principal (read and approve): the same page shows only the day's close, which they approve."""
    from playwright.async_api import expect

    async with httpx.AsyncClient(timeout=30) as http:
        made = await http.post(
            f"{invoicing}/accounts",
            headers={"Authorization": f"Bearer {_token('service')}"},
            json={
                "username": "hieutruong.nt",
                "display_name": "Lê Văn Hùng",
                "role": "principal",
                "district_code": "HN-CAU-GIAY",
                "schools": [SCHOOL],
            },
        )
    assert made.status_code == 200, made.text
    await page.goto(made.json()["link"])
    await page.fill("#password", "hiệu trưởng duyệt sổ quỹ")
    await page.fill("#again", "hiệu trưởng duyệt sổ quỹ")
    await page.click("#save")
    await expect(page.locator("#done")).to_be_visible()
    await page.goto(f"{invoicing}/ketoan")
    await page.fill("#u-name", "hieutruong.nt")
    await page.fill("#u-pass", "hiệu trưởng duyệt sổ quỹ")
    await page.click("#signin-go")  # no second factor: a principal moves no money
    await expect(page.locator("[data-testid=close-approval]")).to_contain_text("chưa duyệt")
    visible = [t for t in await page.locator("#tabs a").all() if await t.is_visible()]
    assert [await t.get_attribute("data-tab") for t in visible] == ["chot-ngay"]
    assert "Khớp đúng" in await page.inner_text("[data-testid=close-status]")
    await page.fill("#d-note", "Đã đối chiếu sổ quỹ")
    await page.click("#d-approve")
    await expect(page.locator("[data-testid=close-approval]")).to_contain_text("Hiệu trưởng hieutruong.nt đã duyệt")
    assert "Đã đối chiếu sổ quỹ" in await page.inner_text("[data-testid=close-approval]")
    assert await page.locator("#d-approve").is_disabled()
    await page.click("#signout")
    await expect(page.locator("#u-name")).to_be_visible()
