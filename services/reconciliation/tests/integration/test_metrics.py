"""/metrics scraped as Prometheus would: requests by route template, webhooks refused by reason, credits
waiting for the accountant and their age, consumer lag, outbox backlog, dead letters."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer

from devinfra.testing import scrape_metrics, wait_until
from shared.events.topics import Topic, topic_name

from .conftest import SCHOOL, sepay_body

pytestmark = pytest.mark.integration


async def test_metrics_show_refusals_open_credits_lag_and_dead_letters(recon, monkeypatch):
    monkeypatch.setattr("shared.metrics.SAMPLE_EVERY_S", 0.0)
    (inv,) = await recon.issue([500_000])
    assert (await recon.sepay(sepay_body(1, 500_000, inv.reference))).status_code == 200
    assert (await recon.sepay(sepay_body(2, 123_456, "CHUYEN TIEN"))).status_code == 200  # nobody's: unmatched
    for n in (3, 4):
        assert (await recon.sepay(sepay_body(n, 500_000, "HP"), key="wrong")).status_code == 401
    producer = AIOKafkaProducer(bootstrap_servers=recon.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(topic_name(Topic.INVOICING, recon.prefix), b"\x00not an envelope", key=b"k")
    finally:
        await producer.stop()
    await wait_until(lambda: recon._count("SELECT count(*) FROM dead_letters", 1), what="the dead letter")

    m = await scrape_metrics(recon.client)
    assert m[("tuition_webhooks_refused_total", frozenset({("reason", "signature")}))] == 2
    webhook = frozenset({("route", "/webhooks/{provider}/{school_id}"), ("method", "POST"), ("status", "200")})
    assert m[("tuition_http_requests_total", webhook)] == 2
    assert not any(SCHOOL in dict(labels).get("route", "") for _, labels in m)  # templates, never paths
    assert m[("tuition_credits_open", frozenset({("state", "unmatched")}))] == 1
    assert m[("tuition_credits_open_oldest_age_seconds", frozenset({("state", "unmatched")}))] >= 0
    assert m[("tuition_reconciliation_difference_vnd", frozenset({("school", SCHOOL)}))] == 0
    # A credit whose books do not add up (an allocation lost) shows as a difference, to the đồng.
    await recon.pool.execute("DELETE FROM allocations WHERE amount = 500000")  # type: ignore[attr-defined]
    m = await scrape_metrics(recon.client)
    assert m[("tuition_reconciliation_difference_vnd", frozenset({("school", SCHOOL)}))] == 500_000
    assert m[("tuition_dead_letters", frozenset({("consumer", "reconciliation.book")}))] == 1
    assert m[("tuition_consumer_dead_lettered_events_total", frozenset({("group", "reconciliation.book")}))] == 1
    assert m[("tuition_consumer_lag_events", frozenset({("group", "reconciliation.book")}))] == 0
    assert ("tuition_outbox_backlog_events", frozenset()) in m
    assert ("tuition_outbox_oldest_age_seconds", frozenset()) in m
    latency = frozenset({("route", "/webhooks/{provider}/{school_id}"), ("method", "POST")})
    assert m[("tuition_http_request_duration_seconds_count", latency)] == 4
