"""The restore drill: a running suite's databases backed up with the scripts the deployment ships
(deploy/backup/pg-backup.sh, as compose's `backup` service runs it), restored with pg-restore.sh into a fresh
PostgreSQL server, the four services started on the restored data (the same Kafka: its topics are kept, like
the databases), and the ledger checked: the restored books equal the originals, a payment taken after the
restore is receipted once with the series' next number, and the invariants of `make chaos` hold."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

import devinfra as infra
from devinfra import postgres
from devinfra.tools import ROOT
from shared.auth import mint_token
from shared.db import with_database
from shared.settings import DEV_JWT_SECRET
from simulator import chaos, demo, district

SCRIPTS = ROOT / "deploy" / "backup"
# What the books hold, per service: compared between the original databases and the restored ones.
LEDGER = {
    "invoicing": "SELECT count(*), coalesce(sum(total), 0) FROM invoices",
    "reconciliation": "SELECT count(*), coalesce(sum(amount), 0) FROM credits",
    "receipts": "SELECT count(*), coalesce(max(number), 0) FROM receipts",
    "reporting": "SELECT count(*), coalesce(sum(amount), 0) FROM payments",
}


def _pg_env(dsn: str) -> dict[str, str]:
    parts = urlsplit(dsn)
    bindir = postgres._bin_dir()
    assert bindir is not None, "PostgreSQL's programs are not installed"
    return os.environ | {
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": parts.username or "postgres",
        "PATH": f"{bindir}:{os.environ.get('PATH', '')}",
    }


def _script(name: str, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(["sh", str(SCRIPTS / name), *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{name} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


async def backup(cfg: demo.DemoConfig, pg_dsn: str, into: Path) -> Path:
    """pg-backup.sh --once over the run's databases; the backup's directory."""
    pattern = cfg.database("").replace("_", "\\_") + "%"  # the run's databases: LIKE 'e2e1a2b3c\_%'
    env = _pg_env(pg_dsn) | {"BACKUP_DIR": str(into), "BACKUP_DATABASES": pattern}
    await asyncio.to_thread(_script, "pg-backup.sh", "--once", env=env)
    [made] = await asyncio.to_thread(lambda: [p for p in into.iterdir() if p.is_dir() and p.name[0] != "."])
    return made


async def ledger(cfg: demo.DemoConfig, pg_dsn: str) -> dict[str, tuple[int, int]]:
    out = {}
    for service, query in LEDGER.items():
        conn = await asyncpg.connect(with_database(pg_dsn, cfg.database(service)))
        try:
            row = await conn.fetchrow(query)
            out[service] = (int(row[0]), int(row[1]))
        finally:
            await conn.close()
    return out


async def _sent(cfg: demo.DemoConfig, pg_dsn: str) -> chaos.Sent:
    """What the books held when they were backed up: what the restored ones must hold too."""
    conn = await asyncpg.connect(with_database(pg_dsn, cfg.database("reconciliation")))
    try:
        rows = await conn.fetch("SELECT credit_id::text AS id, amount, channel FROM credits")
    finally:
        await conn.close()
    sent = chaos.Sent()
    for r in rows:
        (sent.cash if r["channel"] == "CASH" else sent.bank)[r["id"]] = int(r["amount"])
    return sent


async def drill(cfg: demo.DemoConfig, pg_dsn: str, kafka: str, made: Path, port_base: int) -> dict[str, Any]:
    """Restore `made` into a fresh server, start the suite on it (its services on `port_base` + 1..4, on the
    run's own topics), pay once more, and report the checks."""
    state = infra.cache_dir() / f"drill-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    await asyncio.to_thread(postgres.start, state, port)
    restored_dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    restored = infra.Endpoints(restored_dsn, kafka, started_postgres=False, started_kafka=False)
    drilled = dataclasses.replace(cfg, port_base=port_base)
    topic_prefix = await _topic_prefix(kafka, cfg)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        await asyncio.to_thread(_script, "pg-restore.sh", str(made), env=_pg_env(restored_dsn))
        report: dict[str, Any] = {
            "ledger original / restored": (await ledger(cfg, pg_dsn), await ledger(cfg, restored_dsn))
        }
        sent = await _sent(cfg, pg_dsn)
        logs = infra.cache_dir() / "drill-logs"
        logs.mkdir(parents=True, exist_ok=True)
        for n, service in enumerate(demo.SERVICES, start=1):
            procs[service] = demo._start(drilled, restored, topic_prefix, service, n, logs)
        urls = drilled.urls()
        await asyncio.gather(*(demo._ready(getattr(urls, s), procs[s]) for s in demo.SERVICES))
        report["paid after the restore"] = await _pay_cash(urls, sent)
        await chaos._settled(cfg, restored_dsn, timeout=60)
        figures = await demo.district_figures(urls, district.tokens(DEV_JWT_SECRET)["district"])
        report |= await chaos._invariants(cfg, restored_dsn, sent, figures)
        return report
    finally:
        await asyncio.to_thread(demo._stop_services, procs)
        await asyncio.to_thread(postgres.stop, state)
        await asyncio.to_thread(shutil.rmtree, state, True)


async def _pay_cash(urls: district.Urls, sent: chaos.Sent) -> int:
    """A parent pays an invoice still owing at the cash desk, on the restored suite: the đồng paid."""
    school = district.SCHOOLS[0].school_id
    token = mint_token(DEV_JWT_SECRET, role="accountant", school=school, subject="ke-toan-drill")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.get(f"{urls.invoicing}/schools/{school}/invoices", headers=headers, params={"owing": "true"})
        r.raise_for_status()
        invoice = next(i for i in r.json() if i["total"] > i["amount_paid"])
        due = int(invoice["total"] - invoice["amount_paid"])
        key = f"drill-{uuid.uuid4().hex}"
        body = {"invoice_id": invoice["invoice_id"], "amount": due, "payer_name": "PHU HUYNH", "idempotency_key": key}
        r = await http.post(f"{urls.reconciliation}/schools/{school}/cash", headers=headers, json=body)
        r.raise_for_status()
    sent.cash[key] = due
    return due


async def _topic_prefix(kafka: str, cfg: demo.DemoConfig) -> str:
    """The run's topics' prefix (the demo names them after the run and its start)."""
    from aiokafka import AIOKafkaConsumer

    lister = AIOKafkaConsumer(bootstrap_servers=kafka)
    await lister.start()
    try:
        prefixes = {t.split("tuition.", 1)[0] for t in await lister.topics() if t.startswith(f"{cfg.prefix}-")}
    finally:
        await lister.stop()
    [prefix] = prefixes
    return prefix


def _free_port() -> int:
    """A port for the fresh server below Linux's ephemeral range (like the project's own servers)."""
    import socket

    for port in range(26000, 26100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port for the restored PostgreSQL")
