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
    for p in await pending_store.parked_by_school(db):
        parked.labels(p.school_id, p.waiting_for).set(p.n)
        oldest[p.school_id] = max(oldest.get(p.school_id, 0.0), p.oldest)
    for school, age in oldest.items():
        parked_age.labels(school).set(age)
    for s in await series_store.numbers_left(db):
        used.labels(s.school_id, s.series_code).set(s.used)
        left.labels(s.school_id, s.series_code).set(s.left_)
    for e in await keys_store.active_expiries(db):
        expiry.labels(e.school_id, e.kind).set(e.seconds_left)
