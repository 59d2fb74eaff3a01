"""`make bench`: run the benchmark suite on the local servers and write bench/results.json and .md."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import devinfra as infra
from bench import dashboard, e2e, issuance, matching, receipts
from bench.common import machine, peak_rss_mib
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
        f"{table}\n"
    )
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
