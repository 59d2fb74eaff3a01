"""Wiring of the receipts service: settings → runtime (database, relay, consumers) → HTTP app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from receipts.entrypoints import api
from receipts.entrypoints.consumers import CONSUMERS
from receipts.settings import ReceiptsSettings
from shared.service import ServiceRuntime, ServiceSpec, build_app

SPEC = ServiceSpec(name="receipts", migrations=Path(__file__).resolve().parents[1] / "migrations", consumers=CONSUMERS)


def create_app(settings: ReceiptsSettings | None = None) -> FastAPI:
    def started(app: FastAPI, runtime: ServiceRuntime) -> None:
        async def district_of(school_id: str) -> str | None:
            return await runtime.db().fetchval("SELECT district_code FROM schools WHERE school_id = $1", school_id)

        app.state.district_of = district_of

    return build_app(
        SPEC,
        settings or ReceiptsSettings(),
        title="Receipts: numbered, signed e-receipts and their verification",
        routers=[api.router],
        on_started=started,
    )
