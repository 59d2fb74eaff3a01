"""How each school's aggregator signs its webhooks; the secret is stored sealed."""

from __future__ import annotations

from dataclasses import dataclass

from shared import rows
from shared.db import Executor


async def put_config(
    db: Executor,
    school_id: str,
    provider: str,
    scheme: str,
    sealed_secret: str,
    api: tuple[str, str] | None = None,  # (client id, sealed API key): the aggregator's API confirms credits
) -> None:
    await db.execute(
        "INSERT INTO webhook_configs (school_id, provider, scheme, secret, api_client_id, api_key) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (school_id, provider) "
        "DO UPDATE SET scheme = $3, secret = $4, api_client_id = $5, api_key = $6",
        school_id,
        provider,
        scheme,
        sealed_secret,
        api[0] if api else None,
        api[1] if api else None,
    )


@dataclass(frozen=True, kw_only=True)
class Configured:
    provider: str
    scheme: str


@dataclass(frozen=True, kw_only=True)
class Sealed:
    """What a webhook call needs of its school, as stored: how its aggregator signs (scheme and sealed secret;
    None when not configured), the aggregator's API credentials (the key sealed) if given, and the school's
    account (None when the school is not known yet)."""

    scheme: str | None
    secret: str | None
    api_client_id: str | None
    api_key: str | None
    account_number: str | None


async def configured(db: Executor, school_id: str) -> list[Configured]:
    """Which aggregators the school has configured, and how they sign (never the secret)."""
    found = await db.fetch(
        "SELECT provider, scheme FROM webhook_configs WHERE school_id = $1 ORDER BY provider", school_id
    )
    return rows.rows(Configured, found)


async def target(db: Executor, school_id: str, provider: str) -> Sealed:
    """What a webhook call needs, in one query, always one row: how the school's aggregator signs (scheme,
    secret; NULL when not configured), the aggregator's API credentials if given, and the school's account (NULL
    when the school is not known yet)."""
    row = await db.fetchrow(
        "SELECT c.scheme, c.secret, c.api_client_id, c.api_key, s.account_number FROM (SELECT $1::text AS school_id) q "
        "LEFT JOIN webhook_configs c ON c.school_id = q.school_id AND c.provider = $2 "
        "LEFT JOIN schools s ON s.school_id = q.school_id",
        school_id,
        provider,
    )
    assert row is not None  # a LEFT JOIN from one row
    return rows.row(Sealed, row)
