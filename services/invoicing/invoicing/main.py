"""Wiring of the invoicing service: settings → runtime (database, relay, consumers) → HTTP app."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

from fastapi import FastAPI

from invoicing.app import messages
from invoicing.entrypoints import (
    accounts_api,
    fees_api,
    invoices_api,
    messages_api,
    oidc_api,
    pages,
    parents_api,
    payment_api,
    reports_api,
    roster_api,
    rounds_api,
    schools_api,
    sign_in_api,
    workspace,
)
from invoicing.entrypoints.consumers import CONSUMERS
from invoicing.entrypoints.wiring import message_wiring
from invoicing.settings import InvoicingSettings
from invoicing.stores import schools_store
from shared.limits import BodyLimit, MiB, RateLimit
from shared.service import ServiceRuntime, ServiceSpec, build_app


def _send_messages(rt: ServiceRuntime) -> Awaitable[int]:
    return messages.send_due(rt.db(), message_wiring(rt))


def _queue_reminders(rt: ServiceRuntime) -> Awaitable[int]:
    return messages.queue_reminders(rt.db(), message_wiring(rt))


SPEC = ServiceSpec(
    name="invoicing",
    migrations=Path(__file__).resolve().parent / "migrations",
    district_of=schools_store.district_of,
    consumers=CONSUMERS,
    body_limits=[BodyLimit(r"/schools/[^/]+/roster$", 8 * MiB)],
    # The parent page: its token is unguessable, the rate keeps guessing and scraping slow.
    rate_limits=[
        RateLimit("the payment page", r"/pay/", per_second=10, burst=30),
        # Signing in hashes a password (Argon2id): a few per second per address, on top of the throttle.
        RateLimit("signing in", r"/auth/(sign-in|second-factor|links/)", per_second=5, burst=30),
        # A parent's code and its check: slow for a guesser, enough for a family.
        RateLimit("parents signing in", r"/parent/(code|sign-in)", per_second=2, burst=10),
    ],
    # Parents are told: due messages sent every second; the day's reminders looked for every ten minutes.
    periodic={"messages": (1.0, _send_messages), "reminders": (600.0, _queue_reminders)},
)


def create_app(settings: InvoicingSettings | None = None) -> FastAPI:
    return build_app(
        SPEC,
        settings or InvoicingSettings(),
        title="Invoicing: rosters, fee schedules, invoices and VietQR payment pages",
        routers=[
            # By concern, in the order their routes were always matched.
            schools_api.router,
            roster_api.router,
            fees_api.router,
            invoices_api.router,
            rounds_api.router,
            payment_api.router,
            reports_api.router,
            sign_in_api.router,
            accounts_api.router,
            oidc_api.router,
            messages_api.router,
            pages.router,
            parents_api.router,
            workspace.router,
        ],
    )
