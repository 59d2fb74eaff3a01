"""`make bench`: run the benchmark suite on the local servers and write bench/results.json and .md."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import devinfra as infra
from bench import dashboard, e2e, growth, issuance, matching, receipts
from bench.common import Measure, machine, peak_rss_mib
from shared.logging import configure_logging

OUT = Path(__file__).parent


BENCHES = {
    "matching": matching.run,
    "receipts": receipts.run,
    "issuance": issuance.run,
    "dashboard": dashboard.run,
    "end to end": e2e.run,
    "growth": growth.run,
}


async def main() -> int:
    """Every bench, or those named in BENCH_ONLY (comma-separated): then the other benches' measures are kept
    from the results file as they were, each measure saying which bench and when."""
    configure_logging("WARNING")
    only = [b.strip() for b in os.environ.get("BENCH_ONLY", "").split(",") if b.strip()]
    unknown = set(only) - set(BENCHES)
    if unknown:
        print(f"bench: BENCH_ONLY names no bench: {', '.join(sorted(unknown))} (benches: {', '.join(BENCHES)})")
        return 2
    endpoints = infra.up()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    kept = [m for m in _previous() if only and m.get("bench") not in only]
    fresh = []
    for name, bench in BENCHES.items():
        if only and name not in only:
            continue
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        fresh += [m.as_dict() | {"bench": name, "measured_at": now} for m in await bench(endpoints.pg_dsn)]
    order = list(BENCHES)
    rows = sorted(kept + fresh, key=lambda m: order.index(m["bench"]) if m.get("bench") in order else -1)
    measures = [_measure(m) for m in rows]
    result = {
        "generated_at": now,
        "machine": machine(),
        "bench_process_peak_rss_mib": round(peak_rss_mib()),
        "measures": rows,
    }
    (OUT / "results.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    lines = ["| measure | value | limit (same run) | ratio | measured |", "|---|---|---|---|---|"]
    for m, row in zip(measures, rows, strict=True):
        lines.append(
            f"| {m.name} | {m.value:,} {m.unit} | {m.limit_name}: {m.limit_value:,} {m.unit} | {m.ratio} "
            f"| {row.get('measured_at', '')[:10]} |"
        )
    table = "\n".join(lines)
    (OUT / "results.md").write_text(
        f"# Benchmarks\n\nMachine: {result['machine']['cpu']}, "
        f"{result['machine']['cores']} cores, {result['machine']['memory_gib']} GiB.\n\n"
        f"{table}\n\n{_open_loop_details(measures)}{_end_to_end_details(measures)}{_intake_details(measures)}"
        f"{_growth_details(measures)}"
    )
    print(table)
    return 0


def _previous() -> list[dict[str, Any]]:
    """The measures of the results file as it is (none when there is none)."""
    try:
        return list(json.loads((OUT / "results.json").read_text())["measures"])
    except (OSError, ValueError, KeyError):
        return []


def _measure(row: dict[str, Any]) -> Measure:
    return Measure(row["name"], row["value"], row["unit"], row["limit_name"], row["limit_value"], row["details"])


def _growth_details(measures: list[Measure]) -> str:
    """The growth rounds: pupils, cores, throughput and CPU per credit by process."""
    m = next((m for m in measures if m.name.startswith("CPU ms per credit at")), None)
    if m is None:
        return ""
    rounds = m.details["rounds"]
    names = list(rounds[0]["cpu"]["cpu_ms_per_credit"])
    out = [
        "",
        "## How the cost grows: pupils and cores",
        "",
        f"A closed loop of {m.details['credits_per_round']:,} credits each round (fresh invoices); the database grown "
        "between rounds by copying the seeded schools (bench/growth.py). CPU ms per credit:",
        "",
        "| pupils | cores | credits/s | total | " + " | ".join(names) + " |",
        "|---|---|---|---|" + "---|" * len(names),
    ]
    for r in rounds:
        per = r["cpu"]["cpu_ms_per_credit"]
        out.append(
            f"| {r['pupils']:,} | {r['cores']} | {r['credits_per_s']} | {r['cpu']['cpu_ms_per_credit_total']} | "
            + " | ".join(str(per.get(n, "")) for n in names)
            + " |"
        )
    return "\n".join(out) + "\n"


def _end_to_end_details(measures: list[Measure]) -> str:
    """The end-to-end rounds side by side: rate, latency, where the CPU went, memory of each service."""
    e2e_ = next((m for m in measures if m.name.startswith("saturation throughput")), None)
    if e2e_ is None:
        return ""
    d = e2e_.details
    rounds = [{k: v for k, v in d.items() if k in ROUND_KEYS}, *d.get("scale_out", [])]
    out = [
        "## End to end, by round",
        "",
        "| processes per service | credits | credits/s | webhooks/s | p50 ms | p99 ms | receipt p99 ms "
        "| dashboard p99 ms | machine busy | CPU ms per credit |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rounds:
        cpu = r["cpu"]
        out.append(
            f"| {r['workers_per_service']} | {r['credits']:,} | {r['credits_per_s']} | {r['webhooks_accepted_per_s']} "
            f"| {r['p50_ms']:,} | {r['p99_ms']:,} | {r['receipt_p99_ms']:,} | {r['dashboard_p99_ms']:,} "
            f"| {cpu['machine_busy_percent']}% | {cpu['cpu_ms_per_credit_total']} |"
        )
    out += ["", "CPU milliseconds per credit, by process (main round):", ""]
    out += [f"- {k}: {v}" for k, v in d["cpu"]["cpu_ms_per_credit"].items()]
    out += ["", "Peak resident memory, MiB, each process of each service (main round):", ""]
    out += [f"- {k}: {', '.join(str(x) for x in v)}" for k, v in d["memory_peak_mib"].items()]
    return "\n".join(out) + "\n"


def _open_loop_details(measures: list[Measure]) -> str:
    """Each rate of the open loop: what it achieved, its backlog, its latencies and where the time went."""
    capacity = next((m for m in measures if m.name.startswith("capacity, open loop")), None)
    if capacity is None:
        return ""
    d = capacity.details
    rows = [*d["rates"], *d["at_share_of_capacity"].values()]
    out = [
        "## Open loop: credits on a fixed schedule",
        "",
        f"Each rate for {d['window_s']:.0f} s, evenly spaced, one process per service; capacity "
        f"{d['capacity_per_s']:,} credits/s (the highest rate whose backlog at the window's end is at most two "
        "seconds of arrivals). Latency from the webhook sent to the receipt signed, and to the dashboard showing it.",
        "",
        "| rate /s | achieved /s | backlog at end | receipt p50 / p90 / p99 / max ms | dashboard p99 ms "
        "| CPU ms per credit |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        t = r["to_receipt"]
        out.append(
            f"| {r['rate_per_s']} | {r['achieved_per_s']} | {r['backlog_at_end']:,} "
            f"| {t['p50_ms']:,} / {t['p90_ms']:,} / {t['p99_ms']:,} / {t['max_ms']:,} "
            f"| {r['to_dashboard']['p99_ms']:,} | {r['cpu']['cpu_ms_per_credit_total']} |"
        )
    out += [
        "",
        "Where the time goes, p50 / p99 ms of each stage (from the stage before it; the dashboard from the "
        "event's publication):",
        "",
        "| rate /s | " + " | ".join(STAGE_NAMES.values()) + " |",
        "|---|" + "---|" * len(STAGE_NAMES),
    ]
    for r in rows:
        cells = [f"{r['stages'][k]['p50_ms']:,} / {r['stages'][k]['p99_ms']:,}" for k in STAGE_NAMES]
        out.append(f"| {r['rate_per_s']} | " + " | ".join(cells) + " |")
    for share, r in d["at_share_of_capacity"].items():
        reads = r.get("dashboard_api_while_running")
        if reads:
            out += [
                "",
                f"The dashboard API read all along at {share} of capacity ({reads['requests']:,} requests, "
                f"{reads['views']} views in turn, over HTTP): p50 {reads['p50_ms']:,} ms, p99 {reads['p99_ms']:,} "
                f"ms, max {reads['max_ms']:,} ms.",
            ]
            views = sorted(reads.get("by_view", {}).items(), key=lambda v: -v[1]["p99_ms"])
            if views:
                out += ["", "| view | p50 ms | p99 ms |", "|---|---|---|"]
                out += [f"| {name} | {v['p50_ms']:,} | {v['p99_ms']:,} |" for name, v in views]
    counted = [r for r in rows if r.get("postgres_per_credit")]
    if counted:
        services = list(counted[0]["postgres_per_credit"])
        out += [
            "",
            "What each credit cost PostgreSQL, per service: statements / transactions / rows (pg_stat_statements):",
            "",
            "| rate /s | " + " | ".join(services) + " | all |",
            "|---|" + "---|" * (len(services) + 1),
        ]
        for r in counted:
            per = r["postgres_per_credit"]
            cells = [f"{per[s]['statements']} / {per[s]['transactions']} / {per[s]['rows']}" for s in services]
            total = round(sum(per[s]["statements"] for s in services), 1)
            out.append(f"| {r['rate_per_s']} | " + " | ".join(cells) + f" | {total} |")
    return "\n".join(out) + "\n\n"


STAGE_NAMES = {
    "answered": "webhook answered",
    "committed": "credit committed",
    "published": "event published (relay)",
    "taken_by_receipts": "taken by receipts",
    "receipt_signed": "receipt signed",
    "dashboard": "dashboard applied",
}


def _intake_details(measures: list[Measure]) -> str:
    """Webhook intake alone: where its CPU went, and what HTTP alone allows on this machine."""
    intake = next((m for m in measures if m.name.startswith("webhook intake")), None)
    if intake is None:
        return ""
    d = intake.details
    floor = d["http_floor"]
    out = [
        "",
        "## Webhook intake alone",
        "",
        f"{d['webhooks']:,} webhooks, {d['concurrency']} at a time, {d['processes']} processes: "
        f"{d['webhooks_per_s']:,}/s, machine {d['cpu']['machine_busy_percent']}% busy, "
        f"{d['cpu']['cpu_ms_per_credit_total']} CPU ms per webhook:",
        "",
        *(f"- {k}: {v}" for k, v in d["cpu"]["cpu_ms_per_credit"].items()),
        "",
        f"The same requests to the same server stack with an app that only reads them and answers: "
        f"{floor['requests_per_s']:,}/s at {floor['cpu']['cpu_ms_per_credit_total']} CPU ms per request.",
    ]
    return "\n".join(out) + "\n"


ROUND_KEYS = {
    "workers_per_service",
    "credits",
    "credits_per_s",
    "webhooks_accepted_per_s",
    "p50_ms",
    "p99_ms",
    "receipt_p99_ms",
    "dashboard_p99_ms",
    "cpu",
}


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
