"""Kafka consumers of the reporting service: invoicing and reconciliation events into the projections."""

from __future__ import annotations

from reporting.app.projection import projection_handlers
from shared.events.handlers import Handlers
from shared.events.topics import Topic
from shared.service import ConsumerSpec, ServiceRuntime


def _projections(_: ServiceRuntime) -> Handlers:
    return projection_handlers()


CONSUMERS = [ConsumerSpec(name="projections", topics=[Topic.INVOICING, Topic.RECONCILIATION], handlers=_projections)]
