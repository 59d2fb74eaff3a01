"""Receipts that never stall (issue 28 §4): a payment parked for a missing series or key is receipted the moment
the accountant registers the series or imports the certificate, a school with one RSA certificate signs its QR
with it, the parked count and age are on /metrics, and a used-up series in development opens the next one."""

from __future__ import annotations

import pytest

from devinfra.testing import scrape_metrics, wait_until
from shared.events.topics import Topic

from .conftest import SCHOOL, ReceiptsApp, invoice_event, payment_event, publish, school_event
from .test_school_certificates import NOW, Authority, _import, trusting_only

pytestmark = pytest.mark.integration


async def _count(app: ReceiptsApp, sql: str) -> int:
    return int(await app.pool.fetchval(sql))


async def test_a_parked_payment_is_receipted_when_its_series_is_registered_and_one_rsa_key_signs_both(
    make_database, infra_endpoints, topic_prefix, tmp_path
):
    provider = Authority("VNPT-CA test")
    async with trusting_only(provider, make_database, infra_endpoints, topic_prefix, tmp_path) as app:
        client = app.client
        await publish(app.kafka, app.prefix, Topic.INVOICING, [school_event(), invoice_event(0)])
        await publish(app.kafka, app.prefix, Topic.RECONCILIATION, [payment_event(0)])

        async def parked() -> bool:
            # Waiting for the signing key, once its invoice is known: the payment may come first (another topic)
            # and park for its invoice a moment.
            waiting = "SELECT count(*) FROM pending_payments WHERE waiting_for = 'signing key'"
            return await _count(app, waiting) == 1

        await wait_until(parked, what="the payment parked (no key, no series)")
        metrics = await scrape_metrics(client)
        parked_key = ("tuition_receipts_parked", frozenset({("school", SCHOOL), ("waiting_for", "signing key")}))
        assert metrics.get(parked_key) == 1
        assert metrics.get(("tuition_receipts_parked_oldest_seconds", frozenset({("school", SCHOOL)})), -1) >= 0

        # The one certificate the authority issued the school: RSA. It is all the school needs.
        imported = await _import(app, provider.school_p12("xml", "pw"), "pw")
        assert imported.status_code == 201 and imported.json()["released"] == 0, imported.text  # no series yet
        series = await client.post(
            f"/schools/{SCHOOL}/series",
            json={"form_code": "01BLP0-001", "series_code": f"BL{NOW.year % 100}", "year": NOW.year, "range_to": 99},
            headers=app.headers(),
        )
        assert series.status_code == 201 and series.json()["released"] == 1, series.text
        # Receipted in the registration's own request: no further event was needed.
        assert await _count(app, "SELECT count(*) FROM receipts") == 1
        assert await _count(app, "SELECT count(*) FROM pending_payments") == 0
        code, qr, xml_kid, compact_kid = await app.pool.fetchrow(
            "SELECT verification_code, compact, xml_kid, compact_kid FROM receipts"
        )
        assert xml_kid == compact_kid == imported.json()["kid"]
        xml = (await client.get(f"/r/{code}.xml")).content
        for body in (xml, qr):
            verdict = (await client.post("/verify", content=body)).json()
            assert verdict["valid"], verdict
        tampered = qr[:-6] + ("A" if qr[-6] != "A" else "B") + qr[-5:]
        assert not (await client.post("/verify", content=tampered)).json()["valid"]

        async def none_parked() -> bool:  # /metrics samples the database every few seconds
            return not [name for name, _ in await scrape_metrics(client) if name.startswith("tuition_receipts_parked")]

        await wait_until(none_parked, what="no parked payment on /metrics")


async def test_a_used_up_series_in_development_opens_the_next_code_instead_of_recursing(receipts_app):
    app = receipts_app
    await publish(app.kafka, app.prefix, Topic.INVOICING, [school_event(), invoice_event(0), invoice_event(1)])
    await publish(app.kafka, app.prefix, Topic.RECONCILIATION, [payment_event(0)])

    async def receipts(n: int) -> bool:
        return await _count(app, "SELECT count(*) FROM receipts") == n

    await wait_until(lambda: receipts(1), what="the first receipt")
    first = await app.pool.fetchval("SELECT series_code FROM receipt_series")
    await app.pool.execute("UPDATE receipt_series SET range_to = next_number - 1")  # the series is used up
    await publish(app.kafka, app.prefix, Topic.RECONCILIATION, [payment_event(1)])
    await wait_until(lambda: receipts(2), what="the receipt after the series ran out")
    codes = [r["series_code"] for r in await app.pool.fetch("SELECT series_code FROM receipt_series ORDER BY 1")]
    yy = first[-2:]
    assert codes == sorted([first, first[:-2] + "A" + yy]), codes
    assert await _count(app, "SELECT count(*) FROM dead_letters") == 0
