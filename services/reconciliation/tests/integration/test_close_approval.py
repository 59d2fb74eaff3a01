"""The principal approves a day's close (issue 29: principals read and approve): only a balanced day, only the
school's own principal; a change to the day afterwards shows that the approval no longer holds."""

from __future__ import annotations

import pytest

from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET

from .conftest import SCHOOL, camt054, sepay_body

pytestmark = pytest.mark.integration
DAY = "2026-09-05"


def _as(role: str, subject: str, **scope: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(DEV_JWT_SECRET, role=role, subject=subject, **scope)}


async def test_the_principal_approves_a_balanced_day_and_sees_when_it_changes_afterwards(recon):
    (a,) = await recon.issue([500_000])
    await recon.sepay(sepay_body(1, 500_000, f"{a.reference}"))
    stranger = (await recon.sepay(sepay_body(2, 123_000, "CHUYEN NHAM"))).json()
    principal = _as("principal", "hieu-truong", school=SCHOOL)
    url = f"/schools/{SCHOOL}/close/approval"

    # Only the school's own principal: not its accountant, not the district, not another school's principal.
    for who in (recon.headers(), _as("district", "pgd", district="HN-CAU-GIAY"), _as("principal", "x", school="OTHER")):
        refused = await recon.client.post(url, headers=who, json={"date": DAY})
        assert refused.status_code == 403, refused.text
    close = (await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": DAY}, headers=principal)).json()
    assert close["balanced"] and close["approval"] is None

    approved = await recon.client.post(url, headers=principal, json={"date": DAY, "note": "Đã kiểm tra sổ quỹ"})
    assert approved.status_code == 200, approved.text
    approval = approved.json()["approval"]
    assert (approval["approved_by"], approval["note"], approval["still_holds"]) == (
        "hieu-truong",
        "Đã kiểm tra sổ quỹ",
        True,
    )
    # The accountant sets the stranger's transfer aside afterwards: the day's figures are not those approved.
    await recon.client.post(
        f"/schools/{SCHOOL}/credits/{stranger['credit_id']}/actions",
        headers=recon.headers(),
        json={"kind": "ignore", "reason": "không phải khoản thu"},
    )
    close = (await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": DAY}, headers=recon.headers())).json()
    assert close["balanced"] and close["approval"]["still_holds"] is False
    again = await recon.client.post(url, headers=principal, json={"date": DAY})
    assert again.json()["approval"]["still_holds"] is True and again.json()["approval"]["note"] == ""
    assert await recon.pool.fetchval("SELECT count(*) FROM close_approvals") == 2  # the history is kept

    # The bank's statement does not contain the webhooks' credits: the day no longer balances, and a day that
    # does not balance is not approved.
    statement = await recon.statement("ntf.xml", camt054([(777_000, "KHOAN KHAC", "MBVCB.777")]))
    assert statement.status_code == 200, statement.text
    unbalanced = (await recon.client.get(f"/schools/{SCHOOL}/close", params={"date": DAY}, headers=principal)).json()
    assert not unbalanced["balanced"] and unbalanced["approval"]["still_holds"] is False
    refused = await recon.client.post(url, headers=principal, json={"date": DAY})
    assert refused.status_code == 409 and "chưa cân" in refused.json()["detail"]
    assert await recon.pool.fetchval("SELECT count(*) FROM close_approvals") == 2
    too_long = await recon.client.post(url, headers=principal, json={"date": DAY, "note": "x" * 301})
    assert too_long.status_code == 422
