"""Kafka consumers of the invoicing service: payments from reconciliation update balances."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from invoicing.app import balances
from shared.events.consumer import Handler
from shared.events.envelope import Event
from shared.events.topics import Topic
from shared.service import ConsumerSpec, ServiceRuntime


def _payment_handlers(rt: ServiceRuntime) -> Mapping[str, Handler]:
    async def matched(conn: asyncpg.Connection, event: Event) -> None:
        await balances.on_payment_matched(conn, rt.outbox, event)

    async def reversed_(conn: asyncpg.Connection, event: Event) -> None:
        await balances.on_payment_reversed(conn, rt.outbox, event)

    return {
        "tuition.reconciliation.v1.PaymentMatched": matched,
        "tuition.reconciliation.v1.PaymentReversed": reversed_,
    }


CONSUMERS = [ConsumerSpec(name="balances", topics=[Topic.RECONCILIATION], handlers=_payment_handlers)]
