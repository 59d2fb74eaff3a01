"""Wiring of the invoicing service: settings → runtime (database, relay, consumers) → HTTP app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from invoicing.app.schools import district_of
from invoicing.domain.errors import InvoicingError
from invoicing.entrypoints import api, pages
from invoicing.entrypoints.consumers import CONSUMERS
from invoicing.settings import InvoicingSettings
from shared.service import ServiceRuntime, ServiceSpec, build_app

SPEC = ServiceSpec(name="invoicing", migrations=Path(__file__).resolve().parents[1] / "migrations", consumers=CONSUMERS)


def create_app(settings: InvoicingSettings | None = None) -> FastAPI:
    def started(app: FastAPI, runtime: ServiceRuntime) -> None:
        async def lookup(school_id: str) -> str | None:
            return await district_of(runtime.db(), school_id)

        app.state.district_of = lookup

    app = build_app(
        SPEC,
        settings or InvoicingSettings(),
        title="Invoicing: rosters, fee schedules, invoices and VietQR payment pages",
        routers=[api.router, pages.router],
        on_started=started,
    )

    @app.exception_handler(InvoicingError)
    async def domain_error(_: Request, exc: InvoicingError) -> JSONResponse:
        body: dict[str, object] = {"detail": exc.message}
        if exc.details:
            body["errors"] = exc.details
        return JSONResponse(body, status_code=exc.status)

    return app
