"""The bank confirms what the aggregators said (issue 28 §5): once the day's statement has come, a webhook
credit it does not contain is listed, counted, keeps the day from balancing and, past the next statement,
raises an alert; statement credits no webhook announced are listed beside."""

from __future__ import annotations

from datetime import date

import pytest

from devinfra.testing import scrape_metrics, wait_until

from .conftest import ACCOUNT, SCHOOL, mt940, sepay_body

pytestmark = pytest.mark.integration


async def _close(recon, day: str = "2026-09-05") -> dict:
    r = await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": day}, headers=recon.headers())
    assert r.status_code == 200, r.text
    return next(a for a in r.json()["accounts"] if a["account_number"] == ACCOUNT) | {"day": r.json()}


async def test_a_webhook_credit_the_statement_lacks_is_listed_blocks_the_close_and_can_be_taken_back(recon):
    real, forged = await recon.issue([1_250_000, 780_000])
    assert (await recon.sepay(sepay_body(1, 1_250_000, real.reference, ref="FT26248001937"))).status_code == 200
    fake = (await recon.sepay(sepay_body(2, 780_000, forged.reference, ref="FT26248009999"))).json()
    assert fake["state"] == "matched"  # a webhook alone: the money looks paid
    before = await _close(recon)
    assert (before["statement_received"], before["unconfirmed_by_bank"]) == (False, 0)

    day = mt940([(1_250_000, real.reference, "FT26248001937"), (375_000, "TIEN AN THANG 9", "FT26248002211")])
    assert (await recon.statement("day.sta", day)).json()["new_credits"] == 1  # the cash-desk line no webhook had
    close = await _close(recon)
    assert (close["statement_received"], close["unconfirmed_by_bank"], close["unconfirmed_amount"]) == (
        True,
        1,
        780_000,
    )
    assert close["not_announced_by_webhook"] == 1 and not close["balanced"] and not close["day"]["balanced"]
    [account] = (
        await recon.client.get(
            f"/schools/{SCHOOL}/close/confirmations", params={"date": "2026-09-05"}, headers=recon.headers()
        )
    ).json()
    assert [c["credit_id"] for c in account["unconfirmed"]] == [fake["credit_id"]]
    assert [c["amount"] for c in account["unannounced"]] == [375_000] and account["confirmed"] == 1

    # A later day's statement without it: the alert's figure counts it.
    await recon.statement("next.sta", mt940([(100_000, "X", "FT26249000001")], day=date(2026, 9, 6)))

    async def alerted() -> bool:
        figures = await scrape_metrics(recon.client)
        return figures.get(("tuition_credits_unconfirmed_by_bank", frozenset({("school", SCHOOL)}))) == 1

    await wait_until(alerted, what="the unconfirmed credit on /metrics")

    # The accountant takes it back: its payment is reversed, and the day balances.
    withdrawn = await recon.client.post(
        f"/schools/{SCHOOL}/credits/{fake['credit_id']}/actions",
        json={"kind": "withdraw", "reason": "ngân hàng không có giao dịch này"},
        headers=recon.headers(),
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["reason_code"] == "withdrawn_unconfirmed", withdrawn.text
    assert await recon.pool.fetchval("SELECT allocated FROM invoices WHERE invoice_id = $1", forged.invoice_id) == 0
    after = await _close(recon)
    assert after["unconfirmed_by_bank"] == 0 and after["balanced"], after
