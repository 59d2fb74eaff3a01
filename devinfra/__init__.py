"""The project's own PostgreSQL and Kafka, started without Docker (`tuition infra up|down|status`).

Both listen on 127.0.0.1 only, keep their files under `.cache/infra/` in the work tree, and are
idempotent: `up` on a running server is a no-op. When `PG_DSN` / `KAFKA_BOOTSTRAP_SERVERS` are set,
those servers are used and nothing is started.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from devinfra import kafka, postgres
from shared.settings import InfraSettings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    # The one documented exception to "settings only": where the launcher keeps its files.
    return Path(os.environ.get("TUITION_CACHE_DIR", PROJECT_ROOT / ".cache"))


@dataclass(frozen=True)
class Endpoints:
    pg_dsn: str
    kafka_bootstrap: str
    started_postgres: bool
    started_kafka: bool


def up(settings: InfraSettings | None = None) -> Endpoints:
    settings = settings or InfraSettings()
    started_pg = started_kafka = False
    if settings.uses_local_postgres:
        started_pg = postgres.start(cache_dir() / "infra" / "pg")
    if settings.uses_local_kafka:
        started_kafka = kafka.start(
            cache_dir() / "infra" / "kafka",
            jars_dir=cache_dir() / "kafka-jars",
            pom=PROJECT_ROOT / "deploy" / "kafka" / "pom.xml",
        )
    return Endpoints(settings.effective_pg_dsn, settings.effective_kafka, started_pg, started_kafka)


def down(settings: InfraSettings | None = None) -> None:
    settings = settings or InfraSettings()
    if settings.uses_local_kafka:
        kafka.stop(cache_dir() / "infra" / "kafka")
    if settings.uses_local_postgres:
        postgres.stop(cache_dir() / "infra" / "pg")


def status(settings: InfraSettings | None = None) -> dict[str, str]:
    settings = settings or InfraSettings()
    pg = (
        "external " + settings.effective_pg_dsn
        if not settings.uses_local_postgres
        else ("running" if postgres.is_running(cache_dir() / "infra" / "pg") else "stopped")
    )
    kf = (
        "external " + settings.effective_kafka
        if not settings.uses_local_kafka
        else ("running" if kafka.is_running(cache_dir() / "infra" / "kafka") else "stopped")
    )
    return {"postgresql": pg, "kafka": kf}
