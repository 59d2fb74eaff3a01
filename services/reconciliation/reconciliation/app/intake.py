"""Concurrent credits share one transaction (group commit for webhooks and cash), whatever their school.

At month start every school's parents pay within minutes of each other. Instead of each request paying
for its own transaction (and for a dozen statements), a request joins the queue; one drain takes everything
queued (up to `MAX_BATCH`) and ingests it in one transaction, with one query per step for all its schools
(ingest.ingest_schools), while the next requests queue behind it (`DRAINS` batches at a time). Each
request answers once the transaction holding its credit has committed: durable before acknowledged.

A batch that fails is retried school by school, and a school's part one credit at a time, so one bad credit
fails only its own request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg

from reconciliation.app.ingest import Outcome, ingest_schools
from reconciliation.domain.credits import BankCredit
from shared.events.outbox import Outbox
from shared.logging import clear_context, get_logger

log = get_logger(__name__)

MAX_BATCH = 500
# Batches in flight at once: while one waits for PostgreSQL the next is read and matched. Two batches with
# a school in common still go one after the other (the school's lock), in the order they took it.
DRAINS = 2

Waiting = tuple[str, BankCredit, "asyncio.Future[Outcome]"]


@dataclass
class Intake:
    pool: asyncpg.Pool
    outbox: Outbox
    _queue: list[Waiting] = field(default_factory=list)
    _drains: set[asyncio.Task[None]] = field(default_factory=set)

    async def submit(self, school_id: str, credit: BankCredit) -> Outcome:
        """Ingest one credit with whatever else is waiting; its outcome once committed."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((school_id, credit, future))
        if len(self._drains) < DRAINS:
            self._drains.add(asyncio.create_task(self._drain_all(), name="intake"))
        # A client that hangs up does not cancel the transaction its credit is in (nor the others').
        return await asyncio.shield(future)

    async def _drain_all(self) -> None:
        # The task was started inside one request: its correlation id is not the batch's (one per credit).
        clear_context()
        batch: list[Waiting] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._ingest(batch)
        except BaseException as exc:  # stopped (shutdown): nobody waits for an answer that will not come
            for _, _, future in batch + self._queue:
                _settle(future, exc)
            self._queue = []
            raise
        finally:
            self._drains.discard(asyncio.current_task())  # type: ignore[arg-type]

    async def _ingest(self, batch: list[Waiting]) -> None:
        by_school: dict[str, list[Waiting]] = {}
        for one in batch:
            by_school.setdefault(one[0], []).append(one)
        try:
            outcomes = await ingest_schools(
                self.pool, self.outbox, {s: [c for _, c, _ in ws] for s, ws in by_school.items()}
            )
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][2], exc)
                return
            log.warning("reconciliation.intake.batch_failed", schools=len(by_school), size=len(batch), exc_info=True)
            parts = list(by_school.values()) if len(by_school) > 1 else [[w] for w in batch]
            for part in parts:
                await self._ingest(part)
            return
        for school_id, part in by_school.items():
            for (_, _, future), outcome in zip(part, outcomes[school_id], strict=True):
                if not future.done():
                    future.set_result(outcome)


def _settle(future: asyncio.Future[Outcome], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


_intakes: dict[int, Intake] = {}


def intake_for(pool: asyncpg.Pool, outbox: Outbox) -> Intake:
    """The process's intake for this database pool."""
    current = _intakes.get(id(pool))
    if current is None or current.pool is not pool or current.outbox != outbox:
        current = _intakes[id(pool)] = Intake(pool, outbox)
    return current
