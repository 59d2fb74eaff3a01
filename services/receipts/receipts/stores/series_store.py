"""Receipt series and their counters: the row lock that makes numbers gapless."""

from __future__ import annotations

import uuid

import asyncpg

from shared.db import Executor


async def open_for_update(conn: asyncpg.Connection, school_id: str, year: int) -> asyncpg.Record | None:
    """The school's open series of the year with numbers left, locked until the commit."""
    return await conn.fetchrow(
        "SELECT * FROM receipt_series WHERE school_id = $1 AND year = $2 AND NOT closed "
        "AND next_number <= range_to ORDER BY registered_at LIMIT 1 FOR UPDATE",
        school_id,
        year,
    )


async def latest_codes(conn: asyncpg.Connection, school_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT form_code, series_code FROM receipt_series WHERE school_id = $1 "
        "ORDER BY year DESC, registered_at DESC LIMIT 1",
        school_id,
    )


async def register(
    db: Executor,
    *,
    series_id: uuid.UUID,
    school_id: str,
    form_code: str,
    series_code: str,
    year: int,
    range_from: int,
    range_to: int,
) -> bool:
    """False when the series is already registered."""
    inserted = await db.fetchval(
        "INSERT INTO receipt_series (series_id, school_id, form_code, series_code, year, range_from, range_to, "
        "next_number) VALUES ($1, $2, $3, $4, $5, $6, $7, $6) ON CONFLICT DO NOTHING RETURNING true",
        series_id,
        school_id,
        form_code,
        series_code,
        year,
        range_from,
        range_to,
    )
    return bool(inserted)


async def take_numbers(conn: asyncpg.Connection, series: asyncpg.Record, count: int) -> int | None:
    """The first of the series' next `count` numbers, all consumed (the row is locked by `open_for_update`);
    None, consuming nothing, when fewer than `count` are left."""
    if series["next_number"] + count - 1 > series["range_to"]:
        return None
    await conn.execute(
        "UPDATE receipt_series SET next_number = next_number + $2 WHERE series_id = $1", series["series_id"], count
    )
    return int(series["next_number"])


async def list_for_school(db: Executor, school_id: str) -> list[asyncpg.Record]:
    return await db.fetch("SELECT * FROM receipt_series WHERE school_id = $1 ORDER BY year, registered_at", school_id)


async def numbers_left(db: Executor) -> list[asyncpg.Record]:
    """Every open series: numbers used and numbers left."""
    return await db.fetch(
        "SELECT school_id, series_code, next_number - range_from AS used, range_to - next_number + 1 AS left_ "
        "FROM receipt_series WHERE NOT closed"
    )
