"""Receipt series: registered before use, opened automatically at the year's turn where provisioning is on."""

from __future__ import annotations

import uuid

import asyncpg

from receipts.domain.series import codes_for_year, validate_registration
from receipts.settings import ReceiptsSettings
from receipts.stores import series_store
from receipts.stores.series_store import Series
from shared.db import Executor
from shared.errors import Conflict
from shared.logging import get_logger

log = get_logger(__name__)


class Waiting(Exception):
    """What a receipt needs has not arrived (the invoice, a key, a series): the payment is parked."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


async def register(
    db: Executor, *, school_id: str, form_code: str, series_code: str, year: int, range_from: int, range_to: int
) -> uuid.UUID:
    validate_registration(form_code, series_code, year, range_from, range_to)
    series_id = uuid.uuid4()
    registered = await series_store.register(
        db,
        series_id=series_id,
        school_id=school_id,
        form_code=form_code,
        series_code=series_code,
        year=year,
        range_from=range_from,
        range_to=range_to,
    )
    if not registered:
        raise Conflict(f"Ký hiệu {form_code} {series_code} đã được đăng ký.")
    return series_id


async def list_series(db: Executor, school_id: str) -> list[Series]:
    """The school's series, each with the numbers left and whether they run low."""
    return await series_store.list_for_school(db, school_id)


async def open_series(conn: asyncpg.Connection, settings: ReceiptsSettings, school_id: str, year: int) -> Series:
    """The series to number from, locked; with provisioning on, a new one when the year has none with numbers
    left (the year's turn, a first series, or the year's series used up)."""
    row = await series_store.open_for_update(conn, school_id, year)
    if row is not None:
        return row
    if not settings.provisions:
        raise Waiting(f"no open receipt series registered for {year}")
    # The previous series' codes with this year's digits, or with a letter more when that one is used up.
    last = await series_store.latest_codes(conn, school_id)
    form = last[0] if last else settings.default_form_code
    start = last[1] if last else f"{settings.default_series_prefix}{year % 100:02d}"
    for code in codes_for_year(start, year):
        if await series_store.register(
            conn,
            series_id=uuid.uuid4(),
            school_id=school_id,
            form_code=form,
            series_code=code,
            year=year,
            range_from=1,
            range_to=settings.default_range,
        ):
            log.info("receipts.series.opened", school_id=school_id, series_code=code, year=year)
            break
    row = await series_store.open_for_update(conn, school_id, year)
    if row is None:
        raise Waiting(f"no receipt series code left to open for {year}")
    return row
