"""A payOS credit is confirmed with payOS's own API before it is booked, where the school gives its API
credentials (issue 28 §2): a body that verifies but that payOS does not list books nothing, and when payOS
does not answer the aggregator is asked to retry. Tested against a local stand-in of payOS's documented API."""

from __future__ import annotations

import pytest

from devinfra.payos_standin import PayOSStandIn
from devinfra.testing import free_port, serving

from .conftest import ACCOUNT, PAYOS_KEY, SCHOOL, payos_data, sign_payos, started_recon

pytestmark = pytest.mark.integration


async def test_payos_confirms_a_credit_before_it_is_booked(make_database, infra_endpoints, topic_prefix):
    payos = PayOSStandIn(client_id="client-1", api_key="api-key-123")
    async with (
        serving(payos.app(), free_port()) as payos_url,
        started_recon(make_database, infra_endpoints, topic_prefix, payos_api_url=payos_url) as recon,
    ):
        configured = await recon.client.put(
            f"/schools/{SCHOOL}/webhooks/payos",
            headers=recon.headers(),
            json={"scheme": "checksum", "secret": PAYOS_KEY, "api_client_id": "client-1", "api_key": "api-key-123"},
        )
        assert configured.status_code == 204, configured.text
        [inv] = await recon.issue([780_000])

        async def post(data: dict):
            return await recon.client.post(f"/webhooks/payos/{SCHOOL}", json=sign_payos(data))

        payos.paid("pl-1", order_code=1001, amount=780_000, reference="FT26248001937", account=ACCOUNT)
        booked = await post(payos_data(780_000, inv.reference, "FT26248001937", link="pl-1", order=1001))
        assert (booked.status_code, booked.json()["state"]) == (200, "matched"), booked.text

        # Correctly signed, but payOS knows no such payment: the checksum key leaked, or a replay from elsewhere.
        unknown = await post(payos_data(780_000, inv.reference, "FT26248009999", link="pl-2", order=1002))
        assert unknown.status_code == 422 and "payOS does not confirm" in unknown.json()["detail"], unknown.text
        other = await post(payos_data(780_000, inv.reference, "FT-NOT-LISTED", link="pl-1", order=1001))
        assert other.status_code == 422, other.text

        payos.down = True
        payos.paid("pl-3", order_code=1003, amount=500_000, reference="FT3", account=ACCOUNT)
        later = await post(payos_data(500_000, "NOP TIEN", "FT3", link="pl-3", order=1003))
        assert later.status_code == 503 and "again later" in later.json()["detail"], later.text
        assert await recon.pool.fetchval("SELECT count(*) FROM credits") == 1
        payos.down = False
        assert (await post(payos_data(500_000, "NOP TIEN", "FT3", link="pl-3", order=1003))).status_code == 200
        assert await recon.pool.fetchval("SELECT count(*) FROM credits") == 2

        # Wrong API credentials are payOS refusing: nothing is booked either.
        await recon.client.put(
            f"/schools/{SCHOOL}/webhooks/payos",
            headers=recon.headers(),
            json={"scheme": "checksum", "secret": PAYOS_KEY, "api_client_id": "client-1", "api_key": "not-the-key"},
        )
        payos.paid("pl-4", order_code=1004, amount=100_000, reference="FT4", account=ACCOUNT)
        refused = await post(payos_data(100_000, "NOP TIEN", "FT4", link="pl-4", order=1004))
        assert refused.status_code == 422, refused.text
        stored = await recon.pool.fetchval("SELECT api_key FROM webhook_configs WHERE provider = 'payos'")
        assert stored.startswith("sealed:") and "not-the-key" not in stored
