"""Wiring of the invoicing service: settings → runtime (database, relay, consumers) → HTTP app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from invoicing.settings import InvoicingSettings
from shared.service import ServiceSpec, build_app

SPEC = ServiceSpec(name="invoicing", migrations=Path(__file__).resolve().parents[1] / "migrations")


def create_app(settings: InvoicingSettings | None = None) -> FastAPI:
    return build_app(
        SPEC,
        settings or InvoicingSettings(),
        title="Invoicing: rosters, fee schedules, invoices and VietQR payment pages",
    )
