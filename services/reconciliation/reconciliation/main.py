"""Wiring of the reconciliation service: settings → runtime (database, relay, consumers) → HTTP app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from reconciliation.entrypoints import api
from reconciliation.entrypoints.consumers import CONSUMERS
from reconciliation.settings import ReconciliationSettings
from shared.service import ServiceSpec, build_app

SPEC = ServiceSpec(
    name="reconciliation", migrations=Path(__file__).resolve().parents[1] / "migrations", consumers=CONSUMERS
)


def create_app(settings: ReconciliationSettings | None = None) -> FastAPI:
    return build_app(
        SPEC,
        settings or ReconciliationSettings(),
        title="Reconciliation: bank credits in, matched to invoices",
        routers=[api.router],
    )
