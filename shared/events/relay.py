"""The outbox relay: publishes committed outbox rows to Kafka, in order, and survives restarts.

Delivery is at least once: a crash between Kafka's ack and the UPDATE that marks the rows re-publishes
them on restart with the same event ids, which the consumers' inbox absorbs.

Batching: woken by a commit's notification after a small batch, the relay waits `window_s` (the service's
batch window, shared/batching.py) before publishing, so that the credits committed meanwhile share one
produce and one UPDATE instead of one each.

Ordering: one relay per database is active at a time (a session advisory lock; others wait as hot
standbys), rows go out in `seq` order, and the idempotent producer keeps per-partition order across its
retries. Writers of one aggregate serialise on that aggregate's row, so their `seq` order is commit order.

A broker restart can leave the idempotent producer with sequence numbers the broker no longer accepts
(`OutOfOrderSequenceNumber`, an unknown producer id): errors that are fatal for that producer instance,
so every later send fails the same way. Given `new_producer`, the relay replaces it with a fresh one (a
new producer id) and publishes the rows again; the transaction that would have marked them rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import InvalidProducerIdMapping, OutOfOrderSequenceNumber, ProducerFenced, UnknownProducerId

from shared.batching import BatchWindow
from shared.logging import get_logger

log = get_logger(__name__)

# pg advisory lock key: "outbox relay" (any constant unique to this purpose).
RELAY_LOCK_KEY = 0x7475_6974_6F62  # "tuitob"
PRUNE_AFTER = "7 days"
# Errors after which an idempotent producer instance cannot send again.
FATAL_PRODUCER_ERRORS = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerIdMapping, ProducerFenced)


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        new_producer: Callable[[], AIOKafkaProducer] | None = None,
        batch_size: int = 1000,
        poll_interval: float = 0.5,
        window_s: float = 0.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._new_producer = new_producer
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._window = BatchWindow(window_s)
        self._wake = asyncio.Event()
        self.published = 0

    async def publish_batch(self) -> int:
        """Publish up to one batch of unpublished rows. Returns how many were published."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT seq, event_id, topic, kafka_key, payload, event_type FROM outbox "
                "WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch_size,
            )
            if not rows:
                return 0
            futures = [
                await self._producer.send(
                    r["topic"],
                    value=r["payload"],
                    key=r["kafka_key"],
                    headers=[("event_id", str(r["event_id"]).encode()), ("event_type", r["event_type"].encode())],
                )
                for r in rows
            ]
            # Every record acknowledged by the broker (acks=all) before the rows are marked.
            await asyncio.gather(*futures)
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])", [r["seq"] for r in rows]
            )
        self.published += len(rows)
        log.debug("outbox.batch.published", count=len(rows), last_seq=rows[-1]["seq"])
        return len(rows)

    @property
    def producer(self) -> AIOKafkaProducer:
        return self._producer

    async def _publish_or_renew(self) -> int:
        try:
            return await self.publish_batch()
        except FATAL_PRODUCER_ERRORS as exc:
            if self._new_producer is None:
                raise
            log.warning("outbox.relay.producer_renewed", error=type(exc).__name__)
            old, self._producer = self._producer, self._new_producer()
            with contextlib.suppress(Exception):
                await old.stop()
            await self._producer.start()
            return 0

    async def prune(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                f"DELETE FROM outbox WHERE published_at < now() - interval '{PRUNE_AFTER}'"  # noqa: S608
            )

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set: take leadership, then publish whenever there is something to publish."""
        async with self._pool.acquire() as leader:
            while not stop.is_set():
                if await leader.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY):
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
            if stop.is_set():
                return
            log.info("outbox.relay.leading")
            await leader.add_listener("outbox", self._on_notify)
            batches = 0
            try:
                while not stop.is_set():
                    self._wake.clear()
                    published = await self._publish_or_renew()
                    self._window.took(published)
                    batches += 1
                    if batches % 10_000 == 0:
                        await self.prune()
                    if published == self._batch_size:
                        continue
                    waiter = asyncio.ensure_future(self._wake.wait())
                    stopper = asyncio.ensure_future(stop.wait())
                    await asyncio.wait(
                        {waiter, stopper}, timeout=self._poll_interval, return_when=asyncio.FIRST_COMPLETED
                    )
                    waiter.cancel()
                    stopper.cancel()
                    if self._wake.is_set() and (window := self._window.wait_s()):
                        # Woken by a commit after a small batch: what commits in the window goes with it.
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), timeout=window)
            finally:
                await _step_down(leader, self._on_notify)


async def _step_down(leader: asyncpg.Connection, on_notify: Callable[..., None]) -> None:
    """Give up leadership: stop listening and release the lock, or close the connection (which releases
    both) rather than return it to the pool still holding them (pooled connections are not reset)."""
    try:
        await leader.remove_listener("outbox", on_notify)
        await leader.execute("SELECT pg_advisory_unlock($1)", RELAY_LOCK_KEY)
    except Exception:
        leader.terminate()
    except BaseException:  # cancelled while stepping down
        leader.terminate()
        raise
