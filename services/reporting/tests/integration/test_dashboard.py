"""Reporting on the real PostgreSQL and Kafka, and the dashboard in a real browser (Debian's Chromium)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime
from io import BytesIO
from pathlib import Path

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer

from devinfra.testing import free_port, service_app, serving, wait_until
from reporting.main import SPEC, create_app
from reporting.settings import ReportingSettings
from shared.auth import mint_token
from shared.events.envelope import wrap
from shared.events.topics import Topic, topic_name
from shared.formatting import VN
from shared.settings import DEV_JWT_SECRET
from tests.e2e.accessibility import ZOOMED, assert_accessible, wider_than_the_window
from tuition.invoicing.v1.events_pb2 import InvoiceIssued, InvoiceLine, RosterCounted, SchoolRegistered
from tuition.reconciliation.v1.events_pb2 import (
    Channel,
    CreditActionTaken,
    CreditReceived,
    PaymentMatched,
    PaymentReversed,
    RefundRecorded,
)

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
D1, D2 = "HN-CAU-GIAY", "HN-BA-DINH"


def token(role: str, **scope: str) -> str:
    return mint_token(DEV_JWT_SECRET, role=role, subject=f"test-{role}", **scope)


class Seed:
    """A small district: invoices and payments as the other services publish them."""

    def __init__(self) -> None:
        self.invoicing: list[tuple[object, str, str]] = []
        self.reconciliation: list[tuple[object, str, str]] = []
        self.invoice_ids: dict[str, str] = {}

    def school(self, school: str, name: str, district: str, *, account: bool = True) -> None:
        self.invoicing.append(
            (
                SchoolRegistered(
                    school_id=school,
                    name=name,
                    district_code=district,
                    code=school,
                    bank_bin="970436" if account else "",
                    account_number="0011001234567" if account else "",
                    ownership="public",
                ),
                school,
                school,
            )
        )

    def invoice(
        self,
        key: str,
        school: str,
        lines: dict[str, int],
        *,
        period: str = "2026-09",
        reduction: tuple[str, int] | None = None,
        cls: str = "1A1",
    ) -> None:
        iid = str(uuid.uuid4())
        self.invoice_ids[key] = iid
        invoice_lines = [InvoiceLine(category=c, amount=a, name=c) for c, a in lines.items()]
        if reduction:
            invoice_lines[0].reduction, invoice_lines[0].policy_category = reduction[1], reduction[0]
        self.invoicing.append(
            (
                InvoiceIssued(
                    invoice_id=iid,
                    school_id=school,
                    student_id=str(uuid.uuid4()),
                    grade=f"Khối {cls[0]}",
                    class_name=cls,
                    period=period,
                    school_year="2026-2027",
                    due_date=f"{period}-15",
                    total=sum(lines.values()),
                    lines=invoice_lines,
                ),
                iid,
                school,
            )
        )

    def pay(
        self, key: str, school: str, amount: int, channel: int, payment_id: str | None = None, at: str | None = None
    ) -> str:
        pid = payment_id or str(uuid.uuid4())
        m = PaymentMatched(
            payment_id=pid, invoice_id=self.invoice_ids[key], school_id=school, amount=amount, channel=channel
        )
        if at:
            m.paid_at.FromDatetime(datetime.fromisoformat(at))
        self.reconciliation.append((m, self.invoice_ids[key], school))
        return pid

    def roster(self, school: str, students: int, with_personal_id: int) -> None:
        m = RosterCounted(school_id=school, students=students, with_personal_id=with_personal_id)
        m.counted_at.GetCurrentTime()
        self.invoicing.append((m, school, school))

    async def publish(self, kafka: str, prefix: str) -> None:
        await _send(kafka, prefix, Topic.INVOICING, self.invoicing)
        await _send(kafka, prefix, Topic.RECONCILIATION, self.reconciliation)


async def _send(kafka: str, prefix: str, topic: Topic, items: list[tuple[object, str, str]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    for msg, key, school in items:
        env = wrap(msg, producer="test", aggregate_id=key, school_id=school)
        await producer.send_and_wait(topic_name(topic, prefix), env.SerializeToString(), key=key.encode())
    await producer.stop()


def seed_district() -> Seed:
    s = Seed()
    s.school("MN-A", "Trường Mầm non Hoa Sen", D1)
    s.school("TH-B", "Trường Tiểu học Nghĩa Tân", D1)
    s.school("THCS-C", "Trường THCS Cầu Giấy", D1)
    s.school("TH-D", "Trường Tiểu học Ba Đình", D2)
    for n in range(1, 5):
        s.invoice(
            f"A{n}",
            "MN-A",
            {"meals": 600_000, "services": 400_000},
            reduction=("HO_NGHEO", 100_000) if n == 1 else None,
            cls="5A1" if n < 3 else "4B1",
        )
    s.invoice("B1", "TH-B", {"meals": 700_000})
    s.invoice("B2", "TH-B", {"services": 300_000})
    s.invoice("C1", "THCS-C", {"tuition": 500_000})
    s.invoice("C2", "THCS-C", {"tuition": 500_000})
    s.invoice("C3", "THCS-C", {"tuition": 500_000}, period="2026-10")
    s.invoice("D1", "TH-D", {"meals": 900_000})
    s.pay("A1", "MN-A", 1_000_000, Channel.VIETQR)
    s.pay("A2", "MN-A", 1_000_000, Channel.BANK_TRANSFER)
    s.pay("A3", "MN-A", 500_000, Channel.CASH)  # partial, in cash
    reversed_id = s.pay("A4", "MN-A", 1_000_000, Channel.BANK_TRANSFER)
    s.reconciliation.append(
        (
            PaymentReversed(payment_id=reversed_id, invoice_id=s.invoice_ids["A4"], school_id="MN-A", amount=1_000_000),
            s.invoice_ids["A4"],
            "MN-A",
        )
    )
    s.pay("B1", "TH-B", 700_000, Channel.CASH)
    s.pay("B2", "TH-B", 300_000, Channel.VIETQR)
    s.pay("C1", "THCS-C", 200_000, Channel.BANK_TRANSFER)  # partial, then completed
    s.pay("C1", "THCS-C", 300_000, Channel.BANK_TRANSFER)
    s.pay("C2", "THCS-C", 600_000, Channel.VIETQR)  # overpaid: 500,000 counts as collected
    s.pay("D1", "TH-D", 900_000, Channel.CASH)
    return s


@contextlib.asynccontextmanager
async def serve(settings: ReportingSettings):
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: _up(port), what="the reporting server")
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        await task


async def _up(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as c:
            return (await c.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def _get(base: str, path: str, tok: str, **params: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base) as c:
        return await c.get(path, params=params, headers={"Authorization": f"Bearer {tok}"})


async def _district(base: str, period: str | None = "2026-09") -> dict:
    params = {"period": period} if period else {}
    return (await _get(base, f"/api/districts/{D1}/summary", token("district", district=D1), **params)).json()


def _settings(dsn: str, infra, prefix: str, group: str | None = None) -> ReportingSettings:
    return ReportingSettings(
        database=dsn.rsplit("/", 1)[1],
        pg_dsn=infra.pg_dsn,
        kafka_bootstrap_servers=infra.kafka,
        topic_prefix=prefix,
        topic_partitions=3,
        log_level="WARNING",
        consumer_group_prefix=group,
    )


async def test_the_district_dashboard_shows_exact_rates_replays_identically_and_runs_in_a_browser(
    make_database, infra_endpoints, topic_prefix
):
    seed = seed_district()
    await seed.publish(infra_endpoints.kafka, topic_prefix)
    sign_in = f"http://127.0.0.1:{free_port()}"  # the suite's sign-in (invoicing), started for the browser
    settings = _settings(await make_database(SPEC.migrations), infra_endpoints, topic_prefix)
    settings.workspace_origin = sign_in
    async with serve(settings) as (base, app):

        async def settled() -> bool:
            return await app.state.runtime.db().fetchval("SELECT count(*) FROM event_log") == len(seed.invoicing) + len(
                seed.reconciliation
            )

        await wait_until(settled, what="every event applied")
        view = await _district(base)
        rows = {r["school_id"]: r for r in view["schools"]}
        assert set(rows) == {"MN-A", "TH-B", "THCS-C"}  # TH-D is another district's
        a, b, c = rows["MN-A"], rows["TH-B"], rows["THCS-C"]
        assert (a["invoiced"], a["collected"], a["cashless"], a["cash"]) == (4_000_000, 2_500_000, 2_000_000, 500_000)
        assert (a["collection_rate_pct"], a["cashless_share_pct"], a["cashless_share_by_count_pct"]) == (
            62.5,
            80.0,
            66.7,
        )
        assert (a["students"], a["students_fully_paid"], a["payments"]) == (4, 2, 3)
        assert (b["collection_rate_pct"], b["cashless_share_pct"], b["cashless_share_by_count_pct"]) == (
            100.0,
            30.0,
            50.0,
        )
        assert (c["invoiced"], c["collected"], c["collection_rate_pct"], c["cashless_share_pct"]) == (
            1_000_000,
            1_000_000,
            100.0,
            100.0,
        )
        t = view["totals"]
        assert (t["invoiced"], t["collected"], t["cashless"]) == (6_000_000, 4_500_000, 3_300_000)
        assert (t["collection_rate_pct"], t["cashless_share_pct"]) == (75.0, 73.3)
        assert [r["school_id"] for r in view["schools"]] == ["THCS-C", "TH-B", "MN-A"]  # ranked
        assert view["exemptions"] == [
            {"policy_category": "HO_NGHEO", "category": "meals", "students": 1, "reduction": 100_000}
        ]
        all_periods = await _district(base, None)
        assert {r["school_id"]: r["invoiced"] for r in all_periods["schools"]}["THCS-C"] == 1_500_000
        meals = (
            await _get(
                base, f"/api/districts/{D1}/summary", token("district", district=D1), period="2026-09", fee_type="meals"
            )
        ).json()["totals"]
        assert (meals["invoiced"], meals["collected"]) == (2_400_000 + 700_000, 1_500_000 + 700_000)
        school = (await _get(base, "/api/schools/MN-A/summary", token("accountant", school="MN-A"))).json()
        assert {f["category"]: f["collected"] for f in school["by_fee_type"]} == {
            "meals": 1_500_000,
            "services": 1_000_000,
        }
        assert {g["class_name"]: g["collection_rate_pct"] for g in school["by_class"]} == {"4B1": 25.0, "5A1": 100.0}
        check = (await _get(base, "/api/schools/MN-A/check", token("service"))).json()
        assert check["consistent"] and check["events"] > 0, check
        # Exports carry the numbers of the page.
        csv_text = (
            await _get(base, f"/api/districts/{D1}/export.csv", token("district", district=D1), period="2026-09")
        ).text
        assert "Trường Mầm non Hoa Sen,4000000,2500000,2000000,500000,1500000" in csv_text
        xlsx = (
            await _get(base, f"/api/districts/{D1}/export.xlsx", token("district", district=D1), period="2026-09")
        ).content
        from io import BytesIO

        from openpyxl import load_workbook

        sheet = load_workbook(BytesIO(xlsx)).active
        by_name = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
        assert by_name["Trường THCS Cầu Giấy"][7] == 100.0 and by_name[f"Tổng {D1}"][1] == 6_000_000
        assert by_name["Trường THCS Cầu Giấy"][8] == 100.0  # its target beside it

        # Replaying the topics into an empty database gives the same figures.
        replay = _settings(
            await make_database(SPEC.migrations), infra_endpoints, topic_prefix, group=f"replay{uuid.uuid4().hex[:6]}."
        )
        async with serve(replay) as (replay_base, _):

            async def same() -> bool:
                return await _district(replay_base) == await _district(base)

            await wait_until(same, timeout=60, what="the replayed projections to match")

        invoicing = await service_app(
            "invoicing",
            make_database,
            infra_endpoints,
            topic_prefix + "signin.",
            public_url=sign_in,
            workspace_origin=sign_in,
            dashboard_url=base,
        )
        async with serving(invoicing, int(sign_in.rsplit(":", 1)[1])):
            await _officer(sign_in)
            await _browser(base, sign_in, seed, infra_endpoints.kafka, topic_prefix)


OFFICER, PASSWORD = "pgd.caugiay", "bảng theo dõi của phòng giáo dục"


async def _officer(sign_in: str) -> None:
    """A district officer's account (read only: no second factor), invited and accepted."""
    async with httpx.AsyncClient(base_url=sign_in) as http:
        made = await http.post(
            "/accounts",
            headers={"Authorization": f"Bearer {token('service')}"},
            json={"username": OFFICER, "display_name": "Cán bộ phòng", "role": "district", "district_code": D1},
        )
        assert made.status_code == 200, made.text
        secret = made.json()["link"].split("#", 1)[1]
        assert (await http.post("/auth/links/open", json={"secret": secret})).status_code == 200
        r = await http.post("/auth/links/accept", json={"secret": secret, "password": PASSWORD})
        assert r.status_code == 200, r.text


async def _browser(base: str, sign_in: str, seed: Seed, kafka: str, prefix: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        # Not signed in: the page sends the officer to the suite's sign-in, which brings them back.
        await page.goto(f"{base}/dashboard?period=2026-09")
        await assert_accessible(page, "the dashboard, signed out")
        await page.click("#sign-in")
        await page.wait_for_url(f"{sign_in}/dang-nhap*")
        await assert_accessible(page, "the sign-in page")
        await page.fill("#u-name", OFFICER)
        await page.fill("#u-pass", PASSWORD)
        await page.click("#signin-go")
        await page.wait_for_url(f"{base}/dashboard?period=2026-09")
        await page.wait_for_selector("[data-testid=school-row]")
        names = await page.locator("[data-testid=school-name]").all_inner_texts()
        rates = await page.locator("[data-testid=collection-rate]").all_inner_texts()
        cashless = await page.locator("[data-testid=cashless-share]").all_inner_texts()
        assert [n.split(" chưa")[0].strip() for n in names] == [
            "Trường THCS Cầu Giấy",
            "Trường Tiểu học Nghĩa Tân",
            "Trường Mầm non Hoa Sen",
        ]
        assert rates == ["100,0%", "100,0%", "62,5%"] and cashless == ["100,0%", "30,0%", "80,0%"]
        assert await page.locator("[data-testid=total-collection-rate]").inner_text() == "75,0%"
        assert "token" not in page.url  # no token in the address bar, nor in the page's storage
        assert await page.evaluate("Object.keys(sessionStorage).length + Object.keys(localStorage).length") == 0
        assert await page.locator("tr.below").count() == 2  # under the 100% target
        assert "dưới mục tiêu" in await page.inner_text("[data-testid=legend]")  # what the colours say
        # Each figure below its own target is marked in its cell; the chart draws the plan's target line.
        assert await page.locator("td.below").count() == 5
        await page.wait_for_selector("[data-testid=target-line]", state="attached")
        await asyncio.to_thread(Path("test-artifacts").mkdir, exist_ok=True)
        await page.screenshot(path="test-artifacts/dashboard.png", full_page=True)
        await assert_accessible(page, "the district dashboard")
        assert await wider_than_the_window(page) == []  # the ranking fits 1366 pixels
        # Live: a payment arrives; the page updates without reloading.
        seed.reconciliation = []
        seed.pay("A4", "MN-A", 1_000_000, Channel.VIETQR)
        await _send(kafka, prefix, Topic.RECONCILIATION, seed.reconciliation)
        await page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=collection-rate]')]"
            ".some(e => e.textContent === '87,5%')",
            timeout=15_000,
        )
        assert await page.locator("[data-testid=total-collection-rate]").inner_text() == "91,7%"
        await _audit_in_the_browser(page, kafka, prefix)
        await _target_from_the_page(page)
        await _report_from_the_page(page)
        # Drill down to a school, by keyboard: its row focused, Enter.
        await page.locator("[data-testid=school-row]", has_text="Hoa Sen").focus()
        await page.keyboard.press("Enter")
        await page.wait_for_selector("[data-testid=fee-row]")
        assert await page.locator("[data-testid=fee-row]").count() == 2
        await page.screenshot(path="test-artifacts/dashboard-school.png", full_page=True)
        await assert_accessible(page, "a school's figures")
        # 200 % zoom on the same laptop: nothing scrolls sideways but the tables' own regions.
        await page.set_viewport_size(ZOOMED)
        assert await wider_than_the_window(page) == [], "a school's figures at 200 %"
        await page.goto(f"{base}/dashboard?period=2026-09")
        await page.wait_for_selector("[data-testid=school-row]")
        assert await wider_than_the_window(page) == [], "the dashboard at 200 %"
        await browser.close()


async def _target_from_the_page(page) -> None:
    """The district office sets a target of its plan on the page; the trajectory shows it."""
    await page.select_option("#t-indicator", "cashless_amount")
    await page.fill("#t-year", "2026-2027")
    await page.fill("#t-pct", "150")
    await page.fill("#t-source", "Kế hoạch 45/KH-PGDĐT")
    await page.click("#t-save")
    assert "từ 0 đến 100" in await page.inner_text("#t-note")  # refused on the page, nothing sent
    await page.fill("#t-pct", "92.5")
    await page.click("#t-save")
    await page.wait_for_function(
        "() => document.querySelector('[data-testid=trajectory]')?.textContent.includes('Kế hoạch 45/KH-PGDĐT')"
    )
    assert "92,5%" in await page.inner_text("[data-testid=trajectory]")


async def _report_from_the_page(page) -> None:
    """Issue 30 §6: the period picker opened on the link's month; the report to send upward for it, downloaded
    from the page under its period's name and read back; a quarter picked shows the quarter."""
    from pypdf import PdfReader

    assert await page.input_value("#period-kind") == "month"
    assert await page.input_value("#period-month") == "2026-09"
    await page.click("[data-testid=report-pdf]")
    assert "người ký" in await page.inner_text("#report-note")  # a report needs its signatory
    await page.fill("#r-signatory", "Nguyễn Văn Trưởng")
    async with page.expect_download() as download:
        await page.click("[data-testid=report-pdf]")
    got = await download.value
    assert got.suggested_filename == f"bao-cao-kdtm-{D1}-2026-09.pdf"
    text = "".join(p.extract_text() for p in PdfReader(await got.path()).pages)
    assert "Nguyễn Văn Trưởng" in text and "Tháng 9/2026" in text
    async with page.expect_download() as download:
        await page.click("[data-testid=report-xlsx]")
    got = await download.value
    assert got.suggested_filename == f"bao-cao-kdtm-{D1}-2026-09.xlsx"
    from openpyxl import load_workbook

    data = await asyncio.to_thread(Path(await got.path()).read_bytes)
    cells = [c for row in load_workbook(BytesIO(data)).active.iter_rows(values_only=True) for c in row if c]
    assert any("Nguyễn Văn Trưởng" in str(c) for c in cells) and any("9/2026" in str(c) for c in cells)
    await page.select_option("#period-kind", "quarter")
    await page.fill("#period-qyear", "2026")
    await page.select_option("#period-q", "Q3")
    await page.click("#apply")
    await page.wait_for_function("() => document.getElementById('subtitle').textContent.includes('2026-Q3')")
    assert "2026-Q3" in await page.inner_text("#report-note")


async def _audit_in_the_browser(page, kafka: str, prefix: str) -> None:
    """The district's audit of money actions on the page: empty until someone moves money, then live, exported."""
    await page.wait_for_selector("[data-testid=no-money-actions]")
    cash = CreditReceived(
        credit_id="c-cash", school_id="MN-A", amount=250_000, channel=Channel.CASH, source="cash",
        recorded_by="thuquy.hoasen",
    )  # fmt: skip
    refund = CreditActionTaken(
        action_id="a1", credit_id="c-x", school_id="TH-B", kind="refund", amount=99_000, actor="ketoan.nghiatan",
        reason="Chuyển nhầm",
    )  # fmt: skip
    await _send(kafka, prefix, Topic.RECONCILIATION, [(cash, "c-cash", "MN-A"), (refund, "c-x", "TH-B")])
    await page.wait_for_function("() => document.querySelectorAll('[data-testid=money-action]').length === 2")
    actors = await page.locator("[data-testid=money-action] [data-testid=actor]").all_inner_texts()
    assert sorted(actors) == ["ketoan.nghiatan", "thuquy.hoasen"]
    row = page.locator("[data-testid=money-action]", has_text="ketoan.nghiatan")
    assert "Hoàn tiền cho người nộp" in await row.inner_text() and "Chuyển nhầm" in await row.inner_text()
    assert (await row.locator("[data-testid=amount]").inner_text()).startswith("99.000")
    async with page.expect_download() as download:
        await page.click("[data-testid=audit-export-csv]")
    path = await (await download.value).path()
    text = (await asyncio.to_thread(Path(path).read_bytes)).decode("utf-8-sig")
    assert "thuquy.hoasen" in text and "Thu tiền mặt" in text and "250000" in text


async def test_an_accountant_cannot_read_another_schools_figures(make_database, infra_endpoints, topic_prefix):
    seed = seed_district()
    await seed.publish(infra_endpoints.kafka, topic_prefix)
    settings = _settings(await make_database(SPEC.migrations), infra_endpoints, topic_prefix)
    async with serve(settings) as (base, app):

        async def schools() -> bool:
            return await app.state.runtime.db().fetchval("SELECT count(*) FROM schools") == 4

        await wait_until(schools, what="schools known")
        assert (await _get(base, "/api/schools/TH-B/summary", token("accountant", school="MN-A"))).status_code == 403
        assert (await _get(base, "/api/schools/MN-A/summary", token("accountant", school="MN-A"))).status_code == 200
        assert (await _get(base, f"/api/districts/{D1}/summary", token("district", district=D2))).status_code == 403
        assert (await _get(base, "/api/schools/MN-A/summary", token("district", district=D2))).status_code == 403
        assert (await _get(base, f"/api/districts/{D1}/summary", token("accountant", school="MN-A"))).status_code == 403
        assert (await _get(base, "/api/schools/MN-A/summary", token("parent", school="MN-A"))).status_code == 403
        async with httpx.AsyncClient(base_url=base) as c:
            assert (await c.get("/api/schools/MN-A/summary")).status_code == 401


async def test_refunds_recorded_by_reconciliation_are_shown_per_school_and_district(
    make_database, infra_endpoints, topic_prefix
):
    seed = Seed()
    seed.school("MN-A", "Trường Mầm non Hoa Sen", D1)
    seed.school("TH-D", "Trường Tiểu học Ba Đình", D2)
    for school, credit, amount in (("MN-A", "c1", 50_000), ("MN-A", "c2", 120_000), ("TH-D", "c3", 99_000)):
        refund = RefundRecorded(
            credit_id=credit, school_id=school, amount=amount, bank_reference=f"FT-{credit}", recorded_by="ke-toan"
        )
        seed.reconciliation.append((refund, credit, school))
    await seed.publish(infra_endpoints.kafka, topic_prefix)
    settings = _settings(await make_database(SPEC.migrations), infra_endpoints, topic_prefix)
    async with serve(settings) as (base, app):

        async def settled() -> bool:
            # The schools come on another topic and consumer: until a school is known, a district's token has
            # no scope over it (403), whatever refunds are already in.
            db = app.state.runtime.db()
            row = await db.fetchrow("SELECT (SELECT count(*) FROM refunds) AS r, (SELECT count(*) FROM schools) AS s")
            return (row["r"], row["s"]) == (3, 2)

        await wait_until(settled, what="the refunds and their schools in the projection")
        month = datetime.now(VN).strftime("%Y-%m")
        school = (await _get(base, "/api/schools/MN-A/summary", token("district", district=D1), period=month)).json()
        assert school["refunds"] == {"count": 2, "amount": 170_000}
        district = (await _get(base, f"/api/districts/{D1}/summary", token("district", district=D1))).json()
        assert district["refunds"] == {"count": 2, "amount": 170_000}  # TH-D is another district's
        other_month = (await _get(base, "/api/schools/MN-A/summary", token("service"), period="2020-01")).json()
        assert other_month["refunds"] == {"count": 0, "amount": 0}


def seed_plan_district() -> Seed:
    """Three schools, every number below worked out by hand in the test."""
    s = Seed()
    s.school("P1", "Trường Tiểu học Quảng An", D1)
    s.school("P2", "Trường THCS Tây Hồ", D1)
    s.school("P3", "Trường Mầm non Nhật Tân", D1, account=False)
    s.invoice("X1", "P1", {"meals": 1_000_000})
    s.invoice("X2", "P1", {"meals": 1_000_000})
    s.invoice("Y1", "P2", {"tuition": 800_000})
    s.invoice("Y2", "P2", {"tuition": 800_000})
    s.invoice("Y3", "P2", {"tuition": 800_000}, period="2026-10")
    s.invoice("Z1", "P3", {"meals": 500_000})
    # X1: 400,000 in cash first, then 700,000 by transfer: 1,000,000 collected, of which 600,000 cashless;
    # the last 100,000 transferred is a balance. ("Cashless first" would have said 1,000,000 cashless.)
    s.pay("X1", "P1", 700_000, Channel.BANK_TRANSFER, at="2026-09-10T03:00:00+00:00")
    s.pay("X1", "P1", 400_000, Channel.CASH, at="2026-09-08T03:00:00+00:00")  # sent later, paid earlier
    s.pay("X2", "P1", 1_000_000, Channel.VIETQR, at="2026-09-09T03:00:00+00:00")
    s.pay("Y1", "P2", 800_000, Channel.VIETQR, at="2026-09-09T03:00:00+00:00")
    s.pay("Y3", "P2", 800_000, Channel.BANK_TRANSFER, at="2026-10-09T03:00:00+00:00")
    s.pay("Z1", "P3", 500_000, Channel.CASH, at="2026-09-09T03:00:00+00:00")
    s.roster("P1", 200, 198)
    s.roster("P2", 100, 90)
    s.roster("P3", 50, 50)
    return s


PLAN = [
    {"indicator": "cashless_amount", "school_year": "2023-2024", "target_pct": 85, "source": "KH 45/KH-UBND 2023"},
    {"indicator": "cashless_amount", "school_year": "2026-2027", "target_pct": 90, "source": "KH 12/KH-UBND 2026"},
    {"indicator": "collection", "school_year": "2026-2027", "target_pct": 95, "source": "KH 12/KH-UBND 2026"},
    {"indicator": "schools_accepting", "school_year": "2026-2027", "target_pct": 60, "source": "KH 12/KH-UBND 2026"},
    {
        "indicator": "personal_id",
        "school_year": "2026-2027",
        "target_pct": 99.5,
        "source": "KH riêng",
        "school_id": "P1",
    },
]


async def _put(base: str, path: str, tok: str, body: dict) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base) as c:
        return await c.put(path, json=body, headers={"Authorization": f"Bearer {tok}"})


async def test_the_plans_indicators_against_their_own_targets_by_hand(make_database, infra_endpoints, topic_prefix):
    seed = seed_plan_district()
    await seed.publish(infra_endpoints.kafka, topic_prefix)
    settings = _settings(await make_database(SPEC.migrations), infra_endpoints, topic_prefix)
    district_token = token("district", district=D1)
    async with serve(settings) as (base, app):

        async def settled() -> bool:
            n = await app.state.runtime.db().fetchval("SELECT count(*) FROM event_log")
            return n == len(seed.invoicing) + len(seed.reconciliation)

        await wait_until(settled, what="every event applied")
        # Targets are the district office's data, checked before they are stored.
        path = f"/api/districts/{D1}/targets"
        assert (await _put(base, path, token("district", district=D2), {"targets": PLAN})).status_code == 403
        bad = [PLAN[0] | {"school_year": "2026-2028"}]
        assert "hai năm liền nhau" in (await _put(base, path, district_token, {"targets": bad})).json()["detail"]
        stranger = [PLAN[0] | {"school_id": "TH-D"}]
        assert (await _put(base, path, district_token, {"targets": stranger})).status_code == 422
        assert (await _put(base, path, district_token, {"targets": PLAN})).status_code == 200

        view = (await _get(base, f"/api/districts/{D1}/summary", district_token, period="2026-09")).json()
        assert view["school_year"] == "2026-2027"
        rows = {r["school_id"]: r for r in view["schools"]}
        p1, p2, p3 = rows["P1"], rows["P2"], rows["P3"]
        # P1: 2,000,000 of 2,000,000 collected; cashless 600,000 + 1,000,000 = 1,600,000 (80.0%); by number 2 of 3.
        assert (p1["collected"], p1["cashless"], p1["cash"]) == (2_000_000, 1_600_000, 400_000)
        assert (p1["collection_rate_pct"], p1["cashless_share_pct"], p1["cashless_share_by_count_pct"]) == (
            100.0,
            80.0,
            66.7,
        )
        assert p1["personal_id_share_pct"] == 99.0 and p1["targets"]["personal_id"] == 99.5  # its own target
        assert p1["below_target"] == ["cashless_amount", "cashless_count", "personal_id"]
        # P2: 800,000 of 1,600,000 (50%), all cashless; 90 of 100 pupils with an ID (district: national 99%).
        assert (p2["collection_rate_pct"], p2["cashless_share_pct"], p2["personal_id_share_pct"]) == (50.0, 100.0, 90.0)
        assert p2["below_target"] == ["collection", "personal_id"] and p2["accepts_cashless"]
        # P3 has no collection account: it does not accept cashless payment; everything it took was cash.
        assert (p3["has_account"], p3["accepts_cashless"], p3["cashless_share_pct"]) == (False, False, 0.0)
        assert p3["below_target"] == ["cashless_amount", "cashless_count"]
        t = view["totals"]
        # 3,300,000 of 4,100,000 = 80.5%; 2,400,000 of 3,300,000 = 72.7%; 3 of 5 payments = 60%;
        # 2 of 3 schools accept cashless = 66.7% (target 60%: met); 338 of 350 pupils with an ID = 96.6%.
        assert (t["invoiced"], t["collected"], t["cashless"]) == (4_100_000, 3_300_000, 2_400_000)
        assert (t["collection_rate_pct"], t["cashless_share_pct"], t["cashless_share_by_count_pct"]) == (
            80.5,
            72.7,
            60.0,
        )
        assert (t["schools"], t["schools_accepting_cashless"], t["schools_accepting_pct"]) == (3, 2, 66.7)
        assert (t["students_enrolled"], t["students_with_personal_id"], t["personal_id_share_pct"]) == (350, 338, 96.6)
        assert t["targets"] == {
            "collection": 95.0,
            "cashless_amount": 90.0,
            "cashless_count": 100.0,
            "schools_accepting": 60.0,
            "personal_id": 99.0,
        }
        assert t["below_target"] == ["cashless_amount", "cashless_count", "collection", "personal_id"]
        steps = [(s["indicator"], s["school_year"], s["target_pct"]) for s in view["trajectory"]]
        assert ("cashless_amount", "2023-2024", 85.0) in steps and ("cashless_amount", "2026-2027", 90.0) in steps

        # The same district by quarter, calendar year and school year.
        q4 = (await _get(base, f"/api/districts/{D1}/summary", district_token, period="2026-Q4")).json()
        assert {r["school_id"]: r["accepts_cashless"] for r in q4["schools"]} == {"P1": False, "P2": True, "P3": False}
        assert (q4["totals"]["invoiced"], q4["totals"]["schools_accepting_pct"]) == (800_000, 33.3)
        for period in ("2026", "2026-2027"):
            whole = (await _get(base, f"/api/districts/{D1}/summary", district_token, period=period)).json()
            assert (whole["totals"]["invoiced"], whole["totals"]["collected"]) == (4_900_000, 4_100_000), period
        earlier = (await _get(base, f"/api/districts/{D1}/summary", district_token, period="2025-09")).json()
        assert earlier["school_year"] == "2025-2026" and earlier["totals"]["targets"]["cashless_amount"] == 85.0
        trend = (await _get(base, f"/api/districts/{D1}/trend", district_token)).json()
        assert [(r["period"], r["targets"]["cashless_amount"]) for r in trend] == [("2026-09", 90.0), ("2026-10", 90.0)]
        # Per fee type: meals 2,500,000 invoiced, 2,500,000 collected, 1,600,000 cashless.
        school = (await _get(base, "/api/schools/P1/summary", district_token, period="2026-09")).json()
        assert [(f["category"], f["collected"], f["cashless"]) for f in school["by_fee_type"]] == [
            ("meals", 2_000_000, 1_600_000)
        ]
        assert school["totals"]["below_target"] == ["cashless_amount", "cashless_count", "personal_id"]
        check = (await _get(base, "/api/schools/P1/check", token("service"))).json()
        assert check["consistent"], check  # the replay from events counts each đồng the same way

        await _export_with_targets(base, district_token)
        await _report_documents(base, district_token)
        await _sector_link(base)


async def _export_with_targets(base: str, district_token: str) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    r = await _get(base, f"/api/districts/{D1}/export.xlsx", district_token, period="2026-09")
    rows = list(load_workbook(BytesIO(r.content)).active.iter_rows(values_only=True))
    p1 = dict(zip(rows[0], next(row for row in rows if row[0] == "Trường Tiểu học Quảng An"), strict=True))
    assert (p1["Tỷ lệ không dùng tiền mặt theo số tiền (%)"], p1["Mục tiêu theo số tiền (%)"]) == (80.0, 90.0)
    assert p1["Mục tiêu mã định danh (%)"] == 99.5
    assert p1["Chưa đạt mục tiêu"] == "KDTM số tiền, KDTM số GD, mã định danh"
    assert p1["Kỳ"] == "2026-09"  # each row carries its period


async def _report_documents(base: str, district_token: str) -> None:
    from io import BytesIO

    from openpyxl import load_workbook
    from pypdf import PdfReader

    params = {
        "period": "2026-09",
        "signatory": "Nguyễn Văn An",
        "prepared_by": "Trần Thị Bình",
        "place": "Hà Nội",
        "reporting_date": "2026-10-05",
        "number": "45/BC-PGDĐT",
        "recipient": "Sở Giáo dục và Đào tạo Hà Nội",
    }
    r = await _get(base, f"/api/districts/{D1}/report.xlsx", district_token, **params)
    assert r.status_code == 200, r.text
    cells = [row for row in load_workbook(BytesIO(r.content)).active.iter_rows(values_only=True)]
    text = [str(v) for row in cells for v in row if v is not None]
    assert "Hà Nội, ngày 5 tháng 10 năm 2026" in text and "Nguyễn Văn An" in text and "TRƯỞNG PHÒNG" in text
    assert any("Tháng 9/2026" in v for v in text) and "Số: 45/BC-PGDĐT" in text
    assert "Kính gửi: Sở Giáo dục và Đào tạo Hà Nội" in text
    rates = {row[0]: row[1:6] for row in cells if row[0] and str(row[0]).startswith("Tỷ lệ")}
    assert rates["Tỷ lệ thu (số tiền đã thu / phải thu)"] == (3_300_000, 4_100_000, 80.5, 95.0, "Chưa đạt")
    assert rates["Tỷ lệ trường chấp nhận thanh toán không dùng tiền mặt"] == (2, 3, 66.7, 60.0, "Đạt")
    schools = {row[1]: row for row in cells if isinstance(row[0], int)}
    assert schools["Trường Mầm non Nhật Tân"][8] == "Chưa" and schools["Trường THCS Tây Hồ"][4] == 50.0
    r = await _get(base, f"/api/districts/{D1}/report.pdf", district_token, **params)
    pdf = "\n".join(page.extract_text() for page in PdfReader(BytesIO(r.content)).pages)
    for expected in (
        "BÁO CÁO KẾT QUẢ THU HỌC PHÍ",
        "Tháng 9/2026",
        "Nguyễn Văn An",
        "Trần Thị Bình",
        "80,5",
        "66,7",
        "Số: 45/BC-PGDĐT",
        "Kính gửi: Sở Giáo dục",
        "Nơi nhận:",
    ):
        assert expected in pdf, expected
    assert (await _get(base, f"/api/districts/{D1}/report.pdf", district_token, period="2026-09")).status_code == 422


async def _sector_link(base: str) -> None:
    import csv

    path = f"/api/sector/v1/districts/{D1}/indicators"
    assert (await _get(base, path, token("district", district=D1), period="2026-09")).status_code == 403
    doc = (await _get(base, path, token("service"), period="2026-09")).json()
    assert (doc["format"], doc["version"], doc["school_year"]) == ("tuition.sector-indicators", 1, "2026-2027")
    assert [s["school_id"] for s in doc["schools"]] == ["P1", "P2", "P3"]
    assert doc["schools"][0]["cashless"] == 1_600_000 and doc["totals"]["schools_accepting_pct"] == 66.7
    r = await _get(base, path + ".csv", token("service"), period="2026-09")
    assert r.headers["x-format"] == "tuition.sector-indicators; version=1"
    rows = list(csv.DictReader(r.content.decode("utf-8-sig").splitlines()))
    assert [row["school_id"] for row in rows] == ["P1", "P2", "P3", ""]
    assert (rows[0]["cashless"], rows[0]["below_target"]) == ("1600000", "cashless_amount;cashless_count;personal_id")
    assert (rows[3]["collected"], rows[3]["personal_id_share_pct"]) == ("3300000", "96.6")
