"""Idempotent Kafka consumer: each event id is applied once per consumer, whatever is redelivered.

For every poll's records (of all the partitions it brought, each partition's in order): one database
transaction records every event id in the inbox with one query (`ON CONFLICT DO NOTHING`) and, for ids not
seen before, runs the handler registered for its message class (shared/events/handlers.py), in order;
consecutive events of a type with a batch handler (`on_many`) go to it together. A type the consumer
neither handles nor skips on purpose is counted in `unknown`, logged, and kept in the inbox with
`handled = false`: visible, never lost in silence. The Kafka offsets are committed only after that
transaction commits, at most once every COMMIT_EVERY_S while records keep coming and at once when they stop
(an offset commit is a request to the broker and a write of its own: at a district's pace, one per batch
cost more than the batch); a crash in between re-delivers what was applied since, and the inbox absorbs it.
A record that
fails on its own after retries goes to `dead_letters` (kept whole,
never dropped) so that one bad record cannot stall a school's payments.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared import tracing
from shared.batching import BatchWindow
from shared.events.envelope import EnvelopeError, Event, unwrap
from shared.events.handlers import Handlers
from shared.events.kafka import Brokers, make_consumer
from shared.logging import bind_correlation_id, clear_context, get_logger

log = get_logger(__name__)

RETRIES = 3
COMMIT_EVERY_S = 1.0  # the offsets applied are committed this often while records keep coming


async def apply_batch(
    conn: asyncpg.Connection,
    consumer: str,
    items: list[tuple[ConsumerRecord[Any, Any], Event]],
    handlers: Handlers,
) -> list[bool]:
    """Record a batch's events in the inbox with one query and apply the new ones, in order, inside the
    caller's transaction (a batch of one when retrying alone). Returns which were new
    (an event id twice in the batch, a re-publication, is new only the first time).

    Types skipped on purpose are acknowledged without an inbox row: there is nothing to apply twice, and at
    month start they are most of a consumer's traffic (CreditReceived beside every PaymentMatched)."""
    recorded = [(r, e) for r, e in items if not handlers.skips(e.event_type)]
    inserted = (
        {
            r["event_id"]
            for r in await conn.fetch(
                "INSERT INTO inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset, handled) "
                "SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::bool[]) "
                "ON CONFLICT DO NOTHING RETURNING event_id",
                consumer,
                [e.event_id for _, e in recorded],
                [e.event_type for _, e in recorded],
                [r.topic for r, _ in recorded],
                [r.partition for r, _ in recorded],
                [r.offset for r, _ in recorded],
                [handlers.knows(e.event_type) for _, e in recorded],
            )
        }
        if recorded
        else set()
    )
    new: list[bool] = []
    run: list[Event] = []
    for _, event in items:
        if handlers.skips(event.event_type):
            new.append(True)
            continue
        fresh = event.event_id in inserted
        inserted.discard(event.event_id)
        new.append(fresh)
        if not fresh or handlers.handler_for(event.event_type) is None:
            continue  # an event nobody here applies (skipped, unknown) does not break a run
        if run and run[0].event_type != event.event_type:
            await _apply_run(conn, run, handlers)
            run = []
        run.append(event)
    if run:
        await _apply_run(conn, run, handlers)
    return new


async def _apply_run(conn: asyncpg.Connection, run: list[Event], handlers: Handlers) -> None:
    """Consecutive new events of one type (events nobody applies in between): together to its batch
    handler, else one by one."""
    many = handlers.many_for(run[0].event_type)
    if many is not None:
        with tracing.batch_span(run[0].event_type, [e.envelope.traceparent for e in run]):
            await many(conn, run)
        return
    apply = handlers.handler_for(run[0].event_type)
    assert apply is not None, "runs hold only handled events"
    for event in run:
        bind_correlation_id(event.envelope.correlation_id or None)
        try:
            with tracing.apply_span(event.event_type, event.envelope.traceparent):
                await apply(conn, event)
        finally:
            clear_context()


class EventConsumer:
    def __init__(
        self,
        *,
        name: str,
        pool: asyncpg.Pool,
        bootstrap: Brokers,
        topics: list[str],
        handlers: Handlers,
        group_id: str | None = None,
        window_s: float = 0.0,
    ) -> None:
        self.name = name
        self._pool = pool
        self._bootstrap = bootstrap
        self._topics = topics
        self._handlers = handlers
        self._group_id = group_id or name
        self._window = BatchWindow(window_s)
        self.applied = 0
        self.duplicates = 0
        self.dead_lettered = 0
        self.unknown: Counter[str] = Counter()  # event types neither handled nor skipped, by type
        # Per assigned partition: events on the broker after the last one applied (the consumer's lag).
        self.lag: dict[TopicPartition, int] = {}
        self.ready = asyncio.Event()

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], event_id: str | None, error: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO dead_letters (consumer, topic, kafka_partition, kafka_offset, event_id, payload, error) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                self.name,
                record.topic,
                record.partition,
                record.offset,
                event_id,
                record.value or b"",
                error,
            )
        self.dead_lettered += 1
        log.error(
            "events.consumer.dead_lettered",
            consumer=self.name,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            event_id=event_id,
            error=error,
        )

    async def _apply_batch(self, records: list[ConsumerRecord[Any, Any]]) -> None:
        parsed: list[tuple[ConsumerRecord[Any, Any], Event]] = []
        for record in records:
            try:
                parsed.append((record, unwrap(record.value or b"")))
            except EnvelopeError as exc:
                await self._dead_letter(record, None, str(exc))
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                outcomes = await apply_batch(conn, self.name, parsed, self._handlers)
            self._count([event for _, event in parsed], outcomes)
            return
        except Exception:
            log.warning("events.consumer.batch_failed", consumer=self.name, size=len(parsed), exc_info=True)
        for record, event in parsed:
            await self._apply_alone(record, event)

    def _count(self, events: list[Event], outcomes: list[bool]) -> None:
        """After the commit: what was applied, what was seen before, what nobody here knows."""
        for event, new in zip(events, outcomes, strict=True):
            if not new:
                self.duplicates += 1
                continue
            self.applied += 1
            if not self._handlers.knows(event.event_type):
                self.unknown[event.event_type] += 1
                log.warning("events.consumer.unknown_type", consumer=self.name, event_type=event.event_type)

    async def _apply_alone(self, record: ConsumerRecord[Any, Any], event: Event) -> None:
        for attempt in range(1, RETRIES + 1):
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    outcomes = await apply_batch(conn, self.name, [(record, event)], self._handlers)
                self._count([event], outcomes)
                return
            except Exception as exc:
                if attempt == RETRIES:
                    await self._dead_letter(record, str(event.event_id), f"{type(exc).__name__}: {exc}")
                    return
                await asyncio.sleep(0.2 * attempt)

    def _forget_revoked(self, assigned: set[TopicPartition]) -> None:
        for tp in [tp for tp in self.lag if tp not in assigned]:
            del self.lag[tp]

    async def _gather(
        self, consumer: AIOKafkaConsumer, most: int = 500
    ) -> dict[TopicPartition, list[ConsumerRecord[Any, Any]]]:
        """The next records, up to `most`: once some have come, what else arrives within the batch window
        joins them (records arriving one by one share a transaction and an offset commit), while batches are
        small (shared/batching.py). An idle consumer waits on the broker's long poll, at no cost."""
        batches = await consumer.getmany(timeout_ms=200, max_records=most)
        got = sum(len(records) for records in batches.values())
        window = self._window.wait_s()
        if got and window:
            # Asked again as records come (a partition's next records are fetched once its last are taken).
            loop = asyncio.get_running_loop()
            deadline = loop.time() + window
            while got < most and (left_ms := int((deadline - loop.time()) * 1000)) > 0:
                for tp, records in (await consumer.getmany(timeout_ms=left_ms, max_records=most - got)).items():
                    batches[tp] = batches.get(tp, []) + records
                    got += len(records)
        if got:
            self._window.took(got)
        return batches

    async def run(self, stop: asyncio.Event) -> None:
        consumer: AIOKafkaConsumer = make_consumer(
            self._bootstrap, *self._topics, group_id=self._group_id, client_id=self.name
        )
        await consumer.start()
        log.info("events.consumer.started", consumer=self.name, topics=self._topics)
        loop = asyncio.get_running_loop()
        applied: dict[TopicPartition, int] = {}  # offsets applied (their transaction committed), not yet committed
        committed_at = loop.time()
        try:
            while not stop.is_set():
                batches = await self._gather(consumer)
                if consumer.assignment():
                    self.ready.set()
                if batches:
                    # Every partition's records of the poll in one transaction (each partition's in its order).
                    await self._apply_batch([r for records in batches.values() for r in records])
                    applied.update(
                        {TopicPartition(tp.topic, tp.partition): rs[-1].offset + 1 for tp, rs in batches.items()}
                    )
                if applied and (not batches or loop.time() - committed_at >= COMMIT_EVERY_S):
                    # After the database commit: a crash before this line re-delivers, the inbox absorbs it.
                    await self._commit(consumer, applied)
                    applied, committed_at = {}, loop.time()
                for tp, records in batches.items():
                    end = consumer.last_stable_offset(tp)
                    self.lag[tp] = max(0, end - (records[-1].offset + 1)) if end is not None else 0
                self._forget_revoked(consumer.assignment())
        finally:
            with contextlib.suppress(Exception):
                if applied:
                    await self._commit(consumer, applied)
            with contextlib.suppress(Exception):
                await consumer.stop()

    @staticmethod
    async def _commit(consumer: AIOKafkaConsumer, applied: dict[TopicPartition, int]) -> None:
        """The offsets applied of the partitions still ours (a revoked one's new owner starts from its last
        commit: what it gets again the inbox absorbs)."""
        ours = consumer.assignment()
        offsets = {tp: offset for tp, offset in applied.items() if tp in ours}
        if offsets:
            await consumer.commit(offsets)
