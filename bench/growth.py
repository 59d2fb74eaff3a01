"""How the cost of a credit grows with the data, and with the cores.

A district of 10,000 pupils (4 schools × 2,500, their month's invoices) is seeded through the services as they
run. Then, each time with fresh invoices, a closed loop of ROUND_CREDITS credits measures throughput and CPU
milliseconds per credit:

- at 10,000 pupils on both cores, then with the whole suite (its services, PostgreSQL, Kafka) held to one core
  (`sched_setaffinity`, as `taskset` does; the load generator on the other core): how it scales with cores;
- at 100,000 and at 1,000,000 pupils: every service's database grown first by copying the seeded schools'
  rows (each copy another school of the same district, with its own keys: ids, school codes, references) as
  many times as it takes. Cost must not grow with the data.

The copies are made in SQL with the database's own constraints read from its catalogue: every uuid, every text
column of a unique key or a foreign key, and `school_id` get a suffix of the copy's number; a bigint key with a
sequence takes the sequence's next value. Triggers and foreign-key checks are off while copying
(`session_replication_role = replica`), published outbox rows are copied as published, unpublished ones not."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

import devinfra as infra
from bench.common import Measure
from bench.e2e import (
    _quiet,
    _ready_all,
    _send,
    _start_all,
    _stop_all,
    _tree_pids,
    _until,
    cpu_account,
    cpu_snapshot,
)
from bench.e2e import _seed as seed_district
from bench.open_loop import one_per_school_first
from shared.db import with_database
from simulator.demo import SERVICES, DemoConfig, _reset, forget

SCHOOLS, PUPILS = 4, 2500
SIZES = [int(s) for s in os.environ.get("BENCH_GROWTH_SIZES", "10000,100000,1000000").split(",") if s]
ROUND_CREDITS = int(os.environ.get("BENCH_GROWTH_CREDITS", 2000))
CONCURRENCY = 128
RECEIPT_ISSUED = "tuition.receipts.v1.ReceiptIssued"
PAYMENT_MATCHED = "tuition.reconciliation.v1.PaymentMatched"


async def run(server_dsn: str) -> list[Measure]:
    cfg = DemoConfig(prefix=f"bench{uuid.uuid4().hex[:6]}", port_base=32000)
    endpoints = infra.up()
    topic_prefix = await _reset(cfg, endpoints.pg_dsn, endpoints.kafka_bootstrap)
    logs = infra.cache_dir() / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    procs = _start_all(cfg, endpoints, topic_prefix, logs, workers=1)
    rounds: list[dict[str, Any]] = []
    try:
        await _ready_all(cfg, procs)
        seed = await seed_district(cfg, endpoints.pg_dsn, SCHOOLS, PUPILS)
        targets = seed["targets"]
        await _until("the services to settle after seeding", _quiet, timeout=900)
        copies = 1

        async def measured(cores: int, grown: dict[str, Any]) -> None:
            """A warm-up credit for each school (a restarted service opens each school's keys once), then the
            round."""
            nonlocal targets
            targets = one_per_school_first(targets)
            warm, batch, targets = (
                targets[:SCHOOLS],
                targets[SCHOOLS : SCHOOLS + ROUND_CREDITS],
                targets[SCHOOLS + ROUND_CREDITS :],
            )
            await _round(endpoints.pg_dsn, cfg, procs, warm, 2 * len(rounds))
            if cores == 1:
                with one_core(procs):
                    figures = await _round(endpoints.pg_dsn, cfg, procs, batch, 2 * len(rounds) + 1)
            else:
                figures = await _round(endpoints.pg_dsn, cfg, procs, batch, 2 * len(rounds) + 1)
            rounds.append({"pupils": copies * SCHOOLS * PUPILS, "cores": cores, "grown": grown} | figures)
            print(f"bench growth: {rounds[-1]}", file=sys.stderr, flush=True)

        for size in SIZES:
            want = max(1, size // (SCHOOLS * PUPILS))
            grown: dict[str, Any] = {}
            if want > copies:
                _stop_all(procs)
                grown = await grow(endpoints.pg_dsn, cfg, copies, want)
                copies = want
                procs = _start_all(cfg, endpoints, topic_prefix, logs, workers=1)
                await _ready_all(cfg, procs)
                await _until("the machine to settle after growing", _quiet, timeout=900)
            await measured(2, grown)
            if len(rounds) == 1:  # the same data on one core
                await measured(1, {})
    finally:
        _stop_all(procs)
        await forget(cfg, endpoints.pg_dsn, endpoints.kafka_bootstrap)
    by_size = [r for r in rounds if r["cores"] == 2]
    smallest, largest = by_size[0], by_size[-1]
    two, one = rounds[0], rounds[1]
    details = {"rounds": rounds, "seeded_pupils": seed["pupils"], "credits_per_round": ROUND_CREDITS}
    return [
        Measure(
            f"CPU ms per credit at {largest['pupils']:,} pupils (closed loop, {ROUND_CREDITS:,} credits)",
            largest["cpu"]["cpu_ms_per_credit_total"],
            "ms",
            f"the same at {smallest['pupils']:,} pupils",
            smallest["cpu"]["cpu_ms_per_credit_total"],
            details,
        ),
        Measure(
            f"saturation throughput on 2 cores vs 1 ({two['pupils']:,} pupils, the whole suite held to the cores)",
            two["credits_per_s"],
            "credits/s",
            "the same on 1 core",
            one["credits_per_s"],
            details,
        ),
    ]


async def _round(
    pg: str, cfg: DemoConfig, procs: dict[str, subprocess.Popen[bytes]], targets: list[Any], number: int
) -> dict[str, Any]:
    """Pay `targets` (128 at a time) and wait for every receipt and dashboard figure: throughput, CPU per credit.
    Progress is read from the newest rows only (sequence ranges), so the check costs the same at any size."""
    marks = await _marks(pg, cfg)
    before = cpu_snapshot(procs)
    _, first, accept_s = await _send(cfg, targets, CONCURRENCY, 20 + number)
    done_s = await _until(
        "the growth round's receipts and dashboard", lambda: _done(pg, cfg, marks, len(targets)), timeout=1800
    )
    cpu = cpu_account(before, cpu_snapshot(procs), len(targets))
    elapsed = time.time() - first - (1.0 if done_s else 0.0)  # the last check's sleep is not the suite's
    return {
        "credits": len(targets),
        "credits_per_s": round(len(targets) / max(elapsed, accept_s), 1),
        "webhooks_accepted_per_s": round(len(targets) / accept_s, 1),
        "cpu": cpu,
    }


async def _marks(pg: str, cfg: DemoConfig) -> dict[str, int]:
    async with _conns(pg, cfg, ("receipts", "reporting")) as c:
        return {
            "receipts": await c["receipts"].fetchval("SELECT coalesce(max(seq), 0) FROM outbox"),
            "reporting": await c["reporting"].fetchval("SELECT coalesce(max(seq), 0) FROM event_log"),
        }


async def _done(pg: str, cfg: DemoConfig, marks: dict[str, int], n: int) -> bool:
    async with _conns(pg, cfg, ("receipts", "reporting")) as c:
        signed = await c["receipts"].fetchval(
            "SELECT count(*) FROM outbox WHERE seq > $1 AND event_type = $2", marks["receipts"], RECEIPT_ISSUED
        )
        shown = await c["reporting"].fetchval(
            "SELECT count(*) FROM event_log WHERE seq > $1 AND event_type = $2", marks["reporting"], PAYMENT_MATCHED
        )
    return min(signed, shown) >= n


class _conns:
    def __init__(self, pg: str, cfg: DemoConfig, services: tuple[str, ...]) -> None:
        self.pg, self.cfg, self.services = pg, cfg, services

    async def __aenter__(self) -> dict[str, asyncpg.Connection]:
        self.c = {s: await asyncpg.connect(with_database(self.pg, self.cfg.database(s))) for s in self.services}
        return self.c

    async def __aexit__(self, *_: object) -> None:
        for conn in self.c.values():
            await conn.close()


class one_core:
    """The suite held to core 0 (every thread of its services, PostgreSQL and Kafka), this process to core 1."""

    def __init__(self, procs: dict[str, subprocess.Popen[bytes]]) -> None:
        self.procs = procs

    def _pids(self) -> list[int]:
        pids = [p for proc in self.procs.values() for p in _tree_pids(proc.pid)]
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    cmd = (proc / "cmdline").read_bytes()
                except OSError:
                    continue
                if b"postgres" in cmd or b"kafka.Kafka" in cmd:
                    pids.append(int(proc.name))
        return pids

    def _pin(self, cpus: set[int], mine: set[int]) -> None:
        for pid in self._pids():
            for task in Path(f"/proc/{pid}/task").glob("*"):
                try:
                    os.sched_setaffinity(int(task.name), cpus)
                except OSError:
                    pass  # a thread that ended meanwhile
        os.sched_setaffinity(0, mine)

    def __enter__(self) -> None:
        self._pin({0}, {1})

    def __exit__(self, *_: object) -> None:
        everything = set(range(os.cpu_count() or 1))
        self._pin(everything, everything)


async def grow(pg: str, cfg: DemoConfig, have: int, want: int) -> dict[str, Any]:
    """Every service's database from `have` to `want` copies of the seeded schools (see the module's text)."""
    out: dict[str, Any] = {}
    for service in SERVICES:
        start = time.monotonic()
        conn = await asyncpg.connect(with_database(pg, cfg.database(service)))
        try:
            rows = await copy_schools(conn, have, want)
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
        out[service] = {"rows_added": rows, "seconds": round(time.monotonic() - start, 1)}
    return out


MIGRATION_TABLES = ("_yoyo", "yoyo")  # the migration tool's own bookkeeping
TEXT = {"text", "character varying", "character"}
CHANGEABLE = TEXT | {"bytea", "bigint", "integer"}


async def copy_schools(conn: asyncpg.Connection, have: int, want: int) -> int:
    """Copies `have`..`want - 1` of the original rows (kept aside at the first call) of every table."""
    await conn.execute("CREATE SCHEMA IF NOT EXISTS bench_original")
    tables = [
        r["relname"]
        for r in await conn.fetch(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
            "AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname"
        )
        if not r["relname"].startswith(MIGRATION_TABLES)
    ]
    added = 0
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        for table in tables:
            if have == 1:
                where = " WHERE published_at IS NOT NULL" if table == "outbox" else ""
                kept = f'CREATE TABLE bench_original."{table}" AS SELECT * FROM public."{table}"{where}'  # noqa: S608
                await conn.execute(kept)  # names from the catalogue
            columns, changed = await _columns(conn, table)
            if not columns:
                continue
            names = ", ".join(f'"{c}"' for c, _ in columns)
            exprs = ", ".join(_copy_expr(c, t, c in changed) for c, t in columns)
            copy = (
                f'INSERT INTO public."{table}" ({names}) OVERRIDING SYSTEM VALUE SELECT {exprs} '  # noqa: S608
                f'FROM bench_original."{table}" o, generate_series($1::int, $2::int) g'
            )  # names from the catalogue
            try:
                status = await conn.execute(copy, have, want - 1)
            except asyncpg.PostgresError as e:
                raise RuntimeError(f"bench growth: copying {table}: {e}") from e
            added += int(status.split()[-1])
    return added


async def _columns(conn: asyncpg.Connection, table: str) -> tuple[list[tuple[str, str]], set[str]]:
    """(name, type) of the columns to copy (generated ones left out; an integer with a sequence too: it takes
    the next value), and the other columns that must change to keep a unique key unique: those of a unique key
    holding neither a uuid nor `school_id` (which always change)."""
    rows = await conn.fetch(
        "SELECT a.attname, format_type(a.atttypid, NULL) AS type, a.attgenerated <> '' AS generated, "
        "coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false) OR a.attidentity <> '' AS sequenced "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        f"public.{table}",
    )
    types = {r["attname"]: r["type"] for r in rows}
    columns = [
        (r["attname"], r["type"])
        for r in rows
        if not r["generated"] and not (r["sequenced"] and r["type"] in ("bigint", "integer"))
    ]
    copied = {c for c, _ in columns}
    unique_keys = await conn.fetch(
        "SELECT array(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum > 0 "
        "AND (a.attnum = ANY(i.indkey) OR pg_get_expr(i.indexprs, i.indrelid) ~ ('\\m' || a.attname || '\\M'))"
        ") AS cols FROM pg_index i WHERE i.indrelid = $1::regclass AND i.indisunique",
        f"public.{table}",
    )
    changed: set[str] = set()
    for key in unique_keys:
        cols = [c for c in key["cols"] if c in copied]
        if len(cols) < len(key["cols"]) or any(types[c] == "uuid" or c == "school_id" for c in cols):
            continue  # a sequence or a column that always changes keeps it unique
        changeable = {c for c in cols if types[c] in CHANGEABLE}
        if not changeable:
            return [], set()  # one row for the whole database (a version, a setting): not a school's
        changed |= changeable
    return columns, changed


def _copy_expr(column: str, type_: str, changed: bool) -> str:
    c = f'o."{column}"'
    if type_ == "uuid":
        return f"md5({c}::text || '-' || g)::uuid"
    if type_ in TEXT and (changed or column == "school_id"):
        return f"{c} || 'g' || g"
    if type_ == "bytea" and changed:
        return f"{c} || int4send(g)"
    if type_ in ("bigint", "integer") and changed:
        return f"{c} + g * {10**12 if type_ == 'bigint' else 10**7}"
    return c
