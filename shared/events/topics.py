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
    # The pupils' keys that seal names on the other topics: compacted, keyed by student id (see CONFIGS).
    PUPIL_KEYS = "tuition.invoicing.pupil-keys.v1"


# What a topic sets beyond the suite's policy (shared/events/kafka.py TopicPolicy). The keys' topic keeps
# only the last record of each pupil: once PupilKeyDestroyed follows PupilKeyIssued, the record with the key
# is compacted away. A segment rolls daily and no record waits more than 7 days for compaction, so a
# destroyed key is gone from the brokers' disks within a week (8 days at most, with the segment's day).
CONFIGS: dict[Topic, dict[str, str]] = {
    Topic.PUPIL_KEYS: {
        "cleanup.policy": "compact",
        "segment.ms": str(24 * 3600 * 1000),
        "max.compaction.lag.ms": str(7 * 24 * 3600 * 1000),
        "min.cleanable.dirty.ratio": "0.01",
    }
}


def topic_name(topic: Topic | str, prefix: str = "") -> str:
    """The physical topic name: `prefix` isolates tests and lets several districts share one cluster."""
    return f"{prefix}{topic}"


def all_topics(prefix: str = "") -> list[str]:
    return [topic_name(t, prefix) for t in Topic]


def configs_by_name(prefix: str = "") -> dict[str, dict[str, str]]:
    """CONFIGS by physical topic name."""
    return {topic_name(t, prefix): c for t, c in CONFIGS.items()}


def events_on(topic: Topic) -> frozenset[str]:
    """The event types a topic carries: every message of its context's `events.proto` (shared/events/envelope.py
    imports them all), except the messages that are only parts of others (e.g. InvoiceLine)."""
    from tuition.auth.v1 import events_pb2 as auth
    from tuition.invoicing.v1 import events_pb2 as invoicing
    from tuition.invoicing.v1 import pupil_keys_pb2 as pupil_keys
    from tuition.receipts.v1 import events_pb2 as receipts
    from tuition.reconciliation.v1 import events_pb2 as reconciliation

    module = {
        Topic.INVOICING: invoicing,
        Topic.RECONCILIATION: reconciliation,
        Topic.RECEIPTS: receipts,
        Topic.AUTH: auth,
        Topic.PUPIL_KEYS: pupil_keys,
    }[topic]
    nested = {
        f.message_type.full_name
        for m in module.DESCRIPTOR.message_types_by_name.values()
        for f in m.fields
        if f.message_type is not None
    }
    return frozenset(m.full_name for m in module.DESCRIPTOR.message_types_by_name.values()) - nested
