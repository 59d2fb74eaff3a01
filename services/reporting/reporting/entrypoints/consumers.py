"""Kafka consumers of the reporting service: invoicing and reconciliation events into the projections."""

from __future__ import annotations

from collections.abc import Mapping

from reporting.app.projection import HANDLERS, logged
from shared.events.consumer import Handler
from shared.events.topics import Topic
from shared.service import ConsumerSpec, ServiceRuntime


def _handlers(_: ServiceRuntime) -> Mapping[str, Handler]:
    return {event_type: logged(handler) for event_type, handler in HANDLERS.items()}


CONSUMERS = [ConsumerSpec(name="projections", topics=[Topic.INVOICING, Topic.RECONCILIATION], handlers=_handlers)]
