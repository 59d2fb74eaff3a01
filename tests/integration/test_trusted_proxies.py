"""Rate limits key on the real client, over real HTTP: behind a trusted proxy (TUITION_TRUSTED_PROXIES), the
address X-Forwarded-For names; from anywhere else, the peer itself, whatever header it sends. The payment page
allows 30 requests at once per client (then 10 a second)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from devinfra.testing import free_port, service_app, serving

pytestmark = pytest.mark.integration
PAGE = "/pay/no-such-token-0000"


async def _statuses(client: httpx.AsyncClient, forwarded: list[str]) -> list[int]:
    answers = await asyncio.gather(*(client.get(PAGE, headers={"X-Forwarded-For": f}) for f in forwarded))
    return [a.status_code for a in answers]


async def _one_bucket(client: httpx.AsyncClient, forwarded: list[str]) -> None:
    """The requests (from a client whose bucket is full) share one bucket: its 30 are served, then no more
    than 10 a second for as long as they took to arrive (a slow machine spreads them), and the rest refused."""
    start = time.monotonic()
    statuses = await _statuses(client, forwarded)
    took = time.monotonic() - start
    served = statuses.count(404)
    assert served + statuses.count(429) == len(statuses), statuses
    assert 30 <= served <= 30 + 10 * took + 1, (served, took)
    assert statuses.count(429) >= 1, (statuses, took)


async def test_parents_behind_a_trusted_proxy_each_have_their_own_limit_and_a_stranger_cannot_pose_as_many(
    make_database, infra_endpoints, topic_prefix
):
    # The proxies: 127.0.0.1 (Caddy on the host) and, before it, a load balancer at 10.0.0.7. A client that
    # connects from 127.0.0.2 is a stranger (Linux answers the whole 127/8 on loopback).
    app = await service_app(
        "invoicing", make_database, infra_endpoints, topic_prefix, trusted_proxies="127.0.0.1/32,10.0.0.0/24"
    )
    stranger = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with (
        serving(app, free_port()) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as proxy,
        httpx.AsyncClient(base_url=base, timeout=30, transport=stranger) as direct,
    ):
        # 120 parents, 2 requests each (240 in all, 8 times one client's burst): nobody is refused.
        parents = [f"113.161.{n // 250}.{n % 250 + 1}" for n in range(120)]
        statuses = await _statuses(proxy, [f"{p}, 10.0.0.7" for p in parents for _ in range(2)])
        assert set(statuses) == {404}, statuses  # the page does not exist; no 429
        # One parent's script past its own limit is refused; the others still get through.
        await _one_bucket(proxy, ["203.162.4.190, 10.0.0.7"] * 80)
        assert set(await _statuses(proxy, [f"{p}, 10.0.0.7" for p in parents[:20]])) == {404}
        # Straight from an untrusted peer, the header is ignored: 80 "clients" share the peer's one bucket.
        await _one_bucket(direct, [f"198.51.100.{n}" for n in range(1, 81)])


@pytest.mark.parametrize("value", ["0.0.0.0/0", "::/0", "proxy.local", "10.0.0.0/33"])
def test_trusting_everyone_or_a_malformed_entry_stops_the_service(value, monkeypatch):
    from pydantic import ValidationError

    from invoicing.settings import InvoicingSettings

    monkeypatch.setenv("TUITION_TRUSTED_PROXIES", f"127.0.0.1,{value}")
    with pytest.raises(ValidationError, match=f"TUITION_TRUSTED_PROXIES: '{value}'"):
        InvoicingSettings()
