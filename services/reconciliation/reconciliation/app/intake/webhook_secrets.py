"""What a webhook needs of its school (how its aggregator signs, the secret, the school's account), kept in
memory while this process hears of every change to it.

Every webhook needs how the school's aggregator signs (scheme and secret) and the school's account: a query
per request, about a tenth of a webhook's cost at month start. A process keeps what it read only while it
listens on `webhook_targets`: triggers on both tables notify at the commit of every change, whatever made
it (migration 0009). At any notification the process forgets everything it kept. While it is not listening
(starting, or its listening connection lost or silent) it keeps nothing and reads every time. So a replaced
secret stops being accepted at once by the process that took the change, and by every other one as soon as
the change's notification arrives.

A read that raced with a change is used once and not kept: every notification, and every start or loss of
listening, moves a generation on, and only what was read within one generation is kept. Only configured
aggregators of known schools are kept: a stranger's calls for made-up schools add nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg

from reconciliation.adapters.payos_api import Credentials
from reconciliation.stores import webhooks_store
from shared.db import listen
from shared.sealed import Sealer

CHANNEL = "webhook_targets"


@dataclass(frozen=True)
class WebhookTarget:
    scheme: str | None  # None: the school has not configured this aggregator
    secret: str | None  # opened
    account_number: str | None  # None: the school is not known here yet
    api: Credentials | None = None  # the aggregator's API, opened: it confirms each credit before booking


@dataclass
class WebhookSecrets:
    """The process's kept webhook targets (one per service runtime)."""

    _kept: dict[tuple[str, str], WebhookTarget] = field(default_factory=dict)
    _listening: bool = False
    _generation: int = 0

    async def of(self, pool: asyncpg.Pool, sealer: Sealer, school_id: str, provider: str) -> WebhookTarget:
        kept = self._kept.get((school_id, provider))
        if kept is not None:
            return kept
        generation = self._generation
        row = await webhooks_store.target(pool, school_id, provider)
        scheme = row.scheme
        api = Credentials(row.api_client_id or "", sealer.open(row.api_key)) if scheme and row.api_key else None
        found = WebhookTarget(
            scheme, sealer.open(row.secret) if scheme and row.secret else None, row.account_number, api
        )
        if self._listening and generation == self._generation and scheme and found.account_number:
            self._kept[(school_id, provider)] = found
        return found

    def follow(self, dsn: str) -> Callable[[asyncio.Event], Awaitable[None]]:
        """Listen for changes until stopped (run by the service's runtime, restarted when it fails)."""

        async def run(stop: asyncio.Event) -> None:
            await listen(dsn, CHANNEL, heard=self.forget, listening=self._start, deaf=self._stop, stop=stop)

        return run

    def forget(self) -> None:
        """Something changed: read everything again."""
        self._kept = {}
        self._generation += 1

    def _start(self) -> None:
        self.forget()
        self._listening = True

    def _stop(self) -> None:
        self._listening = False
        self.forget()
