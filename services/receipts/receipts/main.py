"""Wiring of the receipts service: settings → runtime (database, relay, consumers) → HTTP app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from receipts.app import issuing, metrics, projection
from receipts.entrypoints import receipts_api, series_keys_api, verification_api
from receipts.entrypoints.consumers import CONSUMERS
from receipts.settings import ReceiptsSettings
from receipts.stores import copies_store
from shared.limits import BodyLimit, KiB, RateLimit
from shared.service import ServiceSpec, build_app

SPEC = ServiceSpec(
    name="receipts",
    migrations=Path(__file__).resolve().parent / "migrations",
    district_of=copies_store.district_of,
    consumers=CONSUMERS,
    metrics=metrics.sample,
    # A receipt PDF is tens of kilobytes; a PKCS#12 file a few.
    body_limits=[BodyLimit(r"/verify$", 256 * KiB), BodyLimit(r"/schools/[^/]+/keys$", 64 * KiB)],
    rate_limits=[
        RateLimit("receipt verification", r"/verify$", per_second=10, burst=60),
        RateLimit("the receipt pages", r"/r/", per_second=10, burst=30),
    ],
    background={"signing processes": lambda rt: issuing.signing_processes(rt.settings_as(ReceiptsSettings))},
    periodic={
        "sealed names": (
            2.0,
            lambda rt: projection.open_waiting_names(rt.db(), rt.outbox, rt.settings_as(ReceiptsSettings)),
        )
    },
)


def create_app(settings: ReceiptsSettings | None = None) -> FastAPI:
    return build_app(
        SPEC,
        settings or ReceiptsSettings(),
        title="Receipts: numbered, signed e-receipts and their verification",
        routers=[series_keys_api.router, verification_api.router, receipts_api.router],  # as always matched
    )
