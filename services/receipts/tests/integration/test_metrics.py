"""/metrics of the receipts service: receipts numbered and numbers left in each series, certificate expiry."""

from __future__ import annotations

import pytest

from devinfra.testing import scrape_metrics

from .conftest import SCHOOL
from .test_receipts import _issue

pytestmark = pytest.mark.integration


async def test_metrics_show_series_use_and_certificate_expiry(receipts_app, monkeypatch):
    monkeypatch.setattr("shared.metrics.SAMPLE_EVERY_S", 0.0)
    await _issue(receipts_app, n=3)
    m = await scrape_metrics(receipts_app.client)
    series = await receipts_app.pool.fetchrow("SELECT series_code, range_to FROM receipt_series")
    labels = frozenset({("school", SCHOOL), ("series", series["series_code"])})
    assert m[("tuition_receipts_numbered", labels)] == 3
    assert m[("tuition_receipt_numbers_left", labels)] == series["range_to"] - 3
    for kind in ("xml", "compact"):
        days = m[("tuition_certificate_expiry_seconds", frozenset({("school", SCHOOL), ("kind", kind)}))] / 86400
        assert 700 < days <= 730, (kind, days)
    listed = frozenset({("route", "/schools/{school_id}/receipts"), ("method", "GET"), ("status", "200")})
    assert m[("tuition_http_requests_total", listed)] == 1
