"""Latency as a parent feels it: credits arrive on a fixed schedule (evenly spaced, at a chosen rate), whatever
how fast the suite answers, and each is followed through its stages until its receipt is signed and the
dashboard shows it.

For each rate: the rate achieved, the backlog at the end of the sending window (credits sent by then whose
receipt was not signed yet), latency percentiles to the receipt and to the dashboard, the time each stage
took (webhook answered; credit committed; the relay publishing its PaymentMatched; the receipts service
taking it; the receipt signed; the dashboard applying it), and the CPU per credit of each process. The rates
go up until the backlog is no longer bounded (more than two seconds of arrivals still waiting when the window
ends): the highest rate before that is the capacity. Then the rates at 50% and 80% of it.

Runs within `bench.e2e.run` (the district seeded there, the services running)."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import asyncpg

from bench.dashboard import REQUESTS
from shared.auth import mint_token
from shared.db import with_database
from shared.events.envelope import unwrap
from shared.formatting import VN
from shared.settings import DEV_JWT_SECRET
from simulator.demo import DemoConfig

RATES = [int(r) for r in os.environ.get("BENCH_OPEN_RATES", "50,100,200,300,400,600,800,1000").split(",") if r]
WINDOW_S = float(os.environ.get("BENCH_OPEN_WINDOW_S", 60))
# A window's backlog is bounded while it holds at most this many seconds of arrivals.
BOUNDED_S = 2.0
# Connections open at once at most: past it the generator would be the wall (the suite is long overloaded).
MAX_OPEN = 2000
STAGES = ("answered", "committed", "published", "taken_by_receipts", "receipt_signed", "dashboard")
PAYMENT_MATCHED = "tuition.reconciliation.v1.PaymentMatched"


DISTRICT = "BENCH"  # as the seeding registers each school
SEPAY_AUTH = {"Authorization": "Apikey bench-sepay-key-0001"}  # as the seeding configures each school


def sepay_credit(number: int, account: str, inv: dict[str, Any], period: str) -> tuple[str, dict[str, Any]]:
    """(bank reference, body) of a SePay webhook paying `inv` in full, its memo as a bank writes it."""
    ref = f"FT{number}"
    body = {
        "id": number,
        "gateway": "VCB",
        "transactionDate": datetime.now(VN).strftime("%Y-%m-%d %H:%M:%S"),
        "accountNumber": account,
        "code": None,
        "transferType": "in",
        "content": f"MBVCB.{number}.{inv['payment_reference']} T{period[5:]} {period[:4]}.CT tu 1903",
        "transferAmount": inv["outstanding"],
        "accumulated": 0,
        "subAccount": None,
        "referenceCode": ref,
        "description": "",
    }
    return ref, body


@dataclass
class Sent:
    """One credit's webhook: when it left, when it was answered (client clock = the database's: one machine)."""

    at: float
    answered: float = 0.0


async def send_at_rate(
    url: str, targets: list[tuple[str, str, dict[str, Any]]], rate: float, number: int
) -> dict[str, Sent]:
    """Pay `targets` by signed webhooks, the n-th sent at start + n / rate (not waiting for earlier answers)."""
    period = datetime.now(VN).strftime("%Y-%m")
    base = 27_000_000_000 + number * 1_000_000
    sent: dict[str, Sent] = {}
    gate = asyncio.Semaphore(MAX_OPEN)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=MAX_OPEN))

    async def pay(n: int, due: float, school: str, account: str, inv: dict[str, Any]) -> None:
        ref, body = sepay_credit(base + n, account, inv, period)
        # Timed from when it was due, not from when a connection was free: a generator held back by a slow
        # suite must not hide the wait (coordinated omission).
        one = sent[ref] = Sent(due)
        async with gate:
            async with session.post(f"{url}/webhooks/sepay/{school}", json=body, headers=SEPAY_AUTH) as r:
                r.raise_for_status()
                await r.read()
            one.answered = time.time()

    loop = asyncio.get_running_loop()
    start, wall = loop.time(), time.time()
    tasks = []
    async with session:
        for n, (school, account, inv) in enumerate(targets):
            delay = start + n / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(pay(n, wall + n / rate, school, account, inv)))
        await asyncio.gather(*tasks)
    return sent


async def stage_times(pg: str, cfg: DemoConfig, refs: set[str]) -> dict[str, dict[str, float]]:
    """Per credit (bank reference): when each stage after the webhook's answer happened (epoch seconds)."""
    recon = await asyncpg.connect(with_database(pg, cfg.database("reconciliation")))
    rec = await asyncpg.connect(with_database(pg, cfg.database("receipts")))
    rep = await asyncpg.connect(with_database(pg, cfg.database("reporting")))
    try:
        payment_of = {
            r["identifier"]: str(r["payment_id"])
            for r in await recon.fetch(
                "SELECT i.identifier, a.payment_id FROM credit_identifiers i JOIN allocations a USING (credit_id) "
                "WHERE i.identifier = ANY($1::text[])",
                list(refs),
            )
        }
        events: dict[str, tuple[str, float, float]] = {}  # payment → (event id, committed, published)
        for r in await recon.fetch(
            "SELECT event_id, payload, created_at, published_at FROM outbox WHERE event_type = $1", PAYMENT_MATCHED
        ):
            payment = unwrap(bytes(r["payload"])).payload.payment_id
            events[payment] = (str(r["event_id"]), r["created_at"].timestamp(), r["published_at"].timestamp())
        taken = {
            str(r["event_id"]): r["processed_at"].timestamp()
            for r in await rec.fetch("SELECT event_id, processed_at FROM inbox WHERE event_type = $1", PAYMENT_MATCHED)
        }
        signed = {
            r["payment_id"]: r["issued_at"].timestamp()
            for r in await rec.fetch("SELECT payment_id, issued_at FROM receipts")
        }
        shown = {
            unwrap(bytes(r["envelope"])).payload.payment_id: r["applied_at"].timestamp()
            for r in await rep.fetch(
                "SELECT envelope, applied_at FROM event_log WHERE event_type = $1", PAYMENT_MATCHED
            )
        }
    finally:
        for conn in (recon, rec, rep):
            await conn.close()
    out = {}
    for ref, payment in payment_of.items():
        event_id, committed, published = events[payment]
        out[ref] = {
            "committed": committed,
            "published": published,
            "taken_by_receipts": taken[event_id],
            "receipt_signed": signed[payment],
            "dashboard": shown[payment],
        }
    return out


SERVICES = ("invoicing", "reconciliation", "receipts", "reporting")
DASHBOARD_READS_PER_S = 5


async def read_dashboard(cfg: DemoConfig, stop: asyncio.Event) -> dict[str, Any]:
    """The dashboard API's views (bench.dashboard.REQUESTS, on the seeded district) read in turn,
    DASHBOARD_READS_PER_S a second, until `stop`: their latency over HTTP while the pipeline runs."""
    period = datetime.now(VN).strftime("%Y-%m")
    token = mint_token(DEV_JWT_SECRET, role="district", district=DISTRICT)
    headers = {"Authorization": f"Bearer {token}"}
    views = [
        (
            name,
            path.replace("D1", DISTRICT).replace("S07", "S00"),
            {k: period if v == "2026-11" else v for k, v in q.items()},
        )
        for name, path, q in REQUESTS
    ]
    took: dict[str, list[float]] = {name: [] for name, _, _ in views}
    async with aiohttp.ClientSession(base_url=cfg.urls().reporting, headers=headers) as http:
        n = 0
        while not stop.is_set():
            name, path, params = views[n % len(views)]
            start = time.perf_counter()
            async with http.get(path, params=params) as r:
                await r.read()
                r.raise_for_status()
            took[name].append(time.perf_counter() - start)
            n += 1
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, 1 / DASHBOARD_READS_PER_S - took[name][-1]))
            except TimeoutError:
                pass
    every = [t for ts in took.values() for t in ts]
    by_view = {name: _pct(ts) for name, ts in took.items() if ts}
    return {"requests": len(every), "views": len(views), **_pct(every), "by_view": by_view}


async def statements_reset(pg: str) -> bool:
    """Start counting the statements each database runs (pg_stat_statements); False where the server does not
    load it (the project's own PostgreSQL does: devinfra/postgres.py)."""
    conn = await asyncpg.connect(pg)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.execute("SELECT pg_stat_statements_reset()")
        return True
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()


async def statements_per_credit(pg: str, cfg: DemoConfig, credits: int) -> dict[str, dict[str, float]]:
    """Per service, since the reset: statements, transactions (commits) and rows per credit."""
    conn = await asyncpg.connect(pg)
    try:
        rows = await conn.fetch(
            # bigint, not numeric: the figures go to JSON (a Decimal would not)
            "SELECT d.datname, sum(s.calls)::bigint AS calls, sum(s.rows)::bigint AS rows, "
            "coalesce(sum(s.calls) FILTER (WHERE s.query = 'COMMIT'), 0)::bigint AS commits "
            "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid GROUP BY d.datname"
        )
    finally:
        await conn.close()
    by_name = {r["datname"]: r for r in rows}
    out = {}
    for service in SERVICES:
        r = by_name.get(cfg.database(service))
        if r is not None:
            out[service] = {
                "statements": round(r["calls"] / credits, 1),
                "transactions": round(r["commits"] / credits, 2),
                "rows": round(r["rows"] / credits, 1),
            }
    return out


def _pct(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    values = sorted(values)
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [values[0]] * 99
    return {"p50_ms": round(q[49] * 1000), "p90_ms": round(q[89] * 1000), "p99_ms": round(q[98] * 1000),
            "max_ms": round(values[-1] * 1000)}  # fmt: skip


def rate_figures(rate: float, sent: dict[str, Sent], stages: dict[str, dict[str, float]]) -> dict[str, Any]:
    """What one rate did: achieved rate, backlog at the window's end, latencies, each stage's time."""
    first = min(s.at for s in sent.values())
    last = max(s.at for s in sent.values())
    window_end = last
    backlog = sum(1 for ref, s in sent.items() if stages[ref]["receipt_signed"] > window_end)
    to_receipt = [stages[ref]["receipt_signed"] - s.at for ref, s in sent.items()]
    to_dashboard = [stages[ref]["dashboard"] - s.at for ref, s in sent.items()]
    steps = {
        "answered": [s.answered - s.at for s in sent.values()],
        "committed": [stages[r]["committed"] - s.at for r, s in sent.items()],
        "published": [stages[r]["published"] - stages[r]["committed"] for r in sent],
        "taken_by_receipts": [stages[r]["taken_by_receipts"] - stages[r]["published"] for r in sent],
        "receipt_signed": [stages[r]["receipt_signed"] - stages[r]["taken_by_receipts"] for r in sent],
        "dashboard": [stages[r]["dashboard"] - stages[r]["published"] for r in sent],
    }
    return {
        "rate_per_s": rate,
        "credits": len(sent),
        "achieved_per_s": round((len(sent) - 1) / (last - first), 1) if last > first else float(len(sent)),
        "receipted_per_s": round(len(sent) / (max(stages[r]["receipt_signed"] for r in sent) - first), 1),
        "backlog_at_end": backlog,
        "bounded": backlog <= rate * BOUNDED_S,
        "to_receipt": _pct(to_receipt),
        "to_dashboard": _pct(to_dashboard),
        # Each stage from the one before it (the dashboard: from the event's publication, beside the receipt).
        "stages": {name: _pct(v) for name, v in steps.items()},
    }


def one_per_school_first(
    targets: list[tuple[str, str, dict[str, Any]]],
) -> list[tuple[str, str, dict[str, Any]]]:
    """The first invoice of each school, then the rest in their order (the warm-up's credits come first; the
    same list again keeps its order)."""
    firsts: dict[str, int] = {}
    for n, (school, _, _) in enumerate(targets):
        firsts.setdefault(school, n)
    taken = set(firsts.values())
    return [targets[n] for n in sorted(taken)] + [t for n, t in enumerate(targets) if n not in taken]


async def run_rates(
    cfg: DemoConfig,
    pg: str,
    procs: dict[str, subprocess.Popen[bytes]],
    targets: list[tuple[str, str, dict[str, Any]]],
    *,
    until_done: Any,
    cpu: Any,
) -> dict[str, Any]:
    """The rates in turn until one is not bounded, then 50% and 80% of the capacity found. `until_done(n)`
    waits for n more credits to be receipted and shown; `cpu` is (snapshot, account) of the processes."""
    snapshot, account = cpu
    url = cfg.urls().reconciliation
    results: list[dict[str, Any]] = []
    capacity, rounds = 0.0, 0

    async def one(rate: float, watched: bool = False) -> dict[str, Any] | None:
        """The rate for the window; None when the seeded invoices would not last it. `watched`: the dashboard
        API is read all along (DASHBOARD_READS_PER_S), its latency reported."""
        nonlocal targets, rounds
        n = int(rate * WINDOW_S)
        if n > len(targets):
            return None
        batch, targets = targets[:n], targets[n:]
        counting = await statements_reset(pg)
        before = snapshot(procs)
        rounds += 1
        stop = asyncio.Event()
        reads = asyncio.create_task(read_dashboard(cfg, stop)) if watched else None
        sent = await send_at_rate(url, batch, rate, rounds)
        await until_done(len(batch))
        stop.set()
        after = snapshot(procs)
        statements = await statements_per_credit(pg, cfg, len(batch)) if counting else {}
        figures = rate_figures(rate, sent, await stage_times(pg, cfg, set(sent)))
        figures["cpu"] = account(before, after, len(batch))
        # What each credit cost each service's database (the bench's own reads after the window excluded).
        figures["postgres_per_credit"] = statements
        if reads is not None:
            figures["dashboard_api_while_running"] = await reads
        return figures

    # The suite as it runs in a district: every school has receipted before (its signing keys opened, its
    # series open). A restart's first receipt of each school pays that once; it is not a rate's cost.
    targets = one_per_school_first(targets)
    schools = len({school for school, _, _ in targets})
    warm, targets = targets[:schools], targets[schools:]
    await send_at_rate(url, warm, 20, 0)
    await until_done(len(warm))

    ran_out = False
    for rate in RATES:
        figures = await one(rate)
        if figures is None:
            ran_out = True
            break
        results.append(figures)
        if not figures["bounded"]:
            break
        capacity = rate
    at = {}
    for share in (0.5, 0.8):
        rate = round(capacity * share)
        figures = await one(rate, watched=share == 0.8) if rate else None
        if figures is not None:
            at[f"{int(share * 100)}%"] = figures
    return {
        "rates": results,
        "capacity_per_s": capacity,
        # Every rate tried stayed bounded: the capacity is at least the last one.
        "capacity_at_least": all(r["bounded"] for r in results),
        "invoices_ran_out": ran_out,
        "at_share_of_capacity": at,
        "window_s": WINDOW_S,
        "warm_up_credits": len(warm),
    }
