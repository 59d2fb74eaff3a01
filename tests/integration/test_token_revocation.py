"""A token revoked at one service is refused there at once and by the other services soon after."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from devinfra.testing import wait_until
from invoicing.main import SPEC as INVOICING
from invoicing.main import create_app as invoicing_app
from invoicing.settings import InvoicingSettings
from receipts.main import SPEC as RECEIPTS
from receipts.main import create_app as receipts_app
from receipts.settings import ReceiptsSettings
from shared.auth import decode_token, mint_token
from shared.settings import DEV_JWT_SECRET

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def _client(app):
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
            yield client


async def _invoicing_settings(make_database, infra_endpoints, topic_prefix) -> InvoicingSettings:
    db = (await make_database(INVOICING.migrations)).rsplit("/", 1)[1]
    return InvoicingSettings(
        database=db,
        pg_dsn=infra_endpoints.pg_dsn,
        kafka_bootstrap_servers=infra_endpoints.kafka,
        topic_prefix=topic_prefix,
        log_level="WARNING",
    )


async def test_a_revoked_token_is_refused_everywhere(make_database, infra_endpoints, topic_prefix):
    common = {
        "pg_dsn": infra_endpoints.pg_dsn,
        "kafka_bootstrap_servers": infra_endpoints.kafka,
        "topic_prefix": topic_prefix,
        "topic_partitions": 3,
        "log_level": "WARNING",
    }
    inv_db = (await make_database(INVOICING.migrations)).rsplit("/", 1)[1]
    rec_db = (await make_database(RECEIPTS.migrations)).rsplit("/", 1)[1]
    stolen = mint_token(DEV_JWT_SECRET, role="accountant", school="MN-A", subject="ke-toan")
    service = mint_token(DEV_JWT_SECRET, role="service", subject="ops")
    auth = {"Authorization": f"Bearer {stolen}"}
    async with (
        _client(invoicing_app(InvoicingSettings(database=inv_db, **common))) as invoicing,
        _client(receipts_app(ReceiptsSettings(database=rec_db, **common))) as receipts,
    ):
        assert (await invoicing.get("/schools/MN-A/fee-items", headers=auth)).status_code == 200
        assert (await receipts.get("/schools/MN-A/receipts", headers=auth)).status_code == 200

        claims = decode_token(DEV_JWT_SECRET, stolen)
        r = await invoicing.post(
            "/tokens/revoked",
            json={"jti": claims.jti, "expires_at": claims.expires_at, "reason": "máy tính bị mất"},
            headers={"Authorization": f"Bearer {service}"},
        )
        assert r.status_code == 201, r.text

        refused = await invoicing.get("/schools/MN-A/fee-items", headers=auth)
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]

        async def refused_by_receipts() -> bool:
            return (await receipts.get("/schools/MN-A/receipts", headers=auth)).status_code == 401

        await wait_until(refused_by_receipts, timeout=30, what="receipts refusing the revoked token")
        other = mint_token(DEV_JWT_SECRET, role="accountant", school="MN-A", subject="ke-toan")
        assert (await receipts.get("/schools/MN-A/receipts", headers={"Authorization": f"Bearer {other}"})).is_success


async def test_only_a_service_may_revoke(make_database, infra_endpoints, topic_prefix):
    settings = await _invoicing_settings(make_database, infra_endpoints, topic_prefix)
    accountant = mint_token(DEV_JWT_SECRET, role="accountant", school="MN-A")
    async with _client(invoicing_app(settings)) as client:
        r = await client.post(
            "/tokens/revoked", json={"jti": "x", "expires_at": 1}, headers={"Authorization": f"Bearer {accountant}"}
        )
    assert r.status_code == 403


async def test_a_revocation_with_an_expiry_past_2200_is_refused_not_a_500(make_database, infra_endpoints, topic_prefix):
    # Found by schemathesis: 2**40 seconds is the year 36812, which no datetime can hold.
    settings = await _invoicing_settings(make_database, infra_endpoints, topic_prefix)
    service = mint_token(DEV_JWT_SECRET, role="service")
    async with _client(invoicing_app(settings)) as client:
        r = await client.post(
            "/tokens/revoked", json={"jti": "x", "expires_at": 2**40}, headers={"Authorization": f"Bearer {service}"}
        )
    assert r.status_code == 422
