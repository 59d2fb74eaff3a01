"""Kafka consumers of the reporting service: invoicing, reconciliation and receipts events into the projections
(receipts only for the district's audit of money actions: a cancelled receipt)."""

from __future__ import annotations

from reporting.app.projection import projection_handlers
from shared.events.handlers import Handlers
from shared.events.topics import Topic
from shared.service import ConsumerSpec, ServiceRuntime


def _projections(_: ServiceRuntime) -> Handlers:
    return projection_handlers()


CONSUMERS = [
    ConsumerSpec(
        name="projections", topics=[Topic.INVOICING, Topic.RECONCILIATION, Topic.RECEIPTS], handlers=_projections
    )
]
