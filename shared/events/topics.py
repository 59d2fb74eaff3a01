"""Every topic of the suite, named and versioned in one place.

One topic per bounded context and major version; an event's type travels in its envelope.
The Kafka key is the aggregate id, so one invoice's (or credit's, receipt's) events stay in order.
"""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    INVOICING = "tuition.invoicing.events.v1"
    RECONCILIATION = "tuition.reconciliation.events.v1"
    RECEIPTS = "tuition.receipts.events.v1"
    AUTH = "tuition.auth.events.v1"


def topic_name(topic: Topic | str, prefix: str = "") -> str:
    """The physical topic name: `prefix` isolates tests and lets several districts share one cluster."""
    return f"{prefix}{topic}"


def all_topics(prefix: str = "") -> list[str]:
    return [topic_name(t, prefix) for t in Topic]
