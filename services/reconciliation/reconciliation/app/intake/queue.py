"""The intake's queue: concurrent credits share one transaction (group commit), whatever their school.

At month start every school's parents pay within minutes of each other. Instead of each request paying
for its own transaction (and for a dozen statements), a request joins the process's queue and one drain
writes what is queued, batch after batch. A batch is taken only once its turn has come: the service's
processes write one batch at a time (`schools_store.take_intake_turn`), so what queued while the drain
waited for its turn goes into the same transaction. Batches are as large as the wait was long: the slower
the writes, the more each one carries (a batch taken before the wait would stay small: two processes'
batches would share a school, and each wait for the other's with what it had).

In its turn a batch locks its schools without waiting: a school being written by something else (a
statement being matched, an accountant's action) stays queued for a later batch while the others go on.
Each request answers once the transaction holding its credit has committed: durable before acknowledged.

At a district's usual pace credits arrive tens of milliseconds apart and would each have a transaction of
their own: the first credit of a quiet moment waits the service's batch window (`window`) for others,
as long as batches stay small (shared/batching.py).

A batch that fails is retried school by school, and a school's part one credit at a time, so one bad credit
fails only its own request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg

from reconciliation.app.intake import take_in
from reconciliation.app.intake.take_in import Outcome
from reconciliation.domain.credits import BankCredit
from reconciliation.stores import schools_store
from shared import tracing
from shared.batching import BatchWindow
from shared.events.outbox import Outbox
from shared.logging import clear_context, get_logger

log = get_logger(__name__)

MAX_BATCH = 500

Waiting = tuple[str, BankCredit, "asyncio.Future[Outcome]"]


@dataclass
class GroupCommit:
    """The process's queue of credits waiting for a transaction (one per service runtime)."""

    pool: asyncpg.Pool
    outbox: Outbox
    # How long the first credit of a quiet moment waits for others to join it.
    window: BatchWindow = field(default_factory=BatchWindow)
    _queue: list[Waiting] = field(default_factory=list)
    _drain: asyncio.Task[None] | None = None
    _writing: list[Waiting] = field(default_factory=list)  # the batch in the transaction now

    async def submit(self, school_id: str, credit: BankCredit) -> Outcome:
        """Ingest one credit with whatever else is waiting; its outcome once committed."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((school_id, credit, future))
        if self._drain is None:
            self._drain = asyncio.create_task(self._drain_all(), name="intake")
        # A client that hangs up does not cancel the transaction its credit is in (nor the others').
        return await asyncio.shield(future)

    async def _drain_all(self) -> None:
        # The task was started inside one request: its correlation id and trace are not the batch's.
        clear_context()
        tracing.leave_trace()
        try:
            if wait := self.window.wait_s():
                await asyncio.sleep(wait)
            while self._queue:
                await self._turn()
        except BaseException as exc:  # stopped (shutdown), or the database is gone: answer everyone waiting
            for _, _, future in self._writing + self._queue:
                _settle(future, exc)
            self._writing, self._queue = [], []
            if not isinstance(exc, Exception):
                raise
            log.error("reconciliation.intake.failed", exc_info=True)
        finally:
            self._drain = None

    async def _turn(self) -> None:
        """Wait for the intake's turn, then write what is queued for the schools it can lock now."""
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await schools_store.take_intake_turn(conn)
                queued = list(dict.fromkeys(s for s, _, _ in self._queue[:MAX_BATCH]))
                schools = await schools_store.try_lock_all(conn, queued)
                if not schools:  # every queued school is busy: wait for the first one
                    await schools_store.lock(conn, queued[0])
                    schools = {queued[0]}
                self._take(schools)
                self.window.took(len(self._writing))
                outcomes = await take_in.take_in(conn, self.outbox, _credits(self._writing))
        except Exception as exc:
            if not self._writing:
                raise
            await self._retry(self._writing, exc)
        else:
            _answer(self._writing, outcomes)
        self._writing = []

    def _take(self, schools: set[str]) -> None:
        """The queued credits of `schools` (up to MAX_BATCH, in arrival order) to write; the others stay."""
        rest: list[Waiting] = []
        for one in self._queue:
            (self._writing if one[0] in schools and len(self._writing) < MAX_BATCH else rest).append(one)
        self._queue = rest

    async def _retry(self, batch: list[Waiting], exc: Exception) -> None:
        """A failed batch again in parts (its schools, then one credit at a time) so that only the credit
        that broke it fails."""
        if len(batch) == 1:
            _settle(batch[0][2], exc)
            return
        by_school: dict[str, list[Waiting]] = {}
        for one in batch:
            by_school.setdefault(one[0], []).append(one)
        log.warning("reconciliation.intake.batch_failed", schools=len(by_school), size=len(batch), exc_info=True)
        for part in list(by_school.values()) if len(by_school) > 1 else [[one] for one in batch]:
            try:
                outcomes = await self._alone(_credits(part))
            except Exception as again:
                await self._retry(part, again)
                continue
            _answer(part, outcomes)

    async def _alone(self, credits: dict[str, list[BankCredit]]) -> dict[str, list[Outcome]]:
        """A part of a failed batch in its own transaction (all or nothing), in the intake's turn."""
        async with self.pool.acquire() as conn, conn.transaction():
            await schools_store.take_intake_turn(conn)
            await schools_store.lock_all(conn, list(credits))
            return await take_in.take_in(conn, self.outbox, credits)


def _credits(batch: list[Waiting]) -> dict[str, list[BankCredit]]:
    credits: dict[str, list[BankCredit]] = {}
    for school_id, credit, _ in batch:
        credits.setdefault(school_id, []).append(credit)
    return credits


def _answer(batch: list[Waiting], outcomes: dict[str, list[Outcome]]) -> None:
    given = {s: iter(o) for s, o in outcomes.items()}
    for school_id, _, future in batch:
        outcome = next(given[school_id])
        if not future.done():
            future.set_result(outcome)


def _settle(future: asyncio.Future[Outcome], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
