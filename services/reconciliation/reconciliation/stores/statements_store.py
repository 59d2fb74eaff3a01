"""Uploaded statements, known by their SHA-256: the same file twice is one upload."""

from __future__ import annotations

import uuid

import asyncpg

from shared.db import Executor


async def by_digest(db: Executor, school_id: str, digest: str) -> asyncpg.Record | None:
    return await db.fetchrow("SELECT * FROM statements WHERE school_id = $1 AND sha256 = $2", school_id, digest)


async def record(
    conn: asyncpg.Connection,
    *,
    statement_id: uuid.UUID,
    school_id: str,
    format: str,
    digest: str,
    filename: str,
    credits: int,
    new_credits: int,
    uploaded_by: str,
) -> None:
    await conn.execute(
        "INSERT INTO statements VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        statement_id,
        school_id,
        format,
        digest,
        filename,
        credits,
        new_credits,
        uploaded_by,
    )
