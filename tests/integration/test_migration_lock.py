"""Migrations run one process at a time under a PostgreSQL session advisory lock, on the real server: a process
killed in the middle of a migration leaves no lock behind (the next start applies what is left at once), and
replicas starting together apply each migration once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from shared.db import MIGRATION_LOCK, apply_migrations

pytestmark = pytest.mark.integration

# The second migration is slow only for the process named "slow" (the one the test kills in it).
SLOW = "SELECT pg_sleep(CASE WHEN current_setting('application_name') = 'slow' THEN 60 ELSE 0 END);"


def _migrations(tmp_path: Path) -> Path:
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE first_step (id int PRIMARY KEY);\n")
    (tmp_path / "0002_second.sql").write_text(SLOW + "\nCREATE TABLE second_step (id int PRIMARY KEY);\n")
    (tmp_path / "0003_third.sql").write_text("CREATE TABLE third_step (id int PRIMARY KEY);\n")
    return tmp_path


async def _holder(dsn: str) -> int | None:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(  # type: ignore[no-any-return]
            "SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' "
            "AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = $1 AND a.datname = current_database()",
            MIGRATION_LOCK,
        )
    finally:
        await conn.close()


async def test_a_process_killed_mid_migration_leaves_no_lock_and_the_next_start_goes_on(make_database, tmp_path):
    dsn = await make_database(None)
    dirs = [_migrations(tmp_path)]
    code = f"from shared.db import apply_migrations_sync; apply_migrations_sync({dsn!r}, [{str(dirs[0])!r}])"
    killed = await asyncio.create_subprocess_exec(sys.executable, "-c", code, env=os.environ | {"PGAPPNAME": "slow"})
    try:
        for _ in range(200):  # in the slow migration, holding the lock
            conn = await asyncpg.connect(dsn)
            # The killed process's session, in the slow migration (not this query, whose text says pg_sleep too).
            slow = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'slow' AND state = 'active' "
                "AND query LIKE '%pg_sleep(CASE%' AND pid <> pg_backend_pid()"
            )
            await conn.close()
            if slow and await _holder(dsn):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the first process never reached the slow migration")
        killed.send_signal(signal.SIGKILL)  # a pod killed mid-migration
    finally:
        if killed.returncode is None:
            killed.kill()
        await killed.wait()
    started = time.monotonic()
    applied = await asyncio.wait_for(apply_migrations(dsn, dirs), timeout=30)
    assert time.monotonic() - started < 10  # no lock to wait out
    assert applied == 2  # the first had been applied; the second (cut short) and the third now
    conn = await asyncpg.connect(dsn)
    try:
        tables = {r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE tablename LIKE '%_step'")}
        assert tables == {"first_step", "second_step", "third_step"}
        assert await conn.fetchval("SELECT count(*) FROM yoyo_lock") == 0
    finally:
        await conn.close()
    assert await _holder(dsn) is None


async def test_replicas_starting_together_apply_each_migration_once(make_database, tmp_path):
    dsn = await make_database(None)
    dirs = [_migrations(tmp_path)]
    counts = await asyncio.gather(*(apply_migrations(dsn, dirs) for _ in range(4)))
    assert sorted(counts) == [0, 0, 0, 3]
