"""`make demo` / `tuition demo`: everything started, a district seeded, parents paying, the dashboard live."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

import devinfra as infra
from shared.db import drop_database, with_database
from shared.events.kafka import TopicPolicy, delete_topics, ensure_topics
from shared.events.topics import all_topics
from shared.formatting import VN
from shared.settings import DEV_JWT_SECRET
from simulator import district
from simulator.district import DISTRICT, SCHOOLS, Urls
from simulator.payments import Simulator

SERVICES = ("invoicing", "reconciliation", "receipts", "reporting")


@dataclass(frozen=True)
class DemoConfig:
    # Databases are named after it; each run publishes on topics of its own (`<prefix><run>.`), so a
    # fresh district never meets the events of an earlier run (payment references restart with it).
    prefix: str = "demo"
    port_base: int = 8100
    rate: float = 40.0
    share: float = 1.0
    wait: bool = True
    # Parents are told (Zalo ZNS and SMS stand-ins, a real SMTP server and its mail page): `make demo` only.
    messages: bool = False

    def database(self, service: str) -> str:
        return f"{self.prefix.replace('.', '_')}_{service}"

    def urls(self) -> Urls:
        return Urls(*(f"http://127.0.0.1:{self.port_base + n}" for n in range(1, 5)))


def say(text: str) -> None:
    print(text, flush=True)


async def _reset(cfg: DemoConfig, pg_dsn: str, kafka: str) -> str:
    """A fresh district each run: empty databases, and topics of its own (earlier runs' are deleted)."""
    await forget(cfg, pg_dsn, kafka)
    topic_prefix = f"{cfg.prefix}-{int(time.time())}."
    await ensure_topics(kafka, all_topics(topic_prefix), TopicPolicy(partitions=6))
    return topic_prefix


async def forget(cfg: DemoConfig, pg_dsn: str, kafka: str) -> None:
    """Drop the run's databases and delete its topics (a test's or a benchmark's run leaves nothing behind)."""
    for service in SERVICES:
        await drop_database(pg_dsn, cfg.database(service))
    await delete_topics(kafka, lambda topic: topic.startswith(f"{cfg.prefix}-"), wait=True)


def _start(
    cfg: DemoConfig,
    endpoints: infra.Endpoints,
    topic_prefix: str,
    service: str,
    n: int,
    logs: Path,
    extra: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    urls = cfg.urls()
    env = {
        **(extra or {}),
        **os.environ,
        "PG_DSN": endpoints.pg_dsn,
        "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
        "TUITION_TOPIC_PREFIX": topic_prefix,
        f"{service.upper()}_DATABASE": cfg.database(service),
        f"{service.upper()}_HTTP_PORT": str(cfg.port_base + n),
        "INVOICING_PUBLIC_URL": urls.invoicing,
        "INVOICING_RECONCILIATION_URL": urls.reconciliation,
        "INVOICING_RECEIPTS_URL": urls.receipts,
        "INVOICING_DASHBOARD_URL": urls.reporting,
        "TUITION_WORKSPACE_ORIGIN": urls.invoicing,
        "RECEIPTS_PUBLIC_URL": urls.receipts,
        "TUITION_LOG_LEVEL": "WARNING",
    }
    log = (logs / f"{service}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "suite.cli", "serve", service],
        env=env,
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent,  # one prctl call in the child before it runs the service
    )


def _die_with_parent() -> None:
    """In the service's process before it runs: SIGTERM when the demo's process ends, however it ends (even
    SIGKILL), so that no service is left holding its port (Linux's PR_SET_PDEATHSIG)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def check_ports_free(cfg: DemoConfig) -> None:
    """Every port the demo listens on is free, or it says which is taken and what to do (a demo left running
    would otherwise answer in place of the new one's services)."""
    import socket

    ports = [cfg.port_base + n for n in (1, 2, 3, 4, *((5, 6, 7, 25) if cfg.messages else ()))]
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                raise SystemExit(
                    f"demo: port {port} is already taken (another demo still running?). Stop it, or see what "
                    f"holds it with `ss -ltnp 'sport = :{port}'`, or start this one elsewhere: --port-base"
                ) from None


async def _ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{url} exited with code {proc.returncode}: see .cache/demo/*.log")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.3)
    raise RuntimeError(f"{url} was not ready within {timeout:.0f}s")


async def _wait_books(cfg: DemoConfig, pg_dsn: str, expected: int, timeout: float = 120) -> None:
    """Until reconciliation has every invoice in its book (it learns them from invoicing's events)."""
    conn = await asyncpg.connect(with_database(pg_dsn, cfg.database("reconciliation")))
    try:
        deadline = time.monotonic() + timeout
        while await conn.fetchval("SELECT count(*) FROM invoices") < expected:
            if time.monotonic() > deadline:
                raise RuntimeError("reconciliation did not receive every invoice in time")
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def district_figures(urls: Urls, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.get(
            f"{urls.reporting}/api/districts/{DISTRICT}/summary", headers={"Authorization": f"Bearer {token}"}
        )
        r.raise_for_status()
        return r.json()


async def _wait_caught_up(cfg: DemoConfig, pg_dsn: str, timeout: float = 90) -> None:
    """Until reporting has every payment reconciliation made (the dashboard shows them all)."""
    recon = await asyncpg.connect(with_database(pg_dsn, cfg.database("reconciliation")))
    report = await asyncpg.connect(with_database(pg_dsn, cfg.database("reporting")))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            made = await recon.fetchval("SELECT count(*) FROM allocations")
            seen = await report.fetchval("SELECT count(*) FROM payments")
            if seen >= made:
                return
            await asyncio.sleep(0.5)
    finally:
        await recon.close()
        await report.close()


def _table(view: dict[str, Any]) -> str:
    t = view["totals"]
    goals = t["targets"]
    lines = [
        f"{'trường':42} {'tỷ lệ thu':>10} {'không tiền mặt':>15} {'mã định danh':>13} {'đã thu (đ)':>14}  "
        "dưới mục tiêu",
        f"{'mục tiêu năm học ' + view['school_year']:42} {goals['collection']:>9.1f}% "
        f"{goals['cashless_amount']:>14.1f}% {goals['personal_id']:>12.1f}%",
    ]
    for s in [*view["schools"], t | {"name": "TOÀN PHÒNG " + DISTRICT}]:
        lines.append(
            f"{s['name'][:42]:42} {s['collection_rate_pct'] or 0:>9.1f}% {s['cashless_share_pct'] or 0:>14.1f}% "
            f"{s['personal_id_share_pct'] or 0:>12.1f}% {s['collected']:>14,}  {', '.join(s['below_target']) or '—'}"
        )
    return "\n".join(lines)


async def run(cfg: DemoConfig) -> dict[str, Any]:
    """The demo from start to end. Ctrl-C (or SIGTERM) at any point stops it within seconds: the work under way
    is cancelled and the services are stopped; they also stop by themselves if this process is killed."""
    check_ports_free(cfg)
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main.cancel)
    say("demo: starting PostgreSQL and Kafka …")
    endpoints = await asyncio.to_thread(infra.up)
    outside = contextlib.AsyncExitStack()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        return await _run(cfg, endpoints, outside, procs)
    except asyncio.CancelledError:
        if not cfg.wait:
            raise
        return {}
    finally:
        stopping = time.monotonic()
        say("demo: stopping the services …")
        await outside.aclose()
        await asyncio.to_thread(_stop_services, procs)
        if cfg.wait and (endpoints.started_postgres or endpoints.started_kafka):
            await asyncio.to_thread(infra.down)  # what this run started, and only that
        say(f"demo: stopped in {time.monotonic() - stopping:.1f} s.")
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _stop_services(procs: dict[str, subprocess.Popen[bytes]], within_s: float = 4.0) -> None:
    """SIGTERM to every service at once; what has not ended within `within_s` is killed."""
    for proc in procs.values():
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGCONT)
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + within_s
    for proc in procs.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def _run(
    cfg: DemoConfig,
    endpoints: infra.Endpoints,
    outside: contextlib.AsyncExitStack,
    procs: dict[str, subprocess.Popen[bytes]],
) -> dict[str, Any]:
    started = time.monotonic()
    topic_prefix = await _reset(cfg, endpoints.pg_dsn, endpoints.kafka_bootstrap)
    logs = infra.cache_dir() / "demo"
    logs.mkdir(parents=True, exist_ok=True)
    urls = cfg.urls()
    extra = await _messaging(cfg, outside) if cfg.messages else {}
    for n, s in enumerate(SERVICES, start=1):
        procs[s] = _start(cfg, endpoints, topic_prefix, s, n, logs, extra)
    say("demo: starting the four services …")
    await asyncio.gather(*(_ready(getattr(urls, s), procs[s]) for s in SERVICES))
    period = datetime.now(VN).strftime("%Y-%m")
    scaled = list(SCHOOLS)
    say(
        f"demo: seeding district {DISTRICT}: {len(scaled)} schools, "
        f"{sum(s.students for s in scaled)} pupils, invoices for {period} …"
    )
    await district.seed(urls, DEV_JWT_SECRET, period, school_days=21)
    await _wait_books(cfg, endpoints.pg_dsn, sum(s.students for s in scaled))
    toks = district.tokens(DEV_JWT_SECRET)
    await _print_urls(urls, toks)
    say(
        f"demo: parents are paying (about {cfg.rate:.0f} credits/s): QR, typed memos, typos, partial, "
        "twice, cash; then the day's camt.054 statements …"
    )
    sim = Simulator(urls, DEV_JWT_SECRET, rate=cfg.rate, share=cfg.share)
    stats = await sim.run(on_progress=lambda n, total: say(f"  … {n}/{total} payments"))
    say(
        f"demo: {stats.webhooks} webhooks ({stats.retries} retried), {stats.cash} cash payments, "
        f"{stats.statements} statements; kinds: {stats.by_kind}"
    )
    await _wait_caught_up(cfg, endpoints.pg_dsn)
    view = await district_figures(urls, toks["district"])
    say("\n" + _table(view))
    say(
        f"\ndemo: ready in {time.monotonic() - started:.0f}s. Dashboard: {urls.reporting}/dashboard "
        f"(sign in as {DEMO_OFFICER} / {DEMO_PASSWORD})"
    )
    if cfg.wait:
        say("demo: running; press Ctrl-C to stop everything.")
        await asyncio.Event().wait()  # until Ctrl-C cancels the demo
    return view


DEMO_USER, DEMO_OFFICER, DEMO_PASSWORD = "ketoan.demo", "pgd.demo", "thu hoc phi khong tien mat"


async def _messaging(cfg: DemoConfig, stack: contextlib.AsyncExitStack) -> dict[str, str]:
    """The messaging providers beside the services (simulator/messaging.py); invoicing's settings for them."""
    from devinfra.testing import serving
    from simulator import messaging

    found = messaging.providers(smtp_port=cfg.port_base + 25)
    found.smtp.start()
    stack.callback(found.smtp.stop)
    zalo, sms, mail = (f"http://127.0.0.1:{cfg.port_base + n}" for n in (5, 6, 7))
    await stack.enter_async_context(serving(found.zalo.app(), cfg.port_base + 5))
    await stack.enter_async_context(serving(found.sms.app(), cfg.port_base + 6))
    await stack.enter_async_context(serving(found.mail.app(), cfg.port_base + 7))
    say(f"demo: parents are told by Zalo ({zalo}), SMS ({sms}) and email (mails: {mail}/mail)")
    return found.settings(zalo, sms)


async def demo_accountant(urls: Urls, service_token: str, schools: list[str]) -> dict[str, str]:
    """An accountant of two schools, invited and accepted as a person would through the invitation page."""
    return await demo_account(urls, service_token, DEMO_USER, "Kế toán (demo)", "accountant", schools)


async def demo_account(
    urls: Urls, service_token: str, username: str, name: str, role: str, schools: list[str]
) -> dict[str, str]:
    import pyotp

    async with httpx.AsyncClient(timeout=30) as http:
        made = await http.post(
            f"{urls.invoicing}/accounts",
            headers={"Authorization": f"Bearer {service_token}"},
            json={
                "username": username,
                "display_name": name,
                "role": role,
                "district_code": DISTRICT,
                "schools": schools,
            },
        )
        made.raise_for_status()
        secret = made.json()["link"].split("#", 1)[1]
        opened = (await http.post(f"{urls.invoicing}/auth/links/open", json={"secret": secret})).json()
        totp = opened["totp_secret"] or ""
        accepted = await http.post(
            f"{urls.invoicing}/auth/links/accept",
            json={"secret": secret, "password": DEMO_PASSWORD, "totp_code": pyotp.TOTP(totp).now() if totp else ""},
        )
        accepted.raise_for_status()
    return {"username": username, "password": DEMO_PASSWORD, "totp_secret": totp}


async def _print_urls(urls: Urls, toks: dict[str, str]) -> None:
    school = SCHOOLS[0]
    async with httpx.AsyncClient(timeout=30) as http:
        invoices = (
            await http.get(
                f"{urls.invoicing}/schools/{school.school_id}/invoices",
                params={"limit": 3},
                headers={"Authorization": f"Bearer {toks[school.school_id]}"},
            )
        ).json()
    account = await demo_accountant(urls, toks["service"], [SCHOOLS[0].school_id, SCHOOLS[1].school_id])
    say("\n=== Open these ===")
    say(f"Accountant's workspace ({school.name}, {SCHOOLS[1].name}):  {urls.invoicing}/ketoan")
    say(f"  user name: {account['username']}   password: {account['password']}")
    say(f"  authenticator secret (add it to an authenticator app): {account['totp_secret']}")
    say(f"  or the current code: .venv/bin/tuition totp {account['totp_secret']}")
    await demo_account(urls, toks["service"], DEMO_OFFICER, "Cán bộ Phòng GD&ĐT (demo)", "district", [])
    say(f"District dashboard (Phòng GD&ĐT):  {urls.reporting}/dashboard")
    say(f"  user name: {DEMO_OFFICER}   password: {DEMO_PASSWORD}   (the accountant above sees their school's view)")
    for inv in invoices:
        say(f"Parent payment page ({inv['full_name']}):  {inv['pay_url']}")
    say(f"API docs: {urls.invoicing}/docs  {urls.reconciliation}/docs  {urls.receipts}/docs  {urls.reporting}/docs")
    say("")
