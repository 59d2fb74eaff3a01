"""A broker that has just started answers before it knows itself: creating topics waits for it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import ClassVar

import pytest
from aiokafka.errors import NodeNotReadyError

from shared.events import kafka


class _Admin:
    """Stands in for the admin client only to replay what a fresh broker answers (no broker in metadata)."""

    calls = 0
    created: ClassVar[list[str]] = []

    def __init__(self, **_: object) -> None:
        pass

    async def start(self) -> None:
        _Admin.calls += 1
        if _Admin.calls < 3:
            raise NodeNotReadyError("Attempt to send a request to node which is not ready (node id None).")

    async def list_topics(self) -> list[str]:
        return []

    async def create_topics(self, topics: list[object]) -> SimpleNamespace:
        _Admin.created += [t.name for t in topics]  # type: ignore[attr-defined]
        return SimpleNamespace(topic_errors=[(t.name, 0, None) for t in topics])  # type: ignore[attr-defined]

    async def close(self) -> None:
        pass


async def test_topics_are_created_once_the_fresh_broker_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka, "AIOKafkaAdminClient", _Admin)
    monkeypatch.setattr(kafka.asyncio, "sleep", _no_wait)
    await kafka.ensure_topics("127.0.0.1:1", ["t.invoicing"], kafka.TopicPolicy(partitions=3), timeout=5)
    assert (_Admin.calls, _Admin.created) == (3, ["t.invoicing"])


async def _no_wait(_: float) -> None:
    return None
