"""Names sealed with a pupil's key (crypto-shredding), and the keys a service holds.

Events are kept forever on their topics, so a name written there in clear could never be erased. Invoicing
gives each pupil a random AES-256 key, announces it on its own compacted topic (PupilKeyIssued, keyed by
student id) and puts names into events only sealed with it (`tuition.common.v1.Sealed`). The services that
need the names (reconciliation's queue, the receipt) keep a copy of the key. Erasing the pupil destroys the
key everywhere (PupilKeyDestroyed): compaction drops the record that carried it, each service deletes its
copy and blanks the names it opened, and every sealed copy, on the topics or in backups, stays sealed.

The associated data binds a sealed value to its event's aggregate (and to the key's id): copied into
another event, it does not open.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.db import Executor
from tuition.common.v1.sealed_pb2 import Names, Sealed
from tuition.invoicing.v1.events_pb2 import InvoiceIssued
from tuition.invoicing.v1.pupil_keys_pb2 import PupilKeyIssued


class SealedNameError(ValueError):
    """A sealed value that does not open with the key it names (altered, or moved to another event)."""


@dataclass(frozen=True)
class PupilKey:
    key_id: uuid.UUID
    student_id: uuid.UUID
    key: bytes


def new_key(student_id: uuid.UUID) -> PupilKey:
    return PupilKey(uuid.UUID(bytes=os.urandom(16), version=4), student_id, os.urandom(32))


def _aad(key_id: str, bound_to: str) -> bytes:
    return f"tuition.names.v1|{key_id}|{bound_to}".encode()


def seal(key: PupilKey, names: Names, *, bound_to: str) -> Sealed:
    """`names` sealed with the pupil's key for the event whose aggregate is `bound_to`."""
    nonce = os.urandom(12)
    key_id = str(key.key_id)
    ciphertext = AESGCM(key.key).encrypt(nonce, names.SerializeToString(), _aad(key_id, bound_to))
    return Sealed(key_id=key_id, nonce=nonce, ciphertext=ciphertext)


def open_sealed(key: bytes, sealed: Sealed, *, bound_to: str) -> Names:
    try:
        plain = AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, _aad(sealed.key_id, bound_to))
    except (InvalidTag, ValueError) as exc:
        raise SealedNameError(f"sealed names of {bound_to} do not open with key {sealed.key_id}") from exc
    return Names.FromString(plain)


def is_sealed(sealed: Sealed) -> bool:
    return bool(sealed.key_id)


# The keys a service holds (table pupil_keys, shared/migrations).


async def keys_of_students(db: Executor, student_ids: list[uuid.UUID]) -> dict[uuid.UUID, PupilKey]:
    rows = await db.fetch(
        "SELECT DISTINCT ON (student_id) key_id, student_id, key FROM pupil_keys WHERE student_id = ANY($1::uuid[]) "
        "ORDER BY student_id, created_at DESC",
        student_ids,
    )
    return {r["student_id"]: PupilKey(r["key_id"], r["student_id"], bytes(r["key"])) for r in rows}


async def keys_by_id(db: Executor, key_ids: list[str]) -> dict[str, bytes]:
    ids = [uuid.UUID(k) for k in key_ids if k]
    if not ids:
        return {}
    rows = await db.fetch("SELECT key_id, key FROM pupil_keys WHERE key_id = ANY($1::uuid[])", ids)
    return {str(r["key_id"]): bytes(r["key"]) for r in rows}


async def add(conn: asyncpg.Connection, school_id: str, keys: list[PupilKey]) -> None:
    """Keys kept (a school's whole roster at its first issuance: one statement)."""
    await conn.execute(
        "INSERT INTO pupil_keys (key_id, student_id, school_id, key) "
        "SELECT k, s, $4, b FROM unnest($1::uuid[], $2::uuid[], $3::bytea[]) AS t (k, s, b) "
        "ON CONFLICT (key_id) DO NOTHING",
        [k.key_id for k in keys],
        [k.student_id for k in keys],
        [k.key for k in keys],
        school_id,
    )


async def remember(conn: asyncpg.Connection, m: PupilKeyIssued) -> PupilKey | None:
    """A key announced by invoicing, kept (once, whatever repeats); None for a key already destroyed."""
    key = PupilKey(uuid.UUID(m.key_id), uuid.UUID(m.student_id), bytes(m.key))
    if await conn.fetchval("SELECT 1 FROM pupil_keys_destroyed WHERE key_id = $1", key.key_id):
        return None
    await add(conn, m.school_id, [key])
    return key


async def forget(conn: asyncpg.Connection, student_id: uuid.UUID, key_ids: Sequence[uuid.UUID] = ()) -> list[uuid.UUID]:
    """Every key of the pupil deleted, and each recorded as destroyed (with `key_ids`, also those this
    service never held); returns the ids deleted here."""
    rows = await conn.fetch("DELETE FROM pupil_keys WHERE student_id = $1 RETURNING key_id", student_id)
    deleted = [r["key_id"] for r in rows]
    await conn.executemany(
        "INSERT INTO pupil_keys_destroyed (key_id, student_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [(k, student_id) for k in dict.fromkeys([*deleted, *key_ids])],
    )
    return deleted


async def open_names(db: Executor, sealed: Sealed, *, bound_to: str) -> Names | None:
    """The names a sealed value holds, when this service holds its key; empty names when the key was
    destroyed (the pupil was erased); None when the key has not arrived yet."""
    key = (await keys_by_id(db, [sealed.key_id])).get(sealed.key_id)
    if key is not None:
        return open_sealed(key, sealed, bound_to=bound_to)
    destroyed = await db.fetch("SELECT 1 FROM pupil_keys_destroyed WHERE key_id = $1", uuid.UUID(sealed.key_id))
    return Names() if destroyed else None


def open_stored(sealed: bytes, key: bytes | None, *, bound_to: str) -> Names:
    """A sealed value kept in a service's book, opened with its key; empty names when the key was destroyed."""
    return open_sealed(key, Sealed.FromString(sealed), bound_to=bound_to) if key is not None else Names()


@dataclass(frozen=True, kw_only=True)
class SealedInvoice:
    """An invoice of a service's book whose names are sealed, and the key that opens them (None: destroyed)."""

    invoice_id: uuid.UUID
    sealed_names: bytes
    key: bytes | None

    def opened(self) -> Names:
        return open_stored(bytes(self.sealed_names), self.key, bound_to=str(self.invoice_id))


async def sealed_openable(
    conn: asyncpg.Connection, student_id: uuid.UUID | None = None, limit: int = 1000
) -> list[SealedInvoice]:
    """Invoices of a service's copy (`invoices(invoice_id, student_id, sealed_names, sealed_key_id)`, of a pupil
    or any) whose sealed names can be opened now: their key here, or destroyed (then they open empty). Locked;
    those another transaction is opening are skipped."""
    found = await conn.fetch(
        "SELECT i.invoice_id, i.sealed_names, k.key FROM invoices i "
        "LEFT JOIN pupil_keys k ON k.key_id = i.sealed_key_id "
        "LEFT JOIN pupil_keys_destroyed d ON d.key_id = i.sealed_key_id "
        "WHERE i.sealed_names IS NOT NULL AND ($1::uuid IS NULL OR i.student_id = $1) "
        "AND (k.key_id IS NOT NULL OR d.key_id IS NOT NULL) LIMIT $2 FOR UPDATE OF i SKIP LOCKED",
        student_id,
        limit,
    )
    return [SealedInvoice(invoice_id=r["invoice_id"], sealed_names=r["sealed_names"], key=r["key"]) for r in found]


def names_of_invoice(m: InvoiceIssued) -> Names | None:
    """The names an InvoiceIssued written before sealing carries in clear; None when they are sealed."""
    if is_sealed(m.sealed_names):
        return None
    return Names(student_name=m.student_name, guardian_name=m.guardian_name)
