"""`make chaos`: parents pay while the suite is broken on purpose; afterwards not one đồng is lost or doubled.

While the payment simulator pushes credits (every webhook delivered 1 to 5 times at once, retried until
accepted as aggregators do; cash with an idempotency key, retried; then the day's statements repeating
every credit), the faults follow one another: each service SIGKILLed and restarted, the Kafka broker
restarted, PostgreSQL restarted, a service frozen (SIGSTOP) longer than its consumers' session so that
the group rebalances without it, then thawed. When everything has settled, the invariants are checked
against the services' own databases and printed:

- the credits reconciliation holds are exactly the credits the bank sent (count and total, to the đồng),
  and the cash entries those entered;
- every payment (allocation) has exactly one receipt, and every receipt one payment;
- receipt numbers per series run 1..n with no gap and no duplicate;
- the dashboard's district totals equal the sums recomputed from invoicing's invoices and
  reconciliation's allocations (not from reporting's own log);
- no dead letter in any service.

`python -m simulator.chaos` (the full run, about 10 minutes); `--short` (a minute or two, in make test).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

import devinfra as infra
from shared.db import with_database
from shared.formatting import VN
from shared.settings import DEV_JWT_SECRET
from simulator import demo, district
from simulator.district import SCHOOLS
from simulator.payments import Credit, Simulator

RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class InfraControl:
    """How to restart the PostgreSQL and Kafka the run uses (None: external, not restarted)."""

    pg_state: Path | None
    pg_port: int
    kafka_state: Path | None
    kafka_port: int
    kafka_controller_port: int

    @classmethod
    def local(cls) -> InfraControl:
        from shared.settings import LOCAL_KAFKA_CONTROLLER_PORT, LOCAL_KAFKA_PORT, LOCAL_PG_PORT, InfraSettings

        settings = InfraSettings()
        base = infra.cache_dir() / "infra"
        return cls(
            base / "pg" if settings.uses_local_postgres else None,
            LOCAL_PG_PORT,
            base / "kafka" if settings.uses_local_kafka else None,
            LOCAL_KAFKA_PORT,
            LOCAL_KAFKA_CONTROLLER_PORT,
        )

    def stop_kafka(self) -> bool:
        if self.kafka_state is None:
            return False
        infra.kafka.stop(self.kafka_state)
        return True

    def start_kafka(self) -> bool:
        assert self.kafka_state is not None
        infra.kafka.start(
            self.kafka_state,
            jars_dir=infra.cache_dir() / "kafka-jars",
            pom=infra.PROJECT_ROOT / "deploy" / "kafka" / "pom.xml",
            port=self.kafka_port,
            controller_port=self.kafka_controller_port,
        )
        return True

    def restart_postgres(self) -> bool:
        if self.pg_state is None:
            return False
        infra.postgres.stop(self.pg_state)
        infra.postgres.start(self.pg_state, port=self.pg_port)
        return True


@dataclass
class Sent:
    """What the bank and the cash desk really sent: the truth the books are checked against."""

    bank: dict[str, int] = field(default_factory=dict)  # bank reference → amount
    cash: dict[str, int] = field(default_factory=dict)  # idempotency key → amount
    deliveries: int = 0
    refused: list[str] = field(default_factory=list)


class ChaosSimulator(Simulator):
    """Parents as the demo has them, delivered as a real aggregator delivers: duplicated and retried."""

    def __init__(self, urls: district.Urls, *, rate: float, share: float, sent: Sent) -> None:
        super().__init__(urls, DEV_JWT_SECRET, rate=rate, share=share, seed=11)
        self.sent = sent

    async def _deliver(self, http: httpx.AsyncClient, make: Any, what: str) -> None:
        """Until the service accepts it (connection refused, 5xx and 429 are retried for up to 5 minutes)."""
        deadline = time.monotonic() + 300
        while True:
            try:
                r = await make(http)
                if r.status_code < 300:
                    return
                if r.status_code not in RETRYABLE:
                    self.sent.refused.append(f"{what}: {r.status_code} {r.text[:200]}")
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.sent.refused.append(f"{what}: not accepted in 5 minutes")
                return
            await asyncio.sleep(0.5)

    async def _send_webhook(self, http: httpx.AsyncClient, c: Credit) -> None:
        self.sent.bank[c.ref] = c.amount
        copies = self.rng.randint(1, 5)
        self.sent.deliveries += copies

        async def post(client: httpx.AsyncClient) -> httpx.Response:
            url, content, headers = self.webhook_request(c)
            return await client.post(url, content=content, headers=headers)

        await asyncio.gather(*(self._deliver(http, post, f"webhook {c.ref}") for _ in range(copies)))

    async def _cash(self, http: httpx.AsyncClient, school: Any, inv: dict[str, Any], amount: int) -> None:
        key = f"chaos-{uuid.uuid4().hex}"
        self.sent.cash[key] = amount
        body = {"invoice_id": inv["invoice_id"], "amount": amount, "payer_name": "PHU HUYNH", "idempotency_key": key}
        headers = {"Authorization": f"Bearer {self.tokens[school.school_id]}"}

        async def post(client: httpx.AsyncClient) -> httpx.Response:
            return await client.post(
                f"{self.urls.reconciliation}/schools/{school.school_id}/cash", headers=headers, json=body
            )

        await self._deliver(http, post, f"cash {key}")

    async def end_of_day(self, http: httpx.AsyncClient) -> None:
        for school in SCHOOLS:
            credits = self.day_credits[school.school_id]
            if not credits:
                continue
            data = self.statement(school, credits)
            headers = {"Authorization": f"Bearer {self.tokens[school.school_id]}"}

            async def post(
                client: httpx.AsyncClient, school: Any = school, data: bytes = data, headers: dict[str, str] = headers
            ) -> httpx.Response:
                files = {"file": (f"camt054-{school.school_id}.xml", data)}
                return await client.post(
                    f"{self.urls.reconciliation}/schools/{school.school_id}/statements", headers=headers, files=files
                )

            await self._deliver(http, post, f"statement {school.school_id}")
            self.day_credits[school.school_id] = []


class Services:
    def __init__(self, cfg: demo.DemoConfig, endpoints: infra.Endpoints, topic_prefix: str, logs: Path) -> None:
        self.cfg, self.endpoints, self.topic_prefix, self.logs = cfg, endpoints, topic_prefix, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.not_ready_without_kafka: list[str] = []

    async def start(self, service: str) -> None:
        n = demo.SERVICES.index(service) + 1
        self.procs[service] = demo._start(self.cfg, self.endpoints, self.topic_prefix, service, n, self.logs)
        await demo._ready(getattr(self.cfg.urls(), service), self.procs[service])

    def signal(self, service: str, sig: int) -> None:
        self.procs[service].send_signal(sig)

    def stop_all(self) -> None:
        demo._stop_services(self.procs, within_s=20)


async def _answering_without_kafka(urls: district.Urls) -> list[str]:
    """While the broker is down every service stays ready (degraded: events wait in the outbox) and the
    parent's page answers: what did not."""
    wrong = []
    async with httpx.AsyncClient(timeout=10) as http:
        for service in demo.SERVICES:
            r = await http.get(f"{getattr(urls, service)}/readyz")
            body = r.json()
            if r.status_code != 200 or body["status"] != "degraded" or body["checks"]["kafka"] == "ok":
                wrong.append(f"{service} /readyz: {r.status_code} {body['status']} (kafka {body['checks']['kafka']})")
        page = await http.get(f"{urls.invoicing}/phu-huynh")
        if page.status_code != 200:
            wrong.append(f"invoicing /phu-huynh: {page.status_code}")
    return wrong


def say(text: str) -> None:
    print(f"chaos: {text}", flush=True)


async def _faults(
    services: Services, control: InfraControl, *, short: bool, done: list[str], paid: asyncio.Event
) -> None:
    """The fault sequence, again and again while parents are still paying (at least once); the short run
    (make test) goes through it once, then lets the payments finish: a second round only doubled its time."""
    while True:
        await _fault_cycle(services, control, short=short, done=done)
        if paid.is_set() or short:
            return


async def _fault_cycle(services: Services, control: InfraControl, *, short: bool, done: list[str]) -> None:
    pause = 2.0 if short else 5.0
    for service in demo.SERVICES:
        await asyncio.sleep(pause)
        services.signal(service, signal.SIGKILL)
        services.procs[service].wait()
        done.append(f"SIGKILL {service}")
        say(done[-1])
        await asyncio.sleep(0.5)
        await services.start(service)
    await asyncio.sleep(pause)
    if await asyncio.to_thread(control.stop_kafka):
        services.not_ready_without_kafka = await _answering_without_kafka(services.cfg.urls())
        await asyncio.to_thread(control.start_kafka)
        done.append("Kafka broker stopped (every service still ready, degraded) and started again")
        say(done[-1])
    await asyncio.sleep(pause)
    if await asyncio.to_thread(control.restart_postgres):
        done.append("PostgreSQL restarted")
        say(done[-1])
    await asyncio.sleep(pause)
    # Longer than the consumers' session (10 s): the group rebalances without it; it must rejoin, and the
    # batch it held must be applied once.
    services.signal("receipts", signal.SIGSTOP)
    await asyncio.sleep(15)
    services.signal("receipts", signal.SIGCONT)
    done.append("receipts frozen 15 s (SIGSTOP) and thawed")
    say(done[-1])


async def _settled(cfg: demo.DemoConfig, pg: str, timeout: float) -> None:
    """Until every outbox is published, and receipts and reporting have every payment."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        state = await _state(cfg, pg)
        unpublished = sum(state[f"{s}_outbox"] for s in demo.SERVICES)
        if (
            unpublished == 0
            and state["payments"] == state["receipts"] == state["reported_payments"]
            and state["pending"] == 0
        ):
            return
        last = json.dumps(state)
        await asyncio.sleep(1)
    raise AssertionError(f"the suite did not settle in {timeout:.0f}s: {last}")


async def _connect(cfg: demo.DemoConfig, pg: str, service: str) -> asyncpg.Connection:
    return await asyncpg.connect(with_database(pg, cfg.database(service)))


async def _state(cfg: demo.DemoConfig, pg: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for service in demo.SERVICES:
        conn = await _connect(cfg, pg, service)
        try:
            out[f"{service}_outbox"] = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            if service == "reconciliation":
                out["payments"] = await conn.fetchval("SELECT count(*) FROM allocations WHERE reversed_at IS NULL")
            elif service == "receipts":
                out["receipts"] = await conn.fetchval("SELECT count(*) FROM receipts WHERE status = 'issued'")
                out["pending"] = await conn.fetchval("SELECT count(*) FROM pending_payments")
            elif service == "reporting":
                out["reported_payments"] = await conn.fetchval("SELECT count(*) FROM payments WHERE NOT reversed")
        finally:
            await conn.close()
    return out


async def _invariants(cfg: demo.DemoConfig, pg: str, sent: Sent, figures: dict[str, Any]) -> dict[str, Any]:
    recon = await _connect(cfg, pg, "reconciliation")
    receipts = await _connect(cfg, pg, "receipts")
    invoicing = await _connect(cfg, pg, "invoicing")
    try:
        bank = await recon.fetchrow(
            "SELECT count(*) AS n, coalesce(sum(amount), 0) AS total FROM credits WHERE channel <> 'CASH'"
        )
        cash = await recon.fetchrow(
            "SELECT count(*) AS n, coalesce(sum(amount), 0) AS total FROM credits WHERE channel = 'CASH'"
        )
        allocations = await recon.fetch(
            "SELECT a.payment_id::text, a.invoice_id, a.amount, c.channel "
            "FROM allocations a JOIN credits c USING (credit_id) WHERE a.reversed_at IS NULL"
        )
        per_payment = await receipts.fetch(
            "SELECT payment_id, count(*) AS n FROM receipts WHERE status = 'issued' GROUP BY payment_id"
        )
        numbers = await receipts.fetch(
            "SELECT series_id, array_agg(number ORDER BY number) AS ns FROM receipts GROUP BY 1"
        )
        invoices = await invoicing.fetch("SELECT invoice_id, total FROM invoices WHERE status <> 'cancelled'")
        dead = {}
        for service, conn in (("reconciliation", recon), ("receipts", receipts), ("invoicing", invoicing)):
            dead[service] = await conn.fetchval("SELECT count(*) FROM dead_letters")
        reporting = await _connect(cfg, pg, "reporting")
        try:
            dead["reporting"] = await reporting.fetchval("SELECT count(*) FROM dead_letters")
        finally:
            await reporting.close()
    finally:
        await recon.close()
        await receipts.close()
        await invoicing.close()

    receipt_counts = {r["payment_id"]: r["n"] for r in per_payment}
    payment_ids = {r["payment_id"] for r in allocations}
    gaps = {
        str(r["series_id"]): r["ns"]
        for r in numbers
        if list(r["ns"]) != list(range(r["ns"][0], r["ns"][0] + len(r["ns"])))
    }
    # The dashboard's rule (README): collection capped at the invoice total, cashless counted first.
    paid: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for a in allocations:
        paid[a["invoice_id"]][a["channel"] == "CASH"] += a["amount"]
    invoiced = sum(i["total"] for i in invoices)
    collected = cashless = 0
    for i in invoices:
        cashless_paid, cash_paid = paid.get(i["invoice_id"], [0, 0])
        c = min(i["total"], cashless_paid)
        cashless += c
        collected += c + min(i["total"] - c, cash_paid)
    totals = figures["totals"]
    report = {
        "bank credits sent / held": (len(sent.bank), bank["n"]),
        "bank total sent / held (đồng)": (sum(sent.bank.values()), int(bank["total"])),
        "webhook deliveries (duplicates included)": sent.deliveries,
        "cash entries sent / held": (len(sent.cash), cash["n"]),
        "cash total sent / held (đồng)": (sum(sent.cash.values()), int(cash["total"])),
        "payments / with exactly one receipt": (
            len(payment_ids),
            sum(1 for p in payment_ids if receipt_counts.get(p) == 1),
        ),
        "receipts without a payment": len(set(receipt_counts) - payment_ids),
        "receipt series with a gap or a duplicate": len(gaps),
        "dashboard invoiced / recomputed": (totals["invoiced"], invoiced),
        "dashboard collected / recomputed": (totals["collected"], collected),
        "dashboard cashless / recomputed": (totals["cashless"], cashless),
        "dead letters": dead,
        "refused deliveries": sent.refused[:10],
    }
    return report


def check(report: dict[str, Any]) -> list[str]:
    broken = [name for name, value in report.items() if isinstance(value, tuple) and value[0] != value[1]]
    for name in ("receipts without a payment", "receipt series with a gap or a duplicate"):
        if report[name]:
            broken.append(name)
    if any(report["dead letters"].values()):
        broken.append("dead letters")
    if report["refused deliveries"]:
        broken.append("refused deliveries")
    if report.get("not ready while Kafka was down"):
        broken.append("not ready while Kafka was down")
    return broken


async def run(*, short: bool, control: InfraControl, port_base: int = 8200, prefix: str = "chaos") -> dict[str, Any]:
    cfg = demo.DemoConfig(prefix=prefix, port_base=port_base, wait=False)
    endpoints = await asyncio.to_thread(infra.up)
    pg = endpoints.pg_dsn
    topic_prefix = await demo._reset(cfg, pg, endpoints.kafka_bootstrap)
    logs = infra.cache_dir() / "chaos"
    logs.mkdir(parents=True, exist_ok=True)
    services = Services(cfg, endpoints, topic_prefix, logs)
    started = time.monotonic()
    try:
        await asyncio.gather(*(services.start(s) for s in demo.SERVICES))
        period = datetime.now(VN).strftime("%Y-%m")
        await district.seed(cfg.urls(), DEV_JWT_SECRET, period, school_days=21)
        await demo._wait_books(cfg, pg, sum(s.students for s in SCHOOLS))
        sent = Sent()
        # Payments spread over about a minute (short) or five (full), so that every fault meets them.
        sim = ChaosSimulator(cfg.urls(), rate=6.0 if short else 3.5, share=0.35 if short else 1.0, sent=sent)
        faults: list[str] = []
        paid = asyncio.Event()

        async def pay() -> None:
            await sim.run()
            paid.set()

        say(f"paying ({'short' if short else 'full'} run) while faults are injected …")
        await asyncio.gather(pay(), _faults(services, control, short=short, done=faults, paid=paid))
        say("settling …")
        await _settled(cfg, pg, timeout=240)
        toks = district.tokens(DEV_JWT_SECRET)
        figures = await demo.district_figures(cfg.urls(), toks["district"])
        report = await _invariants(cfg, pg, sent, figures)
        report["faults injected"] = faults
        report["not ready while Kafka was down"] = services.not_ready_without_kafka
        report["seconds"] = round(time.monotonic() - started)
        return report
    finally:
        services.stop_all()


async def cleanup(pg: str, kafka: str, prefix: str = "chaos") -> None:
    await demo.forget(demo.DemoConfig(prefix=prefix), pg, kafka)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="fewer payments and shorter pauses (make test)")
    parser.add_argument("--port-base", type=int, default=8200)
    args = parser.parse_args(argv)
    from shared.logging import configure_logging

    configure_logging("WARNING", json=False)
    report = asyncio.run(run(short=args.short, control=InfraControl.local(), port_base=args.port_base))
    for name, value in report.items():
        print(f"  {name}: {value}")
    broken = check(report)
    print("chaos: invariants " + ("HOLD" if not broken else f"BROKEN: {', '.join(broken)}"), flush=True)
    if os.environ.get("CHAOS_KEEP") != "1":
        endpoints = infra.up()
        asyncio.run(cleanup(endpoints.pg_dsn, endpoints.kafka_bootstrap))
    return 0 if not broken else 1


if __name__ == "__main__":
    sys.exit(main())
