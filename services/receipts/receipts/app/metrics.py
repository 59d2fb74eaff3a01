"""Receipts' own figures on /metrics: receipts numbered, numbers left in each series, certificate expiry, and
payments parked waiting for what their receipt needs."""

from __future__ import annotations

import asyncpg

from receipts.stores import keys_store, pending_store, series_store
from shared.metrics import Metrics


async def sample(metrics: Metrics, db: asyncpg.Pool) -> None:
    used = metrics.gauge("tuition_receipts_numbered", "Receipts numbered in each open series", "school", "series")
    left = metrics.gauge("tuition_receipt_numbers_left", "Numbers left in each open series", "school", "series")
    expiry = metrics.gauge(
        "tuition_certificate_expiry_seconds", "Seconds until each active signing certificate expires", "school", "kind"
    )
    parked = metrics.gauge(
        "tuition_receipts_parked", "Payments waiting for their receipt, by what they wait for", "school", "waiting_for"
    )
    parked_age = metrics.gauge(
        "tuition_receipts_parked_oldest_seconds", "Age of the oldest payment waiting for its receipt", "school"
    )
    for gauge in (used, left, expiry, parked, parked_age):
        gauge.clear()
    oldest: dict[str, float] = {}
    for row in await pending_store.parked_by_school(db):
        parked.labels(row["school_id"], row["waiting_for"]).set(row["n"])
        oldest[row["school_id"]] = max(oldest.get(row["school_id"], 0.0), row["oldest"])
    for school, age in oldest.items():
        parked_age.labels(school).set(age)
    for row in await series_store.numbers_left(db):
        used.labels(row["school_id"], row["series_code"]).set(row["used"])
        left.labels(row["school_id"], row["series_code"]).set(row["left_"])
    for row in await keys_store.active_expiries(db):
        expiry.labels(row["school_id"], row["kind"]).set(row["seconds_left"])
