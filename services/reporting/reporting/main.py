"""Wiring of the reporting service: settings → runtime (database, relay, consumers) → HTTP app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from reporting.app.streams import Streams
from reporting.entrypoints import audit_api, dashboard_api, exports_api, pages, sector_api, stream_api, targets_api
from reporting.entrypoints.consumers import CONSUMERS
from reporting.settings import ReportingSettings
from reporting.stores import projection_store
from shared.service import ServiceSpec, build_app

SPEC = ServiceSpec(
    name="reporting",
    migrations=Path(__file__).resolve().parent / "migrations",
    consumers=CONSUMERS,
    district_of=projection_store.district_of,
)


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    app = build_app(
        SPEC,
        settings or ReportingSettings(),
        title="Reporting: projections and the district dashboard",
        routers=[
            # By concern, in the order their routes were always matched.
            dashboard_api.router,
            targets_api.router,
            exports_api.router,
            audit_api.router,
            sector_api.router,
            stream_api.router,
            pages.router,
        ],
    )
    app.state.streams = Streams()  # this process's live dashboard streams, bounded
    return app
