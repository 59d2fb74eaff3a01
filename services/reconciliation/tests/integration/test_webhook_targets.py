"""A webhook's school (how its aggregator signs, its account) is kept in memory only while the process hears
of every change to it (app/intake/webhook_secrets.py): a changed secret or account is read again once the change's
notification arrives; nothing is kept while not listening, nor from a read that raced with a change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from reconciliation.app.intake import webhook_secrets as targets_module
from reconciliation.app.intake.webhook_secrets import WebhookSecrets
from reconciliation.main import SPEC
from reconciliation.stores import schools_store, webhooks_store
from shared.db import create_pool
from shared.sealed import Sealer

pytestmark = pytest.mark.asyncio

SEALER = Sealer("test-data-key")


class Db:
    def __init__(self, dsn: str, pool: asyncpg.Pool) -> None:
        self.dsn, self.pool = dsn, pool
        self.reads = 0


@pytest_asyncio.fixture
async def db(make_database: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Db]:
    dsn = await make_database(SPEC.migrations)
    pool = await create_pool(dsn, min_size=1, max_size=4)
    d = Db(dsn, pool)
    real = webhooks_store.target

    async def counted(executor, school_id, provider):  # type: ignore[no-untyped-def]
        d.reads += 1
        return await real(executor, school_id, provider)

    monkeypatch.setattr(webhooks_store, "target", counted)
    await schools_store.upsert(
        pool, school_id="S1", district_code="D", name="Truong", bank_bin="970436", account_number="0011"
    )
    await webhooks_store.put_config(pool, "S1", "sepay", "apikey", SEALER.seal("first-key"))
    yield d
    await pool.close()


async def _following(targets: WebhookSecrets, dsn: str) -> tuple[asyncio.Event, asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(targets.follow(dsn)(stop))
    for _ in range(100):
        if targets._listening:
            return stop, task
        await asyncio.sleep(0.05)
    raise AssertionError("not listening after 5 s")


async def _until(check: Any) -> bool:
    for _ in range(100):
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_what_is_kept_is_read_again_once_another_process_changes_it(db: Db) -> None:
    targets = WebhookSecrets()
    stop, task = await _following(targets, db.dsn)
    try:
        for _ in range(3):
            found = await targets.of(db.pool, SEALER, "S1", "sepay")
            assert (found.scheme, found.secret, found.account_number) == ("apikey", "first-key", "0011")
        assert db.reads == 1  # kept
        # Another process replaces the secret: this one hears it at the commit.
        await webhooks_store.put_config(db.pool, "S1", "sepay", "apikey", SEALER.seal("second-key"))
        assert await _until(lambda: _secret_is(targets, db, "second-key"))
        reads = db.reads
        await targets.of(db.pool, SEALER, "S1", "sepay")
        assert db.reads == reads  # kept again
        # The school's account changes (invoicing's event): read again too.
        await db.pool.execute("UPDATE schools SET account_number = '0022' WHERE school_id = 'S1'")
        assert await _until(lambda: _account_is(targets, db, "0022"))
    finally:
        stop.set()
        await task


async def _secret_is(targets: WebhookSecrets, db: Db, secret: str) -> bool:
    return (await targets.of(db.pool, SEALER, "S1", "sepay")).secret == secret


async def _account_is(targets: WebhookSecrets, db: Db, account: str) -> bool:
    return (await targets.of(db.pool, SEALER, "S1", "sepay")).account_number == account


async def test_nothing_is_kept_while_not_listening_nor_once_the_listening_connection_is_lost(db: Db) -> None:
    targets = WebhookSecrets()
    await targets.of(db.pool, SEALER, "S1", "sepay")
    await targets.of(db.pool, SEALER, "S1", "sepay")
    assert db.reads == 2  # not listening yet: every call reads
    stop, task = await _following(targets, db.dsn)
    await targets.of(db.pool, SEALER, "S1", "sepay")
    await targets.of(db.pool, SEALER, "S1", "sepay")
    assert db.reads == 3
    # The listening connection dies (a restart, a network cut): what was kept may be stale from then on.
    killed = await db.pool.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = 'tuition-listen:webhook_targets'"
    )
    assert killed == 1
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(task, 15)
    assert not targets._listening
    await targets.of(db.pool, SEALER, "S1", "sepay")
    await targets.of(db.pool, SEALER, "S1", "sepay")
    assert db.reads == 5
    stop.set()


async def test_a_read_that_raced_with_a_change_is_used_once_and_not_kept(db: Db, monkeypatch) -> None:
    targets = WebhookSecrets()
    stop, task = await _following(targets, db.dsn)
    try:
        counted = webhooks_store.target

        async def changed_meanwhile(executor, school_id, provider):  # type: ignore[no-untyped-def]
            row = await counted(executor, school_id, provider)
            targets.forget()  # a change's notification arrives while the read is on its way back
            return row

        monkeypatch.setattr(targets_module.webhooks_store, "target", changed_meanwhile)
        assert (await targets.of(db.pool, SEALER, "S1", "sepay")).secret == "first-key"
        monkeypatch.setattr(targets_module.webhooks_store, "target", counted)
        await targets.of(db.pool, SEALER, "S1", "sepay")
        await targets.of(db.pool, SEALER, "S1", "sepay")
        assert db.reads == 2  # read again after the race, kept from then on
    finally:
        stop.set()
        await task


async def test_made_up_schools_and_aggregators_not_configured_are_never_kept(db: Db) -> None:
    targets = WebhookSecrets()
    stop, task = await _following(targets, db.dsn)
    try:
        for school, provider in (("NO-SUCH", "sepay"), ("S1", "casso")) * 2:
            found = await targets.of(db.pool, SEALER, school, provider)
            assert found.scheme is None
        assert db.reads == 4
        assert targets._kept == {}
    finally:
        stop.set()
        await task
