"""Reconciliation's own figures on /metrics: credits waiting for the accountant, the daily close's difference,
webhook credits the bank's statement did not confirm, webhooks refused."""

from __future__ import annotations

import asyncpg

from reconciliation.stores import confirmations_store, credits_store
from shared.errors import DomainError
from shared.metrics import Metrics


async def sample(metrics: Metrics, db: asyncpg.Pool) -> None:
    waiting = metrics.gauge("tuition_credits_open", "Credits waiting for the accountant, by state", "state")
    oldest = metrics.gauge(
        "tuition_credits_open_oldest_age_seconds", "Age of the oldest credit waiting, by state", "state"
    )
    waiting.clear()
    oldest.clear()
    for s in await credits_store.open_by_state(db):
        waiting.labels(s.state).set(s.n)
        oldest.labels(s.state).set(s.oldest)
    difference = metrics.gauge(
        "tuition_reconciliation_difference_vnd",
        "The daily close's difference over the credits received in the last 48 hours, by school (0: balanced)",
        "school",
    )
    difference.clear()
    for d in await credits_store.recent_differences(db):
        difference.labels(d.school_id).set(d.difference)
    unconfirmed = metrics.gauge(
        "tuition_credits_unconfirmed_by_bank",
        "Webhook credits a later statement of their account came without (forged, or failed at the bank)",
        "school",
    )
    unconfirmed_vnd = metrics.gauge(
        "tuition_credits_unconfirmed_by_bank_vnd", "What those credits add up to, in VND", "school"
    )
    for gauge in (unconfirmed, unconfirmed_vnd):
        gauge.clear()
    for u in await confirmations_store.unconfirmed_past_a_statement(db):
        unconfirmed.labels(u.school_id).set(u.credits)
        unconfirmed_vnd.labels(u.school_id).set(u.amount)


def webhook_refused(metrics: Metrics, exc: DomainError) -> None:
    """A webhook answered with an error, counted by the kind of error (signature, malformed, invalid...)."""
    reason = {401: "signature", 400: "malformed", 409: "school_not_known", 422: "invalid"}.get(exc.status, "other")
    metrics.counter("tuition_webhooks_refused", "Webhooks refused, by reason", "reason").labels(reason).inc()
