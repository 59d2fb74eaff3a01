"""The dashboard's live streams are bounded and live no longer than their token (issue 28 §6), over real HTTP:
a token holds a few streams at most, and a stream ends when its token expires or is revoked."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from devinfra.testing import free_port, service_app, serving, wait_until
from reporting.app.streams import PER_TOKEN
from shared.auth import decode_token, mint_token
from shared.settings import DEV_JWT_SECRET

pytestmark = pytest.mark.integration


async def _until_end(client: httpx.AsyncClient, url: str, token: str, *, within: float) -> list[str]:
    """The stream's event names until the server ends it (or `within` seconds pass)."""
    names: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with asyncio.timeout(within), client.stream("GET", url, headers=headers) as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                names.append(line[7:])
    return names


async def test_streams_end_at_expiry_and_revocation_and_a_token_holds_only_a_few(
    make_database, infra_endpoints, topic_prefix
):
    app = await service_app("reporting", make_database, infra_endpoints, topic_prefix)
    async with serving(app, free_port()) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        short = mint_token(DEV_JWT_SECRET, role="district", district="D1", subject="pgd", ttl_seconds=3)
        started = time.monotonic()
        assert (await _until_end(client, "/api/stream", short, within=15))[-1] == "expired"
        assert time.monotonic() - started < 8

        revoked = mint_token(DEV_JWT_SECRET, role="district", district="D1", subject="pgd-2")
        watching = asyncio.create_task(_until_end(client, "/api/stream", revoked, within=20))
        await asyncio.sleep(1.5)
        claims = decode_token(DEV_JWT_SECRET, revoked)
        service = mint_token(DEV_JWT_SECRET, role="service", subject="ops")
        r = await client.post(
            "/tokens/revoked",
            json={"jti": claims.jti, "expires_at": claims.expires_at, "reason": "máy bị mất"},
            headers={"Authorization": f"Bearer {service}"},
        )
        assert r.status_code == 201, r.text
        assert (await watching)[-1] == "revoked"

        many = mint_token(DEV_JWT_SECRET, role="district", district="D1", subject="pgd-3")
        held = [asyncio.create_task(_until_end(client, "/api/stream", many, within=6)) for _ in range(PER_TOKEN)]
        await asyncio.sleep(1.5)
        refused = await client.get("/api/stream", headers={"Authorization": f"Bearer {many}"})
        assert refused.status_code == 429 and "luồng cập nhật trực tiếp" in refused.json()["detail"]
        for task in held:  # the held ones run until the test's own time bound
            with pytest.raises(TimeoutError):
                await task

        async def all_released() -> bool:  # a stream notices its client left within its next tick
            return app.state.streams.open == 0

        await wait_until(all_released, timeout=10, what="every stream released")
