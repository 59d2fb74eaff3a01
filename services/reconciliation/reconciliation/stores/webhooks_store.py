"""How each school's aggregator signs its webhooks; the secret is stored sealed."""

from __future__ import annotations

import asyncpg

from shared.db import Executor


async def put_config(db: Executor, school_id: str, provider: str, scheme: str, sealed_secret: str) -> None:
    await db.execute(
        "INSERT INTO webhook_configs VALUES ($1, $2, $3, $4) ON CONFLICT (school_id, provider) "
        "DO UPDATE SET scheme = $3, secret = $4",
        school_id,
        provider,
        scheme,
        sealed_secret,
    )


async def configured(db: Executor, school_id: str) -> list[asyncpg.Record]:
    """Which aggregators the school has configured, and how they sign (never the secret)."""
    return await db.fetch(
        "SELECT provider, scheme FROM webhook_configs WHERE school_id = $1 ORDER BY provider", school_id
    )


async def config(db: Executor, school_id: str, provider: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT scheme, secret FROM webhook_configs WHERE school_id = $1 AND provider = $2", school_id, provider
    )
