"""What a stranger's request may cost the receipts service: a bounded body, bounded inflation, a rate."""

from __future__ import annotations

import re
import zlib

import base45
import pytest

from receipts.adapters import compact
from receipts.entrypoints import receipts_api
from receipts.main import SPEC

from .test_receipts import _issue

pytestmark = pytest.mark.integration


async def test_a_verify_body_over_the_limit_is_refused_before_it_is_read(receipts_app):
    # 750 KB of zlib that would inflate to 750 MB: refused by its size, never decompressed.
    bomb = compact.PREFIX + base45.b45encode(zlib.compress(b"\0" * 750_000_000, 9)[:500_000]).decode()
    assert len(bomb) > 700_000

    declared = await receipts_app.client.post("/verify", content=bomb)

    async def chunks():
        for i in range(0, len(bomb), 65536):
            yield bomb[i : i + 65536].encode()

    streamed = await receipts_app.client.post("/verify", content=chunks())  # no Content-Length
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert "lớn hơn" in declared.json()["detail"] and declared.json()["code"] == "too_large"
    # A refusal is a request like any other: it carries its correlation id and is counted.
    assert len(declared.headers["X-Correlation-ID"]) == 32
    metrics = (await receipts_app.client.get("/metrics")).text
    refused = re.findall(r'tuition_http_requests_total\{method="POST",route="[^"]+",status="413"\} ([0-9.]+)', metrics)
    assert sum(float(n) for n in refused) == 2  # refused before routing (declared size) or while reading


async def test_a_small_qr_that_inflates_without_end_is_refused_as_damaged(receipts_app):
    bomb = compact.PREFIX + base45.b45encode(zlib.compress(b"\0" * 2_000_000, 9)).decode()
    assert len(bomb) < compact.MAX_TEXT

    r = await receipts_app.client.post("/verify", content=bomb)

    assert r.status_code == 200
    assert r.json()["valid"] is False and "không giải nén" in r.json()["reason"]


async def test_verification_is_rate_limited_per_client(receipts_app, monkeypatch):
    # The clock stands still: exactly the burst goes through, whatever the machine's speed (with a moving
    # clock, a slow machine refills the bucket as fast as requests arrive, and the test would flake).
    import shared.limits

    monkeypatch.setattr(shared.limits, "_clock", lambda: 1000.0)
    (rule,) = (r for r in SPEC.rate_limits if r.name == "receipt verification")
    answers = [
        (await receipts_app.client.post("/verify", content="BL1:AAAA")).status_code for _ in range(rule.burst + 20)
    ]

    assert answers[: rule.burst] == [200] * rule.burst
    assert answers[rule.burst :] == [429] * 20


async def test_a_receipt_pdf_is_rendered_once_not_on_every_request(receipts_app, monkeypatch):
    (receipt,) = await _issue(receipts_app)
    renders = []
    real = receipts_api.render.pdf
    monkeypatch.setattr(receipts_api.render, "pdf", lambda *a, **kw: renders.append(1) or real(*a, **kw))

    first = await receipts_app.client.get(f"/r/{receipt['verification_code']}.pdf")
    second = await receipts_app.client.get(f"/r/{receipt['verification_code']}.pdf")

    assert first.status_code == second.status_code == 200
    assert first.content == second.content and first.content.startswith(b"%PDF")
    assert len(renders) == 1


async def test_the_receipt_list_bounds_its_page_size(receipts_app):
    r = await receipts_app.client.get(
        "/schools/MN-HOA-PHUONG/receipts", params={"limit": 1_000_000}, headers=receipts_app.headers()
    )
    assert r.status_code == 422


async def test_a_form_upload_without_a_file_field_is_named_not_a_crash(receipts_app):
    # Found by schemathesis: the form was parsed looking for 'file', then the body read again (a 500).
    r = await receipts_app.client.post("/verify", files={"other": ("r.xml", b"<x/>")})
    assert r.status_code == 422 and "«file»" in r.json()["detail"]
