"""School signing keys: provisioning (development CA), import (PKCS#12), rotation, the published key list."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

import asyncpg
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from receipts.adapters import certificates as k
from receipts.adapters import trust
from receipts.app.verification import Jwk, KeyDocument
from receipts.settings import ReceiptsSettings
from receipts.stores import copies_store, keys_store
from shared.db import Executor
from shared.errors import NotFound
from shared.logging import get_logger

log = get_logger(__name__)

# Decrypting PKCS#12 costs a key derivation; keep opened keys in memory by key id (never logged).
_opened: dict[str, k.KeyMaterial] = {}
CA_ID = "development"


async def ensure_ca(conn: asyncpg.Connection, secret: str) -> k.KeyMaterial:
    p12 = await keys_store.ca_key(conn, CA_ID)
    if p12 is None:
        ca = k.new_ca()
        await keys_store.add_ca(conn, CA_ID, k.cert_pem(ca.cert), k.to_p12(ca, secret))
        p12 = await keys_store.ca_key(conn, CA_ID)  # another instance may have won the race: use its CA
        assert p12 is not None
    return _open(f"ca:{CA_ID}", p12, secret)


def _open(kid: str, p12: bytes, secret: str) -> k.KeyMaterial:
    # Keyed by the stored bytes too: the same id in another database (another district) is another key.
    cache_key = f"{kid}:{hashlib.sha256(p12).hexdigest()}"
    if cache_key not in _opened:
        _opened[cache_key] = k.from_p12(p12, secret)
    return _opened[cache_key]


async def _store(conn: asyncpg.Connection, school_id: str, kind: str, material: k.KeyMaterial, secret: str) -> str:
    # Rotation: the previous active key is retired (still published, still verifies old receipts).
    new = keys_store.NewKey(
        kid=material.kid,
        school_id=school_id,
        kind=kind,
        key_p12=k.to_p12(material, secret),
        cert_pem=k.cert_pem(material.cert),
        chain_pem=k.chain_pem(k.intermediates(material)),
        not_before=material.cert.not_valid_before_utc,
        not_after=material.cert.not_valid_after_utc,
    )
    await keys_store.activate(conn, new)
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


async def anchors(db: Executor, settings: ReceiptsSettings) -> list[x509.Certificate]:
    """The authorities this deployment trusts: the configured bundle, and the local CA while it provisions."""
    trusted = list(trust.load_bundle(settings.trust_bundle)) if settings.trust_bundle else []
    if settings.provisions:
        trusted += [x509.load_pem_x509_certificate(pem.encode()) for pem in await keys_store.ca_certificates(db)]
    return trusted


def _open_trusted(data: bytes, password: str, trusted: list[x509.Certificate]) -> k.KeyMaterial:
    """The PKCS#12's key and certificate, if the certificate chains to a trusted authority and is valid now."""
    material = k.from_p12(data, password)
    problem = trust.problem(material.cert, k.intermediates(material), trusted, datetime.now(UTC))
    if problem is not None:
        raise k.CertificateError(
            "Chứng thư này không ký được biên lai ở đây (không nối tới tổ chức chứng thực được tin cậy, hoặc "
            f"hết hạn): {problem}"
        )
    # Kept with the whole chain up to the root (a CA often delivers its intermediates only): every receipt
    # embeds it, so that a verifier trusting only the root builds the path from the file alone.
    return replace(material, chain=k.chain_to_root(material, tuple(trusted)))


async def active(conn: asyncpg.Connection, school_id: str, kind: str, secret: str) -> k.KeyMaterial | None:
    row = await keys_store.active(conn, school_id, kind)
    return _open(row.kid, row.key_p12, secret) if row else None


async def active_many(
    conn: asyncpg.Connection, school_ids: Sequence[str], secret: str
) -> dict[tuple[str, str], k.KeyMaterial]:
    """The schools' active keys by (school, kind), read with one statement."""
    return {
        (r.school_id, r.kind): _open(r.kid, r.key_p12, secret) for r in await keys_store.active_many(conn, school_ids)
    }


async def revoke(db: Executor, school_id: str, kid: str) -> None:
    if not await keys_store.revoke(db, school_id, kid):
        raise NotFound(f"Trường {school_id} không có khóa {kid} đang dùng hoặc đã thay.")
    for cached in [c for c in _opened if c.startswith(f"{kid}:")]:
        del _opened[cached]


async def certificate(db: Executor, kid: str) -> str:
    pem = await keys_store.certificate(db, kid)
    if pem is None:
        raise NotFound(f"Không có khóa {kid}.")
    return pem


def _name(name: x509.Name) -> str:
    common = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(common[0].value) if common else name.rfc4514_string()


@dataclass(frozen=True, kw_only=True)
class SchoolKey:
    """A school's certificate as its accountant sees it."""

    kid: str
    kind: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    status: str
    revoked_at: datetime | None
    receipts: int


async def of_school(db: Executor, school_id: str) -> list[SchoolKey]:
    """The school's certificates as its accountant sees them: whose, by which authority, valid when, what
    they sign (the XML receipt or the offline QR) and how many receipts each has signed."""
    keys_ = []
    for r in await keys_store.of_school(db, school_id):
        cert = x509.load_pem_x509_certificate(r.cert_pem.encode())
        keys_.append(
            SchoolKey(
                kid=r.kid,
                kind=r.kind,
                subject=_name(cert.subject),
                issuer=_name(cert.issuer),
                not_before=r.not_before,
                not_after=r.not_after,
                status=r.status,
                revoked_at=r.revoked_at,
                receipts=r.receipts,
            )
        )
    return keys_


async def published(db: Executor, settings: ReceiptsSettings) -> KeyDocument:
    """The public key list: every school key ever used (active, retired, revoked), each with its intermediates,
    and the authorities this deployment trusts."""
    keys_: list[Jwk] = []
    for r in await keys_store.every_key(db):
        cert = x509.load_pem_x509_certificate(r.cert_pem.encode())
        chain = tuple(x509.load_pem_x509_certificates(r.chain_pem.encode())) if r.chain_pem else ()
        entry = cast(Jwk, k.jwk(cert, school_id=r.school_id, status=r.status, chain=chain) | {"kind": r.kind})
        if r.revoked_at is not None:
            entry["revoked_at"] = int(r.revoked_at.timestamp())
        keys_.append(entry)
    cas = [k.cert_pem(c) for c in await anchors(db, settings)]
    return {"keys": keys_, "trust_anchors": cas, "generated_at": datetime.now(UTC).isoformat(timespec="seconds")}


async def import_key(pool: asyncpg.Pool, school_id: str, data: bytes, password: str, settings: ReceiptsSettings) -> str:
    # Opening a PKCS#12 derives its key (CPU work on a stranger's file): off the event loop.
    material = await asyncio.to_thread(_open_trusted, data, password, await anchors(pool, settings))
    # An RSA certificate signs the XML (the tax authority's layout); an EC one signs the compact QR.
    kind = "xml" if isinstance(material.key, rsa.RSAPrivateKey) else "compact"
    async with pool.acquire() as conn, conn.transaction():
        return await _store(conn, school_id, kind, material, settings.key_secret.get_secret_value())


async def rotate(pool: asyncpg.Pool, school_id: str, secret: str) -> None:
    """Development: new keys of both kinds from the local CA; the old ones are retired, still published."""
    async with pool.acquire() as conn, conn.transaction():
        school = await copies_store.school(conn, school_id)
        if school is None:  # keys are for a school the suite registered (its name goes in the certificate)
            raise NotFound(f"Không có trường {school_id[:40]!r} trong sổ biên lai.")
        await provision(conn, school_id, school.name or school_id, secret)
