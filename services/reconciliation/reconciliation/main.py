"""Wiring of the reconciliation service: settings → runtime (database, relay, consumers) → HTTP app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from reconciliation.entrypoints import api
from reconciliation.entrypoints.consumers import CONSUMERS
from reconciliation.settings import ReconciliationSettings
from shared.service import ServiceRuntime, ServiceSpec, build_app

SPEC = ServiceSpec(
    name="reconciliation", migrations=Path(__file__).resolve().parents[1] / "migrations", consumers=CONSUMERS
)


def create_app(settings: ReconciliationSettings | None = None) -> FastAPI:
    def started(app: FastAPI, runtime: ServiceRuntime) -> None:
        async def district_of(school_id: str) -> str | None:
            return await runtime.db().fetchval("SELECT district_code FROM schools WHERE school_id = $1", school_id)

        app.state.district_of = district_of

    return build_app(
        SPEC,
        settings or ReconciliationSettings(),
        title="Reconciliation: bank credits in, matched to invoices",
        routers=[api.router],
        on_started=started,
    )
