"""Schemathesis against each service's own OpenAPI: requests generated from the schema (valid and not),
sent over real HTTP to the service on the real PostgreSQL and Kafka. No answer may be a 5xx.

`make test` sends a fixed, derandomized set (SCHEMATHESIS_EXAMPLES per operation, 12 by default);
`make fuzz` sends many more, randomly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from devinfra.testing import free_port, wait_until
from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET
from tests.service_apps import SERVICES, service_app

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
DERANDOMIZE = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci"
SCHOOL = "MN-FUZZ"
# Operations whose answer is a stream that lives as long as its token: read until the token expires.
STREAMS = {"/api/stream"}


@contextlib.asynccontextmanager
async def _serve(app):
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level=os.environ.get("FUZZ_LOG_LEVEL", "critical").lower(),
            lifespan="on",
        )
    )
    task = asyncio.create_task(server.serve())

    async def up() -> bool:
        try:
            async with httpx.AsyncClient() as c:
                return (await c.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(up, what="the service under fuzzing")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _fuzz(base_url: str) -> tuple[int, list[str]]:
    """Every operation of the schema with generated cases; (requests sent, server errors)."""
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json")
    headers = {"Authorization": "Bearer " + mint_token(DEV_JWT_SECRET, role="service", subject="fuzz")}
    sent, errors = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in STREAMS:
            continue  # an open stream never ends (its bounds and refusals: test_live_streams, the access matrix)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=DERANDOMIZE,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            nonlocal sent
            if "school_id" in (case.path_parameters or {}) and sent % 2 == 0:
                case.path_parameters["school_id"] = SCHOOL  # half the cases reach a school that exists
            response = case.call(base_url=base_url, headers=headers, timeout=30)
            sent += 1
            if response.status_code >= 500:
                errors.append(
                    f"{case.method} {case.formatted_path} {case.query}: {response.status_code} {response.text[:200]}"
                )

        with contextlib.suppress(Unsatisfiable):
            check()
    return sent, errors


@pytest.mark.parametrize("service", SERVICES)
async def test_no_generated_request_gets_a_server_error(service, make_database, infra_endpoints, topic_prefix):
    app = await service_app(
        service, make_database, infra_endpoints, topic_prefix, log_level=os.environ.get("FUZZ_LOG_LEVEL", "CRITICAL")
    )
    async with _serve(app) as base_url:
        if service == "invoicing":
            async with httpx.AsyncClient(base_url=base_url) as c:
                token = mint_token(DEV_JWT_SECRET, role="service")
                r = await c.put(
                    f"/schools/{SCHOOL}",
                    headers={"Authorization": f"Bearer {token}"},
                    json={
                        "name": "Trường Mầm non Thử",
                        "district_code": "D-FUZZ",
                        "bank_bin": "970436",
                        "account_number": "0011001234567",
                        "account_name": "TRUONG MN THU",
                    },
                )
                assert r.status_code == 200, r.text
        sent, errors = await asyncio.to_thread(_fuzz, base_url)
    print(f"schemathesis {service}: {sent} requests, {len(errors)} server errors")
    assert sent > 0
    assert not errors, "\n".join(errors)
