"""Revoked tokens: refused by every service before they expire.

A service-role caller revokes a token's `jti` at any service (`POST /tokens/revoked`, or
`tuition token revoke`); that service records it and, in the same transaction, writes a `TokenRevoked`
event to the outbox. Every service consumes the auth topic into its own `revoked_tokens` table. Each
process keeps the revoked ids in memory and reads the rows added since its last look at most every
`REFRESH_S` seconds, so a revocation takes effect at once where it was made and within a few seconds
(plus Kafka's delivery) everywhere else, without a database read per request.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import asyncpg

from shared.events.envelope import Event
from shared.events.handlers import Handlers
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from tuition.auth.v1.events_pb2 import TokenRevoked

REFRESH_S = 2.0


class RevocationList:
    def __init__(self) -> None:
        self._jtis: set[str] = set()
        self._seen_until = datetime.fromtimestamp(0, UTC)
        self._checked = 0.0
        self._lock = asyncio.Lock()

    def add(self, jti: str) -> None:
        self._jtis.add(jti)

    async def is_revoked(self, pool: asyncpg.Pool, jti: str) -> bool:
        if time.monotonic() - self._checked > REFRESH_S:
            async with self._lock:
                if time.monotonic() - self._checked > REFRESH_S:
                    await self._refresh(pool)
        return jti in self._jtis

    async def _refresh(self, pool: asyncpg.Pool) -> None:
        rows = await pool.fetch(
            "SELECT jti, revoked_at FROM revoked_tokens WHERE revoked_at >= $1 AND expires_at > now()",
            self._seen_until,
        )
        for r in rows:
            self._jtis.add(r["jti"])
            self._seen_until = max(self._seen_until, r["revoked_at"])
        self._checked = time.monotonic()


async def record(conn: asyncpg.Connection, jti: str, expires_at: int, reason: str) -> bool:
    """True when this revocation is new here."""
    inserted = await conn.fetchval(
        "INSERT INTO revoked_tokens (jti, expires_at, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING "
        "RETURNING true",
        jti,
        datetime.fromtimestamp(expires_at, UTC),
        reason,
    )
    return bool(inserted)


async def revoke(
    pool: asyncpg.Pool, outbox: Outbox, *, jti: str, expires_at: int, reason: str, revoked_by: str
) -> bool:
    async with pool.acquire() as conn, conn.transaction():
        new = await record(conn, jti, expires_at, reason)
        if new:
            event = TokenRevoked(jti=jti, expires_at=expires_at, reason=reason, revoked_by=revoked_by)
            await outbox.add(conn, Topic.AUTH, event, aggregate_id=jti)
    return new


def revocation_handlers(revocations: RevocationList) -> Handlers:
    handlers = Handlers()

    @handlers.on(TokenRevoked)
    async def revoked(conn: asyncpg.Connection, m: TokenRevoked, _: Event) -> None:
        await record(conn, m.jti, m.expires_at, m.reason)
        revocations.add(m.jti)

    return handlers
