"""Concurrent credits of one school share one transaction (group commit for webhooks and cash).

At month start a school's parents pay within minutes of each other, and every write of a school is
serialised by its lock (ingest.py). Instead of each request waiting for the lock and then paying for its
own transaction, a request joins its school's queue; one drain per school takes everything queued (up to
`MAX_BATCH`) and ingests it in one transaction, while the next requests queue behind it. Each request
answers once the transaction holding its credit has committed: durable before acknowledged, as before.

A batch that fails is retried one credit at a time, so one bad credit fails only its own request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg

from reconciliation.app.ingest import Outcome, ingest
from reconciliation.domain.credits import BankCredit
from shared.events.outbox import Outbox
from shared.logging import clear_context, get_logger

log = get_logger(__name__)

MAX_BATCH = 500


@dataclass
class Intake:
    pool: asyncpg.Pool
    outbox: Outbox
    _queues: dict[str, list[tuple[BankCredit, asyncio.Future[Outcome]]]] = field(default_factory=dict)
    _drains: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    async def submit(self, school_id: str, credit: BankCredit) -> Outcome:
        """Ingest one credit with whatever else of the school is waiting; its outcome once committed."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(school_id, []).append((credit, future))
        if school_id not in self._drains:
            self._drains[school_id] = asyncio.create_task(self._drain(school_id), name=f"intake:{school_id}")
        # A client that hangs up does not cancel the transaction its credit is in (nor the others').
        return await asyncio.shield(future)

    async def _drain(self, school_id: str) -> None:
        # The task was started inside one request: its correlation id is not the batch's (one per credit).
        clear_context()
        batch: list[tuple[BankCredit, asyncio.Future[Outcome]]] = []
        try:
            while queue := self._queues.get(school_id):
                batch, self._queues[school_id] = queue[:MAX_BATCH], queue[MAX_BATCH:]
                await self._ingest(school_id, batch)
        except BaseException as exc:  # stopped (shutdown): nobody waits for an answer that will not come
            for _, future in batch + self._queues.get(school_id, []):
                _settle(future, exc)
            raise
        finally:
            self._queues.pop(school_id, None)
            del self._drains[school_id]

    async def _ingest(self, school_id: str, batch: list[tuple[BankCredit, asyncio.Future[Outcome]]]) -> None:
        try:
            outcomes = await ingest(self.pool, self.outbox, school_id, [c for c, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            log.warning("reconciliation.intake.batch_failed", school_id=school_id, size=len(batch), exc_info=True)
            for one in batch:
                await self._ingest(school_id, [one])
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
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
