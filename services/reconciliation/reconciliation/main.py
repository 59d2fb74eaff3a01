"""Wiring of the reconciliation service: settings → runtime (database, relay, consumers) → HTTP app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from reconciliation.app import metrics, projection
from reconciliation.entrypoints import bank_api, close_api, credits_api, exceptions_api, money_in_api
from reconciliation.entrypoints.common import intake_of
from reconciliation.entrypoints.consumers import CONSUMERS
from reconciliation.settings import ReconciliationSettings
from reconciliation.stores import schools_store
from shared.limits import BodyLimit, KiB, MiB, RateLimit
from shared.service import ServiceSpec, build_app

SPEC = ServiceSpec(
    name="reconciliation",
    migrations=Path(__file__).resolve().parent / "migrations",
    district_of=schools_store.district_of,
    consumers=CONSUMERS,
    metrics=metrics.sample,
    body_limits=[BodyLimit(r"/webhooks/", 64 * KiB), BodyLimit(r"/schools/[^/]+/statements$", 8 * MiB)],
    # Keyed by school (group 1): aggregators post for many schools from a few addresses. Far above a
    # school's month-start peak, far below what would let one school's flood crowd out the others.
    rate_limits=[RateLimit("the webhooks", r"/webhooks/[^/]+/([^/]+)", per_second=200, burst=1000, key_group=1)],
    background={"webhook targets": lambda rt: intake_of(rt).secrets.follow(rt.dsn)},
    periodic={"sealed names": (5.0, lambda rt: projection.open_waiting_names(rt.db()))},
)


def create_app(settings: ReconciliationSettings | None = None) -> FastAPI:
    return build_app(
        SPEC,
        settings or ReconciliationSettings(),
        title="Reconciliation: bank credits in, matched to invoices",
        routers=[
            # By concern, in the order their routes were always matched.
            money_in_api.router,
            credits_api.router,
            exceptions_api.router,
            close_api.router,
            bank_api.router,
        ],
    )
