"""The exceptions queue a page at a time (issue 28 §6): a school with tens of thousands of open credits costs
one page per request, and the pages, followed by their cursors, give every open credit once."""

from __future__ import annotations

import pytest

from .conftest import SCHOOL, sepay_body

pytestmark = pytest.mark.integration


async def test_the_queue_is_read_a_page_at_a_time_every_credit_once(recon):
    for n in range(7):
        assert (await recon.sepay(sepay_body(n + 1, 100_000 + n, f"KHONG RO {n}"))).status_code == 200
    count = await recon.client.get(f"/schools/{SCHOOL}/exceptions/count", headers=recon.headers())
    assert count.json() == {"open": 7}
    seen, after, pages = [], None, 0
    while True:
        params = {"limit": 3} | ({"after": after} if after else {})
        r = await recon.client.get(f"/schools/{SCHOOL}/exceptions", params=params, headers=recon.headers())
        assert r.status_code == 200, r.text
        seen += [c["credit_id"] for c in r.json()]
        pages += 1
        after = r.headers.get("x-next-cursor")
        if not after:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 7
    too_many = await recon.client.get(f"/schools/{SCHOOL}/exceptions?limit=100000", headers=recon.headers())
    assert too_many.status_code == 422
    broken = await recon.client.get(f"/schools/{SCHOOL}/exceptions?after=not-a-cursor", headers=recon.headers())
    assert broken.status_code == 422 and "vị trí trang" in broken.json()["detail"]
