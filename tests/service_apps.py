"""Any service's app on a test database of its own: for the suite-level tests that walk every service."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import FastAPI

SERVICES = ("invoicing", "reconciliation", "receipts", "reporting")


async def service_app(service: str, make_database: Any, infra: Any, topic_prefix: str, **settings: Any) -> FastAPI:
    """The service's app (not started), on a fresh migrated database, with rate limits off (one client)."""
    main = importlib.import_module(f"{service}.main")
    settings_cls = getattr(importlib.import_module(f"{service}.settings"), f"{service.capitalize()}Settings")
    dsn = await make_database(main.SPEC.migrations)
    return main.create_app(  # type: ignore[no-any-return]
        settings_cls(
            database=dsn.rsplit("/", 1)[1],
            pg_dsn=infra.pg_dsn,
            kafka_bootstrap_servers=infra.kafka,
            topic_prefix=topic_prefix,
            topic_partitions=3,
            rate_limits=False,
            **settings,
        )
    )
