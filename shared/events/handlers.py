"""Event handlers registered by protobuf message class, each receiving its typed payload.

A consumer declares, for every type on its topics, either a handler (`@handlers.on(InvoiceIssued)`) or
that it skips the type on purpose (`handlers.skip(PaymentGroupCreated)`). Registration is by class, so a
misspelt type name cannot exist; a type that is neither handled nor skipped (a newer producer's event,
a forgotten registration) is *unknown*: counted, logged and marked unhandled in the inbox, never dropped
in silence.

A type whose work gains from batching (one query for many events: a receipt series numbered for a whole
batch, one COPY of rows) registers `@handlers.on_many(PaymentMatched)` instead: it receives, in order, each
run of consecutive new events of that type in the consumer's batch, and a list of one when the consumer
retries events alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from google.protobuf.message import Message

from shared.events.envelope import Event

M = TypeVar("M", bound=Message)

# What a registered handler receives: the consumer's transaction, the typed message, and its envelope.
TypedHandler = Callable[[asyncpg.Connection, M, Event], Awaitable[None]]
Apply = Callable[[asyncpg.Connection, Event], Awaitable[None]]
# A handler of runs of events of one type: the consumer's transaction and the typed messages with their envelopes.
ManyHandler = Callable[[asyncpg.Connection, list[tuple[M, Event]]], Awaitable[None]]
ApplyMany = Callable[[asyncpg.Connection, list[Event]], Awaitable[None]]


class Handlers:
    def __init__(self) -> None:
        self._apply: dict[str, Apply] = {}
        self._skipped: set[str] = set()
        self._many: dict[str, ApplyMany] = {}

    def on(self, message: type[M]) -> Callable[[TypedHandler[M]], TypedHandler[M]]:
        def register(handler: TypedHandler[M]) -> TypedHandler[M]:
            self.register(message, handler)
            return handler

        return register

    def register(self, message: type[M], handler: TypedHandler[M]) -> None:
        name = message.DESCRIPTOR.full_name

        async def apply(conn: asyncpg.Connection, event: Event) -> None:
            if not isinstance(event.payload, message):
                raise TypeError(f"{event.event_type} event carries {type(event.payload).__name__}")
            await handler(conn, event.payload, event)

        self._register(name, apply)

    def _register(self, name: str, apply: Apply) -> None:
        if name in self._apply or name in self._skipped:
            raise ValueError(f"{name} is registered twice")
        self._apply[name] = apply

    def on_many(self, message: type[M]) -> Callable[[ManyHandler[M]], ManyHandler[M]]:
        def register(handler: ManyHandler[M]) -> ManyHandler[M]:
            name = message.DESCRIPTOR.full_name

            async def apply_many(conn: asyncpg.Connection, events: list[Event]) -> None:
                for event in events:
                    if not isinstance(event.payload, message):
                        raise TypeError(f"{event.event_type} event carries {type(event.payload).__name__}")
                await handler(conn, [(e.payload, e) for e in events])  # type: ignore[misc]

            async def apply_one(conn: asyncpg.Connection, event: Event) -> None:
                await apply_many(conn, [event])

            self._register(name, apply_one)
            self._many[name] = apply_many
            return handler

        return register

    def skip(self, *messages: type[Message]) -> None:
        """Types on the consumer's topics that it does not need: acknowledged, not counted as unknown."""
        for message in messages:
            name = message.DESCRIPTOR.full_name
            if name in self._apply:
                raise ValueError(f"{name} is both handled and skipped")
            self._skipped.add(name)

    def wrap(self, decorate: Callable[[Apply], Apply], many: Callable[[ApplyMany], ApplyMany] | None = None) -> None:
        """Wrap every handler of single events (e.g. to log each applied event) and, with `many`, every batch
        handler (a batch handler's single events go through `decorate`, as any single event)."""
        self._apply = {name: decorate(apply) for name, apply in self._apply.items()}
        if many is not None:
            self._many = {name: many(apply) for name, apply in self._many.items()}

    def many_for(self, event_type: str) -> ApplyMany | None:
        """The batch handler of the type, if it registered one with `on_many`."""
        return self._many.get(event_type)

    def handler_for(self, event_type: str) -> Apply | None:
        return self._apply.get(event_type)

    def skips(self, event_type: str) -> bool:
        return event_type in self._skipped

    def knows(self, event_type: str) -> bool:
        return event_type in self._apply or event_type in self._skipped

    @property
    def handled(self) -> frozenset[str]:
        return frozenset(self._apply)

    @property
    def skipped(self) -> frozenset[str]:
        return frozenset(self._skipped)

    def __repr__(self) -> str:
        return f"Handlers(handled={sorted(self._apply)}, skipped={sorted(self._skipped)})"
