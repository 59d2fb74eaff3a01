"""End to end, as it runs: four service processes, a district of 100,000 pupils at month start (40 schools ×
2,500, invoices issued), then credits arriving as signed webhooks. Each credit is timed from its webhook
request to the later of its receipt being signed and the dashboard projection applying its payment."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

import devinfra as infra
from bench.common import Measure
from shared.auth import mint_token
from shared.db import drop_database, with_database
from shared.events.envelope import unwrap
from shared.formatting import VN
from shared.settings import DEV_JWT_SECRET
from simulator.demo import SERVICES, DemoConfig, _ready, _reset, _start
from simulator.people import pupil, roster_csv

SCHOOLS, PUPILS = int(os.environ.get("BENCH_E2E_SCHOOLS", 40)), 2500


def _rss_peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def _count(pg: str, cfg: DemoConfig, service: str, sql: str) -> int:
    conn = await asyncpg.connect(with_database(pg, cfg.database(service)))
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def _until(what: str, check: Any, timeout: float) -> float:
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"bench e2e: timed out waiting for {what}")
        await asyncio.sleep(1.0)
    return time.monotonic() - start


async def run(server_dsn: str, credits: int = 2000, concurrency: int = 16) -> list[Measure]:
    cfg = DemoConfig(prefix=f"bench{uuid.uuid4().hex[:6]}", port_base=31000)
    endpoints = infra.up()
    topic_prefix = await _reset(cfg, endpoints.pg_dsn, endpoints.kafka_bootstrap)
    logs = infra.cache_dir() / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    urls = cfg.urls()
    procs = {s: _start(cfg, endpoints, topic_prefix, s, n, logs) for n, s in enumerate(SERVICES, start=1)}
    rng = random.Random(5)
    n_invoices = SCHOOLS * PUPILS
    try:
        await asyncio.gather(*(_ready(getattr(urls, s), procs[s]) for s in SERVICES))
        service = {"Authorization": "Bearer " + mint_token(DEV_JWT_SECRET, role="service", subject="bench")}
        period = datetime.now(VN).strftime("%Y-%m")
        seed_start = time.monotonic()
        async with httpx.AsyncClient(timeout=600) as http:
            for i in range(SCHOOLS):
                school = f"S{i:02d}"
                r = await http.put(
                    f"{urls.invoicing}/schools/{school}",
                    headers=service,
                    json={
                        "name": f"Trường Tiểu học số {i}",
                        "district_code": "BENCH",
                        "bank_bin": "970436",
                        "account_number": f"00110012{i:05d}",
                        "account_name": "TRUONG",
                    },
                )
                r.raise_for_status()
                rows = [
                    (pupil(rng, f"{i:02d}{j:06d}", 2018 - j % 5), f"Khối {1 + j % 5}", f"{1 + j % 5}A{1 + j // 150}")
                    for j in range(PUPILS)
                ]
                (
                    await http.post(
                        f"{urls.invoicing}/schools/{school}/roster",
                        params={"mode": "apply"},
                        headers=service,
                        files={"file": ("r.csv", roster_csv(rows), "text/csv")},
                    )
                ).raise_for_status()
                (
                    await http.put(
                        f"{urls.invoicing}/schools/{school}/fee-items/BANTRU",
                        headers=service,
                        json={
                            "name": "Tiền ăn bán trú",
                            "category": "meals",
                            "cadence": "monthly",
                            "per_day": True,
                            "rates": [{"amount": 35_000}],
                        },
                    )
                ).raise_for_status()
                (
                    await http.put(
                        f"{urls.reconciliation}/schools/{school}/webhooks/sepay",
                        headers=service,
                        json={"scheme": "apikey", "secret": "bench-sepay-key-0001"},
                    )
                ).raise_for_status()
                (
                    await http.post(
                        f"{urls.invoicing}/schools/{school}/periods/{period}/invoices",
                        headers=service,
                        json={"school_days": 21},
                    )
                ).raise_for_status()
            pg = endpoints.pg_dsn
            consumed = await _until(
                "every service to receive the 100,000 invoices", lambda: _all_have(pg, cfg, n_invoices), timeout=1500
            )
            targets = []
            for i in range(SCHOOLS):
                r = await http.get(
                    f"{urls.invoicing}/schools/S{i:02d}/invoices", params={"limit": 5000}, headers=service
                )
                targets += [(f"S{i:02d}", f"00110012{i:05d}", inv) for inv in r.json()]
            rng.shuffle(targets)
            targets = targets[:credits]
            sent: dict[str, float] = {}
            accepted: list[float] = []
            semaphore = asyncio.Semaphore(concurrency)

            async def pay(n: int, school: str, account: str, inv: dict[str, Any]) -> None:
                ref = f"FT{26300000000 + n}"
                body = {
                    "id": n + 1,
                    "gateway": "VCB",
                    "transactionDate": datetime.now(VN).strftime("%Y-%m-%d %H:%M:%S"),
                    "accountNumber": account,
                    "code": None,
                    "transferType": "in",
                    "content": f"MBVCB.{n}.{inv['payment_reference']} T{period[5:]} {period[:4]}.CT tu 1903",
                    "transferAmount": inv["outstanding"],
                    "accumulated": 0,
                    "subAccount": None,
                    "referenceCode": ref,
                    "description": "",
                }
                async with semaphore:
                    sent[ref] = time.time()
                    r = await http.post(
                        f"{urls.reconciliation}/webhooks/sepay/{school}",
                        json=body,
                        headers={"Authorization": "Apikey bench-sepay-key-0001"},
                    )
                    r.raise_for_status()
                    accepted.append(time.time())

            first = time.time()
            await asyncio.gather(*(pay(n, s, a, inv) for n, (s, a, inv) in enumerate(targets)))
            accept_s = max(accepted) - first
            await _until("receipts and dashboard to catch up", lambda: _done(pg, cfg, credits), timeout=900)
        latencies = await _latencies(pg, cfg, sent)
        memory = {s: _rss_peak_mib(p.pid) for s, p in procs.items()}
        seed_s = time.monotonic() - seed_start
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(timeout=30)
        for service_name in SERVICES:
            await drop_database(endpoints.pg_dsn, cfg.database(service_name))
    done_at = max(end for end, _ in latencies.values())
    lat = sorted(v for _, v in latencies.values())
    q = statistics.quantiles(lat, n=100, method="inclusive")
    details = {
        "pupils": n_invoices,
        "credits": credits,
        "p50_ms": round(q[49] * 1000),
        "p99_ms": round(q[98] * 1000),
        "max_ms": round(lat[-1] * 1000),
        "seed_and_consume_s": round(seed_s, 1),
        "invoices_consumed_by_all_services_s": round(consumed, 1),
        "memory_peak_mib": memory,
        "concurrency": concurrency,
    }
    return [
        Measure(
            "end to end: webhook accepted → receipt signed and dashboard updated (100,000 pupils)",
            round(credits / (done_at - first), 1),
            "credits/s",
            "webhooks accepted by reconciliation alone",
            round(credits / accept_s, 1),
            details,
        )
    ]


async def _all_have(pg: str, cfg: DemoConfig, n: int) -> bool:
    counts = [
        await _count(pg, cfg, s, "SELECT count(*) FROM invoices") for s in ("reconciliation", "receipts", "reporting")
    ]
    return min(counts) >= n


async def _done(pg: str, cfg: DemoConfig, n: int) -> bool:
    receipts = await _count(pg, cfg, "receipts", "SELECT count(*) FROM receipts")
    reported = await _count(pg, cfg, "reporting", "SELECT count(*) FROM payments")
    return receipts >= n and reported >= n


async def _latencies(pg: str, cfg: DemoConfig, sent: dict[str, float]) -> dict[str, tuple[float, float]]:
    recon = await asyncpg.connect(with_database(pg, cfg.database("reconciliation")))
    rec = await asyncpg.connect(with_database(pg, cfg.database("receipts")))
    rep = await asyncpg.connect(with_database(pg, cfg.database("reporting")))
    try:
        payment_of = {
            r["identifier"]: str(r["payment_id"])
            for r in await recon.fetch(
                "SELECT i.identifier, a.payment_id FROM credit_identifiers i JOIN allocations a USING (credit_id) "
                "WHERE i.identifier LIKE 'FT263%'"
            )
        }
        signed = {
            r["payment_id"]: r["issued_at"].timestamp()
            for r in await rec.fetch("SELECT payment_id, issued_at FROM receipts")
        }
        shown: dict[str, float] = {}
        for r in await rep.fetch(
            "SELECT envelope, applied_at FROM event_log WHERE event_type = 'tuition.reconciliation.v1.PaymentMatched'"
        ):
            shown[unwrap(bytes(r["envelope"])).payload.payment_id] = r["applied_at"].timestamp()
    finally:
        for conn in (recon, rec, rep):
            await conn.close()
    out = {}
    for ref, start in sent.items():
        pid = payment_of[ref]
        end = max(signed[pid], shown[pid])
        out[ref] = (end, end - start)
    return out


if __name__ == "__main__":  # quick look: python -m bench.e2e
    from shared.logging import configure_logging

    configure_logging("WARNING")
    print([m.as_dict() for m in asyncio.run(run(os.environ.get("PG_DSN", "")))])
