"""Every service starts on the real servers: migrates its database, answers /healthz and /readyz."""

from __future__ import annotations

import asyncio
import importlib
import uuid

import httpx
import pytest

from shared.auth import mint_token
from shared.db import drop_database, ensure_database

pytestmark = pytest.mark.integration

SERVICES = ["invoicing", "reconciliation", "receipts", "reporting"]


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_starts_migrates_and_reports_ready(service, infra_endpoints, topic_prefix, monkeypatch):
    database = f"t_{service}_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(f"{service.upper()}_DATABASE", database)
    monkeypatch.setenv("TUITION_TOPIC_PREFIX", topic_prefix)
    monkeypatch.setenv("PG_DSN", infra_endpoints.pg_dsn)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", infra_endpoints.kafka)
    app = importlib.import_module(f"{service}.main").create_app()
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
                health = await client.get("/healthz")
                assert health.json() == {"status": "ok", "service": service}
                ready = await client.get("/readyz", headers={"X-Correlation-ID": "abc123"})
                assert ready.status_code == 200, ready.text
                assert ready.json()["checks"] == {"postgres": "ok", "kafka": "ok"}
                assert ready.headers["X-Correlation-ID"] == "abc123"
                spec = (await client.get("/openapi.json")).json()
                assert "/healthz" in spec["paths"] and spec["info"]["title"]
                pool = app.state.runtime.db()
                tables = {r["tablename"] for r in await pool.fetch("SELECT tablename FROM pg_tables")}
                assert {"outbox", "inbox", "dead_letters"} <= tables
    finally:
        await drop_database(infra_endpoints.pg_dsn, database)


def test_the_cli_mints_a_token_that_the_services_accept(capsys):
    from shared.auth import decode_token
    from shared.settings import DEV_JWT_SECRET
    from suite.cli import main

    assert main(["token", "mint", "--role", "accountant", "--school", "MN-HOA-PHUONG"]) == 0
    token = capsys.readouterr().out.strip()
    assert decode_token(DEV_JWT_SECRET, token).school == "MN-HOA-PHUONG"
    assert main(["token", "mint", "--role", "district"]) == 2
    assert "needs a district" in capsys.readouterr().err
    assert mint_token(DEV_JWT_SECRET, role="service")


async def test_processes_starting_at_once_on_a_new_database_all_start(infra_endpoints):
    """A service's workers start together: each creates its database if it is missing, and the ones that
    lose the race (PostgreSQL refuses them with one error or another) carry on with the database made."""
    database = f"t_race_{uuid.uuid4().hex[:8]}"
    try:
        for _ in range(3):
            created = await asyncio.gather(*(ensure_database(infra_endpoints.pg_dsn, database) for _ in range(6)))
            assert sorted(created) == [False] * 5 + [True]
            await drop_database(infra_endpoints.pg_dsn, database)
    finally:
        await drop_database(infra_endpoints.pg_dsn, database)
