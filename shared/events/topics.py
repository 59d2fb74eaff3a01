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


def events_on(topic: Topic) -> frozenset[str]:
    """The event types a topic carries: every message of its context's `events.proto` (shared/events/envelope.py
    imports them all), except the messages that are only parts of others (e.g. InvoiceLine)."""
    from tuition.auth.v1 import events_pb2 as auth
    from tuition.invoicing.v1 import events_pb2 as invoicing
    from tuition.receipts.v1 import events_pb2 as receipts
    from tuition.reconciliation.v1 import events_pb2 as reconciliation

    module = {
        Topic.INVOICING: invoicing,
        Topic.RECONCILIATION: reconciliation,
        Topic.RECEIPTS: receipts,
        Topic.AUTH: auth,
    }[topic]
    nested = {
        f.message_type.full_name
        for m in module.DESCRIPTOR.message_types_by_name.values()
        for f in m.fields
        if f.message_type is not None
    }
    return frozenset(m.full_name for m in module.DESCRIPTOR.message_types_by_name.values()) - nested
