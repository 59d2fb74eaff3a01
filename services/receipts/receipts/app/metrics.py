"""Receipts' own figures on /metrics: receipts numbered, numbers left in each series, certificate expiry."""

from __future__ import annotations

import asyncpg

from receipts.stores import keys_store, series_store
from shared.metrics import Metrics


async def sample(metrics: Metrics, db: asyncpg.Pool) -> None:
    used = metrics.gauge("tuition_receipts_numbered", "Receipts numbered in each open series", "school", "series")
    left = metrics.gauge("tuition_receipt_numbers_left", "Numbers left in each open series", "school", "series")
    expiry = metrics.gauge(
        "tuition_certificate_expiry_seconds", "Seconds until each active signing certificate expires", "school", "kind"
    )
    for gauge in (used, left, expiry):
        gauge.clear()
    for row in await series_store.numbers_left(db):
        used.labels(row["school_id"], row["series_code"]).set(row["used"])
        left.labels(row["school_id"], row["series_code"]).set(row["left_"])
    for row in await keys_store.active_expiries(db):
        expiry.labels(row["school_id"], row["kind"]).set(row["seconds_left"])
