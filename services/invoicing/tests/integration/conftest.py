from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio

from devinfra.testing import running_service
from shared.auth import mint_token
from shared.service import ServiceRuntime
from shared.settings import DEV_JWT_SECRET

SCHOOL = "MN-HOA-PHUONG"
DISTRICT = "HN-CAU-GIAY"


@dataclass
class Invoicing:
    client: httpx.AsyncClient
    runtime: ServiceRuntime
    topic_prefix: str
    kafka: str

    def as_(self, role: str, school: str | None = SCHOOL, district: str | None = None) -> dict[str, str]:
        token = mint_token(
            DEV_JWT_SECRET,
            role=role,
            school=school if role in ("parent", "accountant") else None,
            district=district,
            subject=f"test-{role}",
        )
        return {"Authorization": f"Bearer {token}"}


@pytest_asyncio.fixture
async def invoicing(make_database, infra_endpoints, topic_prefix) -> AsyncIterator[Invoicing]:
    async with running_service("invoicing", make_database, infra_endpoints, topic_prefix) as (client, app):
        yield Invoicing(client, app.state.runtime, topic_prefix, infra_endpoints.kafka)


async def register_school(inv: Invoicing, school: str = SCHOOL, ownership: str = "public") -> None:
    r = await inv.client.put(
        f"/schools/{school}",
        headers=inv.as_("service"),
        json={
            "name": "Trường Mầm non Hoa Phượng",
            "district_code": DISTRICT,
            "ownership": ownership,
            "bank_bin": "970436",
            "account_number": "0011001234567",
            "account_name": "TRUONG MN HOA PHUONG",
        },
    )
    assert r.status_code == 200, r.text


async def import_roster(
    inv: Invoicing,
    data: bytes,
    mode: str = "apply",
    filename: str = "roster.csv",
    school: str = SCHOOL,
    confirm: str | None = None,
) -> httpx.Response:
    return await inv.client.post(
        f"/schools/{school}/roster",
        params={"mode": mode} | ({"confirm": confirm} if confirm else {}),
        headers=inv.as_("accountant"),
        files={"file": (filename, data, "text/csv")},
    )
