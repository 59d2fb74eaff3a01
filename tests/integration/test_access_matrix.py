"""Every route of every service, called as every caller: nothing opens that the access matrix does not open.

The matrix (tests/access_matrix.py) is docs/access-matrix.md's; a route that is not in it fails here, so a new
route cannot ship without a decision about who may call it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET
from tests.access_matrix import ANYONE, CALLERS, MATRIX, page
from tests.service_apps import service_app

pytestmark = pytest.mark.integration

OWN, OTHER = "S-OWN", "S-OTHER"
DISTRICTS = {OWN: "D-OWN", OTHER: "D-OTHER"}
PARAMS = {
    "school_id": OWN,
    "district": "D-OWN",
    "token": "not-a-real-link",
    "code": "X1",
    "period": "2026-09",
    "kid": "00aa11bb22cc33dd",
    "provider": "sepay",
}


def _headers(caller: str) -> dict[str, str]:
    scope = {
        "anonymous": None,
        "parent": {"role": "parent", "school": OWN},
        "accountant": {"role": "accountant", "school": OWN},
        "accountant*": {"role": "accountant", "school": OTHER},
        "district": {"role": "district", "district": "D-OWN"},
        "district*": {"role": "district", "district": "D-OTHER"},
        "principal": {"role": "principal", "school": OWN},
        "auditor": {"role": "auditor", "district": "D-OWN"},
        "service": {"role": "service"},
    }[caller]
    if scope is None:
        return {}
    return {"Authorization": "Bearer " + mint_token(DEV_JWT_SECRET, subject=f"matrix-{caller}", **scope)}


def _routes(routes: list) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)


def _url(route: APIRoute) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "fmt":
            kinds = {"/api/": "csv", "/exports/": "xlsx", "/pay/": "png"}
            return kinds.get(next((k for k in kinds if k in route.path), ""), "txt")
        return PARAMS.get(name, str(uuid.uuid4()))

    return re.sub(r"\{(\w+)\}", value, route.path)


@pytest.mark.parametrize("service", list(MATRIX))
async def test_no_route_opens_beyond_the_access_matrix(service, make_database, infra_endpoints, topic_prefix):
    app = await service_app(service, make_database, infra_endpoints, topic_prefix, log_level="ERROR")
    matrix = MATRIX[service]
    routes = {f"{m} {r.path}": r for r in _routes(app.routes) for m in r.methods if m != "HEAD"}
    assert set(routes) == set(matrix), "routes and the access matrix differ: decide who may call the new route"

    opened, closed = [], []
    async with app.router.lifespan_context(app):

        async def district_of(school_id: str) -> str | None:
            return DISTRICTS.get(school_id)

        app.state.district_of = district_of
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
            for key, route in routes.items():
                method = key.split(" ", 1)[0]
                allowed = matrix[key]
                for caller in CALLERS:
                    if key == "GET /api/stream" and caller in allowed:
                        continue  # an open stream never ends; its refusals are what this test needs
                    headers = _headers(caller)
                    params = {"school_id": OWN}
                    r = await client.request(method, _url(route), headers=headers, params=params)
                    refused = r.status_code in (401, 403)
                    if caller not in allowed and not refused:
                        opened.append(f"{key} as {caller}: {r.status_code}")
                    if caller in allowed and allowed != ANYONE and refused:
                        closed.append(f"{key} as {caller}: {r.status_code} {r.text[:80]}")
    assert not opened, "open beyond the matrix:\n" + "\n".join(opened)
    assert not closed, "refused although the matrix allows it:\n" + "\n".join(closed)


def test_the_docs_show_the_access_matrix_as_it_is():
    shown = (Path(__file__).resolve().parents[2] / "docs" / "access-matrix.md").read_text(encoding="utf-8")
    assert shown == page(), "docs/access-matrix.md is stale: run python -m tests.access_matrix"
