"""pytest fixtures for tests on the real servers (loaded by the root conftest.py).

The session starts PostgreSQL and Kafka through the same code as `tuition infra up` (and stops what it
started). Each test gets its own databases (cloned from a migrated template per service) and its own
topic prefix, so tests never see each other's rows or events.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import re
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

import devinfra as infra
from shared.db import apply_migrations, create_pool, drop_database, ensure_database, migration_dirs, with_database
from shared.events.kafka import TopicPolicy, delete_topics, ensure_topics
from shared.events.topics import all_topics
from shared.logging import configure_logging
from shared.settings import InfraSettings

# The names the suite's tests give their topics: a test's prefix, a demo or chaos run under test.
SUITE_TOPIC = re.compile(r"(t[0-9a-f]{10}|e2e[0-9a-f]{6}-[0-9]+|chaos[0-9a-f]{6}-[0-9]+)\.")


@dataclass(frozen=True)
class Infra:
    pg_dsn: str
    kafka: str


@pytest.fixture(scope="session")
def infra_endpoints() -> Iterator[Infra]:
    configure_logging("WARNING", json=True)
    settings = InfraSettings()
    endpoints = infra.up(settings)
    # What an interrupted earlier session left behind (its teardown never ran).
    loop = asyncio.new_event_loop()  # not asyncio.run: it would unset the loop the async tests are given
    try:
        loop.run_until_complete(delete_topics(endpoints.kafka_bootstrap, lambda topic: bool(SUITE_TOPIC.match(topic))))
    finally:
        loop.close()
    try:
        yield Infra(endpoints.pg_dsn, endpoints.kafka_bootstrap)
    finally:
        # Leave the machine as we found it: stop only what this session started.
        if endpoints.started_kafka:
            infra.kafka.stop(infra.cache_dir() / "infra" / "kafka")
        if endpoints.started_postgres:
            infra.postgres.stop(infra.cache_dir() / "infra" / "pg")


_templates: dict[str, str] = {}
_template_lock = asyncio.Lock()


async def _template_for(server_dsn: str, migrations: Path | None) -> str:
    """One migrated template database per migration set and test session."""
    key = str(migrations)
    async with _template_lock:
        if key not in _templates:
            name = f"tmpl_{uuid.uuid4().hex[:10]}"
            await ensure_database(server_dsn, name)
            await apply_migrations(with_database(server_dsn, name), migration_dirs(migrations))
            _templates[key] = name
        return _templates[key]


MakeDatabase = Callable[[Path | None], Awaitable[str]]


@pytest_asyncio.fixture
async def make_database(infra_endpoints: Infra) -> AsyncIterator[MakeDatabase]:
    """`await make_database(service_migrations_dir)` → DSN of a fresh, migrated database for this test."""
    created: list[str] = []

    async def make(migrations: Path | None) -> str:
        template = await _template_for(infra_endpoints.pg_dsn, migrations)
        name = f"t_{uuid.uuid4().hex[:12]}"
        await ensure_database(infra_endpoints.pg_dsn, name, template=template)
        created.append(name)
        return with_database(infra_endpoints.pg_dsn, name)

    yield make
    for name in created:
        await drop_database(infra_endpoints.pg_dsn, name)


@pytest_asyncio.fixture
async def shared_db(make_database: MakeDatabase) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database holding only the shared outbox/inbox tables."""
    pool = await create_pool(await make_database(None), min_size=1, max_size=8)
    yield pool
    await pool.close()


@pytest_asyncio.fixture
async def topic_prefix(infra_endpoints: Infra) -> AsyncIterator[str]:
    """A unique prefix for this test's topics, with the suite's topics created under it (deleted after the test:
    a broker left with every run's partitions took minutes to start, longer than the suite waits for it)."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(infra_endpoints.kafka, all_topics(prefix), TopicPolicy(partitions=3))
    yield prefix
    await delete_topics(infra_endpoints.kafka, lambda topic: topic.startswith(prefix))


async def scrape_metrics(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """/metrics as Prometheus reads it: each sample's value by its name and labels."""
    from prometheus_client.parser import text_string_to_metric_families

    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def free_port() -> int:
    """A port nothing listens on now (loopback), for a server a test starts."""
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """`n` distinct free loopback ports: every socket stays bound until all are chosen, so no two are equal."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], *, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await predicate():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


SERVICES = ("invoicing", "reconciliation", "receipts", "reporting")


async def service_app(
    service: str, make_database: MakeDatabase, infra: Infra, topic_prefix: str, **settings: object
) -> FastAPI:
    """The service's app (not started) on a fresh migrated database of its own (or `database`, one an earlier
    app of the test made: a restart); `settings` override."""
    main = importlib.import_module(f"{service}.main")
    settings_cls = getattr(importlib.import_module(f"{service}.settings"), f"{service.capitalize()}Settings")
    database = settings.pop("database", None) or (await make_database(main.SPEC.migrations)).rsplit("/", 1)[1]
    values: dict[str, object] = {"topic_partitions": 3, "log_level": "WARNING"} | settings
    return main.create_app(  # type: ignore[no-any-return]
        settings_cls(
            database=database,
            pg_dsn=infra.pg_dsn,
            kafka_bootstrap_servers=infra.kafka,
            topic_prefix=topic_prefix,
            **values,
        )
    )


@contextlib.asynccontextmanager
async def running_service(
    service: str, make_database: MakeDatabase, infra: Infra, topic_prefix: str, *, host: str = "", **settings: object
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The service started in-process (relay and consumers included) and an HTTP client on it."""
    app = await service_app(service, make_database, infra, topic_prefix, **settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host or service}") as client:
            yield client, app


@contextlib.asynccontextmanager
async def serving(app: FastAPI, port: int) -> AsyncIterator[str]:
    """The app served over real HTTP on 127.0.0.1:port (relay and consumers running), for a browser."""
    import uvicorn

    class Embedded(uvicorn.Server):
        """A server inside another program (a test, the demo): the program keeps its signals (Ctrl-C)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    server = Embedded(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,
            timeout_graceful_shutdown=3,
        )
    )
    task = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"

    async def up() -> bool:
        try:
            async with httpx.AsyncClient() as c:
                return (await c.get(f"{base}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(up, what=f"the server on {base}")
    try:
        yield base
    finally:
        server.should_exit = True
        await task
