"""Any service's app on a test database of its own: for the suite-level tests that walk every service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from devinfra import testing
from devinfra.testing import SERVICES

__all__ = ["SERVICES", "service_app"]


async def service_app(service: str, make_database: Any, infra: Any, topic_prefix: str, **settings: Any) -> FastAPI:
    """The service's app (not started), with rate limits off (one client sends everything)."""
    return await testing.service_app(service, make_database, infra, topic_prefix, **({"rate_limits": False} | settings))
