"""`make bench`: run the benchmark suite on the local servers and write bench/results.json and .md."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import devinfra as infra
from bench import dashboard, e2e, issuance, matching, receipts
from bench.common import Measure, machine, peak_rss_mib
from shared.logging import configure_logging

OUT = Path(__file__).parent


async def main() -> int:
    configure_logging("WARNING")
    endpoints = infra.up()
    measures = []
    for name, bench in (
        ("matching", matching.run),
        ("receipts", receipts.run),
        ("issuance", issuance.run),
        ("dashboard", dashboard.run),
        ("end to end", e2e.run),
    ):
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        measures += await bench(endpoints.pg_dsn)
    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "bench_process_peak_rss_mib": round(peak_rss_mib()),
        "measures": [m.as_dict() for m in measures],
    }
    (OUT / "results.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    lines = ["| measure | value | limit (same run) | ratio |", "|---|---|---|---|"]
    for m in measures:
        lines.append(f"| {m.name} | {m.value:,} {m.unit} | {m.limit_name}: {m.limit_value:,} {m.unit} | {m.ratio} |")
    table = "\n".join(lines)
    (OUT / "results.md").write_text(
        f"# Benchmarks\n\nMachine: {result['machine']['cpu']}, "
        f"{result['machine']['cores']} cores, {result['machine']['memory_gib']} GiB.\n\n"
        f"{table}\n\n{_open_loop_details(measures)}{_end_to_end_details(measures)}{_intake_details(measures)}"
    )
    print(table)
    return 0


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
