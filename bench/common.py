"""Shared pieces of the benchmarks: machine facts, scratch databases, result records."""

from __future__ import annotations

import io
import os
import platform
import resource
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from shared.db import apply_migrations, create_pool, drop_database, ensure_database, migration_dirs, with_database


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024**3)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem,
        "python": platform.python_version(),
        "system": platform.platform(),
    }


@dataclass
class Measure:
    name: str
    value: float
    unit: str
    limit_name: str
    limit_value: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return round(self.value / self.limit_value, 3) if self.limit_value else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ratio_to_limit": self.ratio}


async def dump_tables(pool: asyncpg.Pool, tables: tuple[str, ...]) -> dict[str, io.BytesIO]:
    """Each table's rows in COPY's binary format, ready to be COPYed back."""
    dumps = {}
    for table in tables:
        dumps[table] = io.BytesIO()
        await pool.copy_from_table(table, output=dumps[table], format="binary")
        dumps[table].seek(0)
    return dumps


@asynccontextmanager
async def scratch_db(server_dsn: str, migrations: Path | None) -> AsyncIterator[asyncpg.Pool]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    await ensure_database(server_dsn, name)
    dsn = with_database(server_dsn, name)
    await apply_migrations(dsn, migration_dirs(migrations))
    pool = await create_pool(dsn, min_size=1, max_size=8)
    try:
        yield pool
    finally:
        await pool.close()
        await drop_database(server_dsn, name)


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.start


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
