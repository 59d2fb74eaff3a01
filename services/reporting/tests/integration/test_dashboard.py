"""Reporting on the real PostgreSQL and Kafka, and the dashboard in a real browser (Debian's Chromium)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer

from devinfra.testing import free_port, wait_until
from reporting.main import SPEC, create_app
from reporting.settings import ReportingSettings
from shared.auth import mint_token
from shared.events.envelope import wrap
from shared.events.topics import Topic, topic_name
from shared.formatting import VN
from shared.settings import DEV_JWT_SECRET
from tuition.invoicing.v1.events_pb2 import InvoiceIssued, InvoiceLine, SchoolRegistered
from tuition.reconciliation.v1.events_pb2 import Channel, PaymentMatched, PaymentReversed, RefundRecorded

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

    def school(self, school: str, name: str, district: str) -> None:
        self.invoicing.append(
            (
                SchoolRegistered(
                    school_id=school,
                    name=name,
                    district_code=district,
                    code=school,
                    bank_bin="970436",
                    account_number="0011001234567",
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

    def pay(self, key: str, school: str, amount: int, channel: int, payment_id: str | None = None) -> str:
        pid = payment_id or str(uuid.uuid4())
        self.reconciliation.append(
            (
                PaymentMatched(
                    payment_id=pid, invoice_id=self.invoice_ids[key], school_id=school, amount=amount, channel=channel
                ),
                self.invoice_ids[key],
                school,
            )
        )
        return pid

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
    settings = _settings(await make_database(SPEC.migrations), infra_endpoints, topic_prefix)
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

        # Replaying the topics into an empty database gives the same figures.
        replay = _settings(
            await make_database(SPEC.migrations), infra_endpoints, topic_prefix, group=f"replay{uuid.uuid4().hex[:6]}."
        )
        async with serve(replay) as (replay_base, _):

            async def same() -> bool:
                return await _district(replay_base) == await _district(base)

            await wait_until(same, timeout=60, what="the replayed projections to match")

        await _browser(base, seed, infra_endpoints.kafka, topic_prefix)


async def _browser(base: str, seed: Seed, kafka: str, prefix: str) -> None:
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
        page = await browser.new_page(viewport={"width": 1280, "height": 1000})
        await page.goto(f"{base}/dashboard?token={token('district', district=D1)}&period=2026-09")
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
        assert "token" not in page.url  # the token does not stay in the address bar
        assert await page.locator("tr.below").count() == 2  # under the 100% target
        await asyncio.to_thread(Path("test-artifacts").mkdir, exist_ok=True)
        await page.screenshot(path="test-artifacts/dashboard.png", full_page=True)
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
        # Drill down to a school.
        await page.locator("[data-testid=school-row]", has_text="Hoa Sen").click()
        await page.wait_for_selector("[data-testid=fee-row]")
        assert await page.locator("[data-testid=fee-row]").count() == 2
        await page.screenshot(path="test-artifacts/dashboard-school.png", full_page=True)
        await browser.close()


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
