"""Receipt series and their counters: the row lock that makes numbers gapless."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from receipts.domain.series import remaining
from shared import rows
from shared.db import Executor


@dataclass(frozen=True, kw_only=True)
class Series:
    """A registered receipt series (ký hiệu mẫu số + ký hiệu biên lai) and its counter."""

    series_id: uuid.UUID
    school_id: str
    form_code: str
    series_code: str
    year: int
    range_from: int
    range_to: int
    next_number: int
    registered_at: datetime
    closed: bool

    @property
    def numbers_left(self) -> int:
        return remaining(self.range_from, self.range_to, self.next_number).left

    @property
    def running_low(self) -> bool:
        return remaining(self.range_from, self.range_to, self.next_number).low


@dataclass(frozen=True, kw_only=True)
class SeriesUse:
    """An open series: numbers used and numbers left."""

    school_id: str
    series_code: str
    used: int
    left_: int


async def open_for_update(conn: asyncpg.Connection, school_id: str, year: int) -> Series | None:
    """The school's open series of the year with numbers left, locked until the commit."""
    found = await conn.fetchrow(
        "SELECT * FROM receipt_series WHERE school_id = $1 AND year = $2 AND NOT closed "
        "AND next_number <= range_to ORDER BY registered_at LIMIT 1 FOR UPDATE",
        school_id,
        year,
    )
    return rows.maybe(Series, found)


async def open_many_for_update(conn: asyncpg.Connection, school_ids: Sequence[str], year: int) -> dict[str, Series]:
    """`open_for_update` of many schools with one statement, locked in the schools' order (as every
    transaction takes them: no two wait on each other), by school; schools with none left out."""
    found = await conn.fetch(
        "SELECT * FROM receipt_series WHERE school_id = ANY($1::text[]) AND year = $2 AND NOT closed "
        "AND next_number <= range_to ORDER BY school_id, registered_at FOR UPDATE",
        school_ids,
        year,
    )
    out: dict[str, Series] = {}
    for series in rows.rows(Series, found):
        out.setdefault(series.school_id, series)
    return out


async def take_numbers_many(conn: asyncpg.Connection, takes: Sequence[tuple[Series, int]]) -> None:
    """Each series' next `count` numbers consumed, with one statement; the caller checked that they are
    left and holds the rows' locks (`open_many_for_update`)."""
    if takes:
        await conn.execute(
            "UPDATE receipt_series s SET next_number = s.next_number + t.n "
            "FROM unnest($1::uuid[], $2::int[]) AS t(id, n) WHERE s.series_id = t.id",
            [series.series_id for series, _ in takes],
            [n for _, n in takes],
        )


async def latest_codes(conn: asyncpg.Connection, school_id: str) -> tuple[str, str] | None:
    """The (form code, series code) of the school's latest series."""
    found = await conn.fetchrow(
        "SELECT form_code, series_code FROM receipt_series WHERE school_id = $1 "
        "ORDER BY year DESC, registered_at DESC LIMIT 1",
        school_id,
    )
    return None if found is None else (found["form_code"], found["series_code"])


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


async def take_numbers(conn: asyncpg.Connection, series: Series, count: int) -> int | None:
    """The first of the series' next `count` numbers, all consumed (the row is locked by `open_for_update`);
    None, consuming nothing, when fewer than `count` are left."""
    if series.next_number + count - 1 > series.range_to:
        return None
    await conn.execute(
        "UPDATE receipt_series SET next_number = next_number + $2 WHERE series_id = $1", series.series_id, count
    )
    return series.next_number


async def list_for_school(db: Executor, school_id: str) -> list[Series]:
    found = await db.fetch("SELECT * FROM receipt_series WHERE school_id = $1 ORDER BY year, registered_at", school_id)
    return rows.rows(Series, found)


async def numbers_left(db: Executor) -> list[SeriesUse]:
    """Every open series: numbers used and numbers left."""
    found = await db.fetch(
        "SELECT school_id, series_code, next_number - range_from AS used, range_to - next_number + 1 AS left_ "
        "FROM receipt_series WHERE NOT closed"
    )
    return rows.rows(SeriesUse, found)
