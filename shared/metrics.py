"""`/metrics` of every service (Prometheus text format, prometheus-client).

What every service reports: HTTP requests by route template and status, and their latency; for each consumer,
the events not yet applied (lag) and those dead-lettered; the outbox's unpublished events and the age of the
oldest; dead letters waiting in the database. A service adds its own figures with `ServiceSpec.metrics` (a
function that reads them from its database) and its own counters through `runtime.metrics`.

Figures read from the database are sampled at most once every `SAMPLE_EVERY_S` whatever the scrape rate, so
a scrape costs a few indexed queries at most. Labels never carry personal data: routes are templates
(`/schools/{school_id}/invoices`), never paths.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    import asyncpg

SAMPLE_EVERY_S = 5.0
CONTENT_TYPE = CONTENT_TYPE_LATEST
Instrument = TypeVar("Instrument", Gauge, Counter)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """One registry per service instance (a test process runs many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._made: dict[str, Gauge | Counter] = {}
        self.requests = Counter(
            "tuition_http_requests", "HTTP requests answered", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "tuition_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.consumer_lag = self.gauge("tuition_consumer_lag_events", "Events on the topics not yet applied", "group")
        # A count since the process started: a counter (`_total`), so that rate() and increase() survive restarts.
        self.consumer_dead = self.counter(
            "tuition_consumer_dead_lettered_events", "Events this process set aside as dead letters", "group"
        )
        self._dead_counted: dict[str, int] = {}
        self.outbox_backlog = self.gauge("tuition_outbox_backlog_events", "Events written but not yet published")
        self.outbox_age = self.gauge(
            "tuition_outbox_oldest_age_seconds", "Age of the oldest unpublished event (0 when none)"
        )
        self.dead_letters = self.gauge("tuition_dead_letters", "Dead letters waiting for an operator", "consumer")
        self._sampled_at = 0.0
        self._lock = asyncio.Lock()

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One HTTP request answered (refusals by size or rate included), by its route template."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def count_dead_lettered(self, group: str, total: int) -> None:
        """The consumer's dead letters since the process started, added to its counter as they grow."""
        grown = total - self._dead_counted.get(group, 0)
        if grown > 0:
            self.consumer_dead.labels(group).inc(grown)
        self._dead_counted[group] = total

    def gauge(self, name: str, documentation: str, *labels: str) -> Gauge:
        """The service's gauge `name` (made on first use)."""
        return self._instrument(Gauge, name, documentation, labels)

    def counter(self, name: str, documentation: str, *labels: str) -> Counter:
        """The service's counter `name` (made on first use)."""
        return self._instrument(Counter, name, documentation, labels)

    def _instrument(self, kind: type[Instrument], name: str, documentation: str, labels: tuple[str, ...]) -> Instrument:
        if name not in self._made:
            self._made[name] = kind(name, documentation, list(labels), registry=self.registry)
        made = self._made[name]
        assert isinstance(made, kind), name
        return made

    async def render(self, sample: Callable[[], Awaitable[None]]) -> bytes:
        """The text exposition, after refreshing the database figures if they are older than SAMPLE_EVERY_S."""
        async with self._lock:
            if time.monotonic() - self._sampled_at >= SAMPLE_EVERY_S:
                await sample()
                self._sampled_at = time.monotonic()
        return generate_latest(self.registry)


async def sample_shared(metrics: Metrics, db: asyncpg.Pool) -> None:
    """The outbox and dead-letter figures every service has (shared migrations)."""
    async with db.acquire() as conn:
        backlog, oldest = await conn.fetchrow(
            "SELECT count(*), coalesce(extract(epoch FROM now() - (SELECT created_at FROM outbox "
            "WHERE published_at IS NULL ORDER BY seq LIMIT 1)), 0)::float8 FROM outbox WHERE published_at IS NULL"
        )
        dead = await conn.fetch(
            "SELECT consumer, count(*) AS n FROM dead_letters WHERE replayed_at IS NULL GROUP BY consumer"
        )
    metrics.outbox_backlog.set(backlog)
    metrics.outbox_age.set(oldest)
    metrics.dead_letters.clear()
    for row in dead:
        metrics.dead_letters.labels(row["consumer"]).set(row["n"])
