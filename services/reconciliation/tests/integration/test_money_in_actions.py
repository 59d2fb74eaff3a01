"""No accountant action can create or lose money (issue 28 §3), through HTTP on the real database: amounts per
invoice bounded by what it owes, the same request at once done once, an undo refused when the money has gone
elsewhere, and for any sequence of actions and undos the books add up."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import SCHOOL, camt054, sepay_body

pytestmark = pytest.mark.integration

_ids = iter(range(10_000, 10_000_000))


async def _credit(recon, amount: int, memo: str = "NOP TIEN CHO CON") -> str:
    r = await recon.sepay(sepay_body(next(_ids), amount, memo))
    assert r.status_code == 200, r.text
    return r.json()["credit_id"]


async def _act(recon, credit_id: str, **body):
    return await recon.client.post(f"/schools/{SCHOOL}/credits/{credit_id}/actions", json=body, headers=recon.headers())


async def test_match_without_an_amount_pays_what_the_invoice_owes_and_leaves_the_rest_on_the_credit(recon):
    a, b = await recon.issue([780_000, 780_000])
    credit = await _credit(recon, 1_460_000, f"HOC PHI {a.student_code} {b.student_code}")
    r = await _act(recon, credit, kind="match", allocations=[{"invoice_id": str(a.invoice_id)}])
    assert r.status_code == 200, r.text
    assert (r.json()["handled"], r.json()["allocated"]) == (780_000, 780_000)
    assert await recon.pool.fetchval("SELECT allocated FROM invoices WHERE invoice_id = $1", a.invoice_id) == 780_000
    too_much = await _act(
        recon, credit, kind="match", allocations=[{"invoice_id": str(b.invoice_id), "amount": 780_001}]
    )
    assert too_much.status_code == 422 and "còn phải nộp 780000" in too_much.json()["detail"]
    paid = await _act(recon, credit, kind="match", allocations=[{"invoice_id": str(a.invoice_id), "amount": 1}])
    assert paid.status_code == 422 and "không còn phải nộp" in paid.json()["detail"]
    rest = await _act(recon, credit, kind="match", allocations=[{"invoice_id": str(b.invoice_id)}])
    assert (rest.json()["handled"], rest.json()["allocated"]) == (680_000, 1_460_000)


async def test_ten_identical_requests_at_once_have_the_effect_of_one(recon):
    [inv] = await recon.issue([900_000])
    refund_credit, match_credit = await _credit(recon, 300_000), await _credit(recon, 200_000)
    refunds = await asyncio.gather(
        *[_act(recon, refund_credit, kind="refund", amount=100_000, bank_reference="FT-HOAN-1") for _ in range(10)]
    )
    assert {r.status_code for r in refunds} == {200}
    assert len({r.json()["action_id"] for r in refunds}) == 1
    assert sum(not r.json()["replayed"] for r in refunds) == 1
    assert await recon.pool.fetchval("SELECT refunded FROM credits WHERE credit_id = $1", uuid.UUID(refund_credit)) == (
        100_000
    )
    body = {"kind": "match", "allocations": [{"invoice_id": str(inv.invoice_id)}], "idempotency_key": "click-1"}
    matches = await asyncio.gather(*[_act(recon, match_credit, **body) for _ in range(10)])
    assert len({m.json()["action_id"] for m in matches}) == 1
    assert await recon.pool.fetchval("SELECT allocated FROM invoices WHERE invoice_id = $1", inv.invoice_id) == 200_000
    action_id = matches[0].json()["action_id"]
    undos = await asyncio.gather(
        *[recon.client.post(f"/schools/{SCHOOL}/actions/{action_id}/undo", headers=recon.headers()) for _ in range(10)]
    )
    assert {u.status_code for u in undos} == {200} and len({u.json()["action_id"] for u in undos}) == 1
    assert await recon.pool.fetchval("SELECT allocated FROM invoices WHERE invoice_id = $1", inv.invoice_id) == 0
    cash = {"invoice_id": str(inv.invoice_id), "amount": 50_000, "payer_name": "Mẹ"}
    desks = await asyncio.gather(
        *[recon.client.post(f"/schools/{SCHOOL}/cash", json=cash, headers=recon.headers()) for _ in range(10)]
    )
    assert {d.status_code for d in desks} == {201} and len({d.json()["credit_id"] for d in desks}) == 1
    assert await recon.pool.fetchval("SELECT count(*) FROM credits WHERE channel = 'CASH'") == 1


async def test_an_undo_whose_money_went_elsewhere_is_refused_and_changes_nothing(recon):
    x, y = await recon.issue([500_000, 500_000])
    credit = await _credit(recon, 500_000)
    assert (await _act(recon, credit, kind="match", allocations=[{"invoice_id": str(x.invoice_id)}])).status_code == 200
    unmatch = await _act(recon, credit, kind="unmatch", reason="nhầm học sinh")
    assert (await _act(recon, credit, kind="match", allocations=[{"invoice_id": str(y.invoice_id)}])).status_code == 200
    before = dict(await recon.pool.fetchrow("SELECT allocated, state FROM credits"))
    r = await recon.client.post(
        f"/schools/{SCHOOL}/actions/{unmatch.json()['action_id']}/undo", headers=recon.headers()
    )
    assert r.status_code == 409 and "chỉ còn 0 đồng chưa dùng" in r.json()["detail"], r.text
    assert dict(await recon.pool.fetchrow("SELECT allocated, state FROM credits")) == before
    owed = {row["invoice_id"]: row["allocated"] for row in await recon.pool.fetch("SELECT * FROM invoices")}
    assert (owed[x.invoice_id], owed[y.invoice_id]) == (0, 500_000)


async def test_one_statement_uploaded_twice_at_once_is_recorded_once(recon):
    [inv] = await recon.issue([700_000])
    data = camt054([(700_000, inv.reference, "FT77")])
    answers = await asyncio.gather(*[recon.statement(f"sao-ke-{i}.xml", data) for i in range(4)])
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["statement_id"] for a in answers}) == 1
    assert await recon.pool.fetchval("SELECT count(*) FROM statements") == 1


# --- Any sequence of actions and undos ---------------------------------------------------------------------

_step = st.one_of(
    st.tuples(st.just("match"), st.integers(0, 3), st.integers(0, 3), st.sampled_from([None, 50_000, 400_000])),
    st.tuples(st.just("split"), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.just("refund"), st.integers(0, 3), st.sampled_from([None, 70_000])),
    st.tuples(st.just("ignore"), st.integers(0, 3)),
    st.tuples(st.just("keep"), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.just("unmatch"), st.integers(0, 3)),
    st.tuples(st.just("undo"), st.integers(0, 30)),
)


async def _books_add_up(recon) -> None:
    credits = await recon.pool.fetch(
        "SELECT c.*, coalesce((SELECT sum(a.amount) FROM allocations a WHERE a.credit_id = c.credit_id "
        "AND a.reversed_at IS NULL), 0) AS in_force FROM credits c"
    )
    for c in credits:
        free = c["amount"] - c["allocated"] - c["refunded"] - c["ignored"]
        assert c["in_force"] == c["allocated"], dict(c)
        assert free >= 0 and min(c["allocated"], c["refunded"], c["ignored"]) >= 0, dict(c)
    invoices = await recon.pool.fetch(
        "SELECT i.invoice_id, i.total, i.allocated, coalesce((SELECT sum(a.amount) FROM allocations a "
        "WHERE a.invoice_id = i.invoice_id AND a.reversed_at IS NULL), 0) AS in_force FROM invoices i"
    )
    for i in invoices:
        assert i["allocated"] == i["in_force"] <= i["total"], dict(i)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(program=st.lists(_step, min_size=3, max_size=10))
async def test_any_sequence_of_actions_and_undos_keeps_every_credit_and_invoice_whole(recon, program):
    if not recon.invoices:
        await recon.issue([300_000, 450_000, 600_000, 1_000_000])
    invoices = [str(i.invoice_id) for i in recon.invoices[-4:]]
    credits = [await _credit(recon, amount) for amount in (300_000, 450_000, 520_000, 1_050_000)]
    done: list[str] = []
    for step in program:
        kind = step[0]
        if kind == "undo":
            if not done:
                continue
            r = await recon.client.post(
                f"/schools/{SCHOOL}/actions/{done[step[1] % len(done)]}/undo", headers=recon.headers()
            )
        else:
            credit = credits[step[1]]
            body: dict = {"kind": kind}
            if kind == "match":
                body["allocations"] = [{"invoice_id": invoices[step[2]], "amount": step[3]}]
            elif kind == "split":
                body["allocations"] = [{"invoice_id": invoices[j]} for j in dict.fromkeys(step[2:])]
            elif kind == "refund":
                body |= {"amount": step[2], "bank_reference": "FT-HOAN"}
            elif kind == "keep":
                body["allocations"] = [{"invoice_id": invoices[step[2]]}]
            else:
                body["reason"] = "kiểm tra"
            r = await _act(recon, credit, **body)
        assert r.status_code in (200, 404, 409, 422), (step, r.status_code, r.text)
        if r.status_code == 200 and not r.json().get("replayed"):
            done.append(r.json()["action_id"])
        await _books_add_up(recon)
