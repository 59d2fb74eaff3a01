"""PostgreSQL plumbing: one database per service, numbered-SQL migrations (yoyo), an asyncpg pool."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
from yoyo import get_backend, read_migrations

from shared.logging import get_logger

log = get_logger(__name__)

# The outbox and inbox tables every service has; applied before the service's own migrations.
SHARED_MIGRATIONS = Path(__file__).parent / "migrations"


def with_database(dsn: str, database: str) -> str:
    """The same server DSN pointed at another database."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(database), parts.query, parts.fragment))


def _yoyo_uri(dsn: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, parts.query, ""))


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def ensure_database(server_dsn: str, database: str, *, template: str | None = None) -> bool:
    """Create `database` if it does not exist. Returns True when it was created."""
    conn = await asyncpg.connect(with_database(server_dsn, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if exists:
            return False
        sql = f"CREATE DATABASE {_quote_ident(database)} ENCODING 'UTF8'"
        if template:
            sql += f" TEMPLATE {_quote_ident(template)}"
        else:
            sql += " TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
        try:
            await conn.execute(sql)
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            # Created meanwhile by another process starting at the same time (a service's workers): PostgreSQL
            # says so with either error, depending on where the two creations met.
            return False
        return True
    finally:
        await conn.close()


async def drop_database(server_dsn: str, database: str) -> None:
    conn = await asyncpg.connect(with_database(server_dsn, "postgres"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(database)} WITH (FORCE)")
    finally:
        await conn.close()


def migration_dirs(service_migrations: Path | None) -> list[Path]:
    dirs = [SHARED_MIGRATIONS]
    if service_migrations is not None:
        dirs.append(service_migrations)
    return dirs


# The session advisory lock that serialises the migrations of one database (every replica and worker
# starting at once). PostgreSQL releases it when the session ends, so a process killed mid-migration leaves
# nothing behind; yoyo's own lock (a row in `yoyo_lock`) would stay and stop every later start.
MIGRATION_LOCK = 0x7475_6974_696F_6E00 >> 1  # "tuition\0", as a positive bigint


def apply_migrations_sync(dsn: str, dirs: Sequence[Path]) -> int:
    """Apply pending migrations in order (shared first, then the service's), one process at a time. Returns
    how many ran (0 for a process that waited while another applied them)."""
    backend = get_backend(_yoyo_uri(dsn))
    migrations = read_migrations(*[str(d) for d in dirs])
    try:
        with backend.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        backend.connection.commit()
        backend._is_locked = True  # yoyo's lock row is never written: the advisory lock is the lock
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
        return len(pending)
    finally:
        backend.connection.close()  # the session ends: the lock with it


async def apply_migrations(dsn: str, dirs: Sequence[Path]) -> int:
    applied = await asyncio.to_thread(apply_migrations_sync, dsn, dirs)
    if applied:
        log.info("db.migrations.applied", count=applied, database=urlsplit(dsn).path.lstrip("/"))
    return applied


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """A pool's connection, returned to the pool without asyncpg's session reset (advisory unlock, CLOSE ALL,
    UNLISTEN, RESET ALL): a round trip and four statements on every release, about a tenth of a webhook's
    cost. Nothing here leaves session state on a pooled connection: locks are transaction-scoped
    (pg_advisory_xact_lock), nothing runs SET or keeps cursors, and the one session lock and listener (the
    outbox relay's leadership) are released by the relay itself, which closes its connection when it cannot.
    An open transaction is still rolled back on release (asyncpg does that before the reset query)."""

    def get_reset_query(self) -> str:
        return ""


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, command_timeout: float | None = None
) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout,
        connection_class=PooledConnection,
        # JIT costs more than it saves on the short queries services run (0.5 s measured on a dashboard query).
        server_settings={"timezone": "UTC", "application_name": "tuition", "jit": "off"},
    )
    assert pool is not None
    return pool


# A pool or a connection: what a read-only store function runs its query on.
Executor = asyncpg.Pool | asyncpg.Connection


def as_columns(rows: Sequence[Sequence[object]], width: int) -> list[list[object]]:
    """Rows as one list per column: the arrays a batch statement takes (`unnest($1::uuid[], $2::text[], ...)`)."""
    if any(len(row) != width for row in rows):
        raise ValueError(f"every row must have {width} values")
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


# How often a listening connection proves it is still there (a connection that died silently hears nothing).
LISTEN_PING_S = 5.0


async def listen(
    dsn: str,
    channel: str,
    *,
    heard: Callable[[], None],
    listening: Callable[[], None],
    deaf: Callable[[], None],
    stop: asyncio.Event,
) -> None:
    """LISTEN on `channel` until `stop`, calling `heard` on every notification. `listening` is called once
    nothing can be missed any more, and `deaf` as soon as something may be: the connection closed, a ping
    unanswered within a second, or leaving. A lost connection raises ConnectionError."""
    # Named, so that an operator (and a test) can tell it from the pool's connections in pg_stat_activity.
    conn = await asyncpg.connect(dsn, server_settings={"application_name": f"tuition-listen:{channel}"})
    closed = asyncio.Event()

    def on_close(_: object) -> None:
        deaf()
        closed.set()

    conn.add_termination_listener(on_close)
    try:
        await conn.add_listener(channel, lambda *_: heard())
        listening()
        while not stop.is_set():
            either = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(closed.wait())]
            await asyncio.wait(either, timeout=LISTEN_PING_S, return_when=asyncio.FIRST_COMPLETED)
            for waiting in either:
                waiting.cancel()
            if stop.is_set():
                break
            try:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=1.0)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise ConnectionError(f"lost the connection listening on {channel}") from exc
    finally:
        deaf()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), timeout=1.0)
