"""School signing keys: provisioning (development CA), import (PKCS#12), rotation, the published key list."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import asyncpg
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from receipts.adapters import keys as k
from shared.logging import get_logger

log = get_logger(__name__)

# Decrypting PKCS#12 costs a key derivation; keep opened keys in memory by key id (never logged).
_opened: dict[str, k.KeyMaterial] = {}
CA_ID = "development"


async def ensure_ca(conn: asyncpg.Connection, secret: str) -> k.KeyMaterial:
    row = await conn.fetchrow("SELECT key_p12 FROM certificate_authorities WHERE ca_id = $1", CA_ID)
    if row is not None:
        return _open(f"ca:{CA_ID}", row["key_p12"], secret)
    ca = k.new_ca()
    await conn.execute(
        "INSERT INTO certificate_authorities (ca_id, cert_pem, key_p12) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        CA_ID,
        k.cert_pem(ca.cert),
        k.to_p12(ca, secret),
    )
    row = await conn.fetchrow("SELECT key_p12 FROM certificate_authorities WHERE ca_id = $1", CA_ID)
    return _open(f"ca:{CA_ID}", row["key_p12"], secret)


def _open(kid: str, p12: bytes, secret: str) -> k.KeyMaterial:
    # Keyed by the stored bytes too: the same id in another database (another district) is another key.
    cache_key = f"{kid}:{hashlib.sha256(p12).hexdigest()}"
    if cache_key not in _opened:
        _opened[cache_key] = k.from_p12(p12, secret)
    return _opened[cache_key]


async def _store(conn: asyncpg.Connection, school_id: str, kind: str, material: k.KeyMaterial, secret: str) -> str:
    # Rotation: the previous active key is retired (still published, still verifies old receipts).
    await conn.execute(
        "UPDATE signing_keys SET status = 'retired' WHERE school_id = $1 AND kind = $2 AND status = 'active'",
        school_id,
        kind,
    )
    await conn.execute(
        "INSERT INTO signing_keys (kid, school_id, kind, key_p12, cert_pem, not_before, not_after, status) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, 'active')",
        material.kid,
        school_id,
        kind,
        k.to_p12(material, secret),
        k.cert_pem(material.cert),
        material.cert.not_valid_before_utc,
        material.cert.not_valid_after_utc,
    )
    log.info("receipts.key.activated", school_id=school_id, kind=kind, kid=material.kid)
    return material.kid


async def provision(
    conn: asyncpg.Connection,
    school_id: str,
    school_name: str,
    secret: str,
    *,
    kinds: tuple[str, ...] = ("xml", "compact"),
) -> None:
    """Development: keys issued by the local CA for every kind the school lacks (or all, to rotate)."""
    ca = await ensure_ca(conn, secret)
    for kind in kinds:
        await _store(
            conn,
            school_id,
            kind,
            k.issue_school_key(ca, school_id=school_id, school_name=school_name, kind=kind),
            secret,
        )


async def import_p12(conn: asyncpg.Connection, school_id: str, data: bytes, password: str, secret: str) -> str:
    material = k.from_p12(data, password)
    # An RSA certificate signs the XML (the tax authority's layout); an EC one signs the compact QR.
    kind = "xml" if isinstance(material.key, rsa.RSAPrivateKey) else "compact"
    return await _store(conn, school_id, kind, material, secret)


async def active(conn: asyncpg.Connection, school_id: str, kind: str, secret: str) -> k.KeyMaterial | None:
    row = await conn.fetchrow(
        "SELECT kid, key_p12 FROM signing_keys WHERE school_id = $1 AND kind = $2 "
        "AND status = 'active' AND not_after > now()",
        school_id,
        kind,
    )
    return _open(row["kid"], row["key_p12"], secret) if row else None


async def revoke(conn: asyncpg.Connection, school_id: str, kid: str) -> bool:
    done = await conn.fetchval(
        "UPDATE signing_keys SET status = 'revoked', revoked_at = now() "
        "WHERE school_id = $1 AND kid = $2 AND status <> 'revoked' RETURNING true",
        school_id,
        kid,
    )
    for cached in [c for c in _opened if c.startswith(f"{kid}:")]:
        del _opened[cached]
    return bool(done)


async def published(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, Any]:
    """The public key list: every school key ever used (active, retired, revoked) and the CA certificates."""
    rows = await conn.fetch(
        "SELECT kid, school_id, kind, cert_pem, status, revoked_at FROM signing_keys ORDER BY created_at"
    )
    keys_ = []
    for r in rows:
        cert = x509.load_pem_x509_certificate(r["cert_pem"].encode())
        entry = k.jwk(cert, school_id=r["school_id"], status=r["status"]) | {"kind": r["kind"]}
        if r["revoked_at"] is not None:
            entry["revoked_at"] = int(r["revoked_at"].timestamp())
        keys_.append(entry)
    cas = [r["cert_pem"] for r in await conn.fetch("SELECT cert_pem FROM certificate_authorities")]
    return {"keys": keys_, "trust_anchors": cas, "generated_at": datetime.now(UTC).isoformat(timespec="seconds")}
