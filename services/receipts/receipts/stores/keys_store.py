"""Signing keys (encrypted PKCS#12) and the certificate authorities they chain to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared import rows
from shared.db import Executor


async def ca_key(conn: asyncpg.Connection, ca_id: str) -> bytes | None:
    p12 = await conn.fetchval("SELECT key_p12 FROM certificate_authorities WHERE ca_id = $1", ca_id)
    return None if p12 is None else bytes(p12)


async def add_ca(conn: asyncpg.Connection, ca_id: str, cert_pem: str, key_p12: bytes) -> None:
    await conn.execute(
        "INSERT INTO certificate_authorities (ca_id, cert_pem, key_p12) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        ca_id,
        cert_pem,
        key_p12,
    )


@dataclass(frozen=True, kw_only=True)
class NewKey:
    kid: str
    school_id: str
    kind: str
    key_p12: bytes
    cert_pem: str
    chain_pem: str
    not_before: datetime
    not_after: datetime


async def activate(conn: asyncpg.Connection, k: NewKey) -> None:
    """The new key becomes the active one of its kind; the previous one is retired (still published)."""
    await conn.execute(
        "UPDATE signing_keys SET status = 'retired' WHERE school_id = $1 AND kind = $2 AND status = 'active'",
        k.school_id,
        k.kind,
    )
    await conn.execute(
        "INSERT INTO signing_keys (kid, school_id, kind, key_p12, cert_pem, chain_pem, not_before, not_after, status) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active')",
        k.kid,
        k.school_id,
        k.kind,
        k.key_p12,
        k.cert_pem,
        k.chain_pem,
        k.not_before,
        k.not_after,
    )


@dataclass(frozen=True, kw_only=True)
class Sealed:
    """A signing key as stored: its id and its encrypted PKCS#12."""

    kid: str
    key_p12: bytes


@dataclass(frozen=True, kw_only=True)
class Published:
    """A key as the public key list shows it."""

    kid: str
    school_id: str
    kind: str
    cert_pem: str
    chain_pem: str
    status: str
    revoked_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class OfSchool:
    """A school's key, with how many receipts it signed."""

    kid: str
    kind: str
    cert_pem: str
    not_before: datetime
    not_after: datetime
    status: str
    revoked_at: datetime | None
    created_at: datetime
    receipts: int


@dataclass(frozen=True, kw_only=True)
class Expiry:
    school_id: str
    kind: str
    seconds_left: float


async def active(conn: asyncpg.Connection, school_id: str, kind: str) -> Sealed | None:
    found = await conn.fetchrow(
        "SELECT kid, key_p12 FROM signing_keys WHERE school_id = $1 AND kind = $2 "
        "AND status = 'active' AND not_before <= now() AND not_after > now()",
        school_id,
        kind,
    )
    return rows.maybe(Sealed, found)


@dataclass(frozen=True, kw_only=True)
class SchoolSealed:
    school_id: str
    kind: str
    kid: str
    key_p12: bytes


async def active_many(conn: asyncpg.Connection, school_ids: Sequence[str]) -> list[SchoolSealed]:
    """`active` of both kinds for many schools, with one statement."""
    found = await conn.fetch(
        "SELECT school_id, kind, kid, key_p12 FROM signing_keys WHERE school_id = ANY($1::text[]) "
        "AND status = 'active' AND not_before <= now() AND not_after > now()",
        school_ids,
    )
    return rows.rows(SchoolSealed, found)


async def revoke(db: Executor, school_id: str, kid: str) -> bool:
    done = await db.fetchval(
        "UPDATE signing_keys SET status = 'revoked', revoked_at = now() "
        "WHERE school_id = $1 AND kid = $2 AND status <> 'revoked' RETURNING true",
        school_id,
        kid,
    )
    return bool(done)


async def every_key(db: Executor) -> list[Published]:
    found = await db.fetch(
        "SELECT kid, school_id, kind, cert_pem, chain_pem, status, revoked_at FROM signing_keys ORDER BY created_at"
    )
    return rows.rows(Published, found)


async def of_school(db: Executor, school_id: str) -> list[OfSchool]:
    """The school's keys, newest first, each with how many receipts it signed."""
    found = await db.fetch(
        """SELECT k.kid, k.kind, k.cert_pem, k.not_before, k.not_after, k.status, k.revoked_at, k.created_at,
                  (SELECT count(*) FROM receipts r
                    WHERE r.school_id = k.school_id AND (r.xml_kid = k.kid OR r.compact_kid = k.kid)) AS receipts
             FROM signing_keys k WHERE k.school_id = $1 ORDER BY k.created_at DESC""",
        school_id,
    )
    return rows.rows(OfSchool, found)


async def ca_certificates(db: Executor) -> list[str]:
    return [r["cert_pem"] for r in await db.fetch("SELECT cert_pem FROM certificate_authorities")]


async def certificate(db: Executor, kid: str) -> str | None:
    pem = await db.fetchval("SELECT cert_pem FROM signing_keys WHERE kid = $1", kid)
    return None if pem is None else str(pem)


async def active_expiries(db: Executor) -> list[Expiry]:
    """Each active key: seconds until its certificate expires."""
    found = await db.fetch(
        "SELECT school_id, kind, extract(epoch FROM not_after - now())::float8 AS seconds_left "
        "FROM signing_keys WHERE status = 'active'"
    )
    return rows.rows(Expiry, found)
