"""A statement previewed before it is recorded; the queue's suggestions for memos the matcher could not place."""

from __future__ import annotations

import pytest

from devinfra.testing import wait_until

from .conftest import SCHOOL, camt054, sepay_body

pytestmark = pytest.mark.integration


async def _tables(recon) -> dict[str, int]:
    return {
        t: await recon.pool.fetchval(f"SELECT count(*) FROM {t}")  # noqa: S608
        for t in ("credits", "allocations", "statements", "outbox")
    }


async def test_a_statement_preview_says_line_by_line_what_the_upload_records_and_stores_nothing(recon):
    paid, other = await recon.issue([700_000, 300_000])
    # One credit already came by webhook: the statement's line of it is a duplicate, not new money.
    r = await recon.sepay(sepay_body(1, 300_000, f"{other.reference} NOP HOC PHI", when="2026-09-05 09:00:00"))
    assert r.status_code == 200, r.text
    data = camt054(
        [
            (700_000, f"{paid.reference} HOC PHI T9", "FT1"),
            (300_000, f"{other.reference} NOP HOC PHI", "FT2"),
            (55_000, "CHUYEN TIEN", "FT3"),
        ]
    )
    before = await _tables(recon)
    preview = await recon.statement("sao-ke.xml", data, preview="true")
    assert preview.status_code == 200, preview.text
    p = preview.json()
    assert (p["preview"], p["credits"], p["new_credits"]) == (True, 3, 2)
    assert [(line["amount"], line["new"], line["state"]) for line in p["lines"]] == [
        (700_000, True, "matched"),
        (300_000, False, "matched"),
        (55_000, True, "unmatched"),
    ]
    assert await _tables(recon) == before  # nothing stored: no credit, no statement, no event
    done = await recon.statement("sao-ke.xml", data)
    d = done.json()
    assert (d["preview"], d["credits"], d["new_credits"]) == (False, 3, 2)
    assert [(x["new"], x["state"]) for x in d["lines"]] == [(x["new"], x["state"]) for x in p["lines"]]
    assert await recon.pool.fetchval("SELECT count(*) FROM statements") == 1
    again = await recon.statement("sao-ke-lai.xml", data, preview="true")
    assert again.json()["already_uploaded"] is True


async def test_the_queue_suggests_the_pupil_a_memo_names_and_the_reference_one_character_off(recon):
    named, mistyped, _ = await recon.issue([500_000, 400_000, 600_000])
    ref = mistyped.reference
    # Two different neighbours swapped by the parent (the reference is random: two equal neighbours swapped
    # would be the reference itself, matched at once; that made this test fail about one run in ten).
    i = next(i for i in range(4, len(ref) - 1) if ref[i] != ref[i + 1])
    typo = ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :]
    assert typo != ref
    for n, (amount, memo) in enumerate(
        [
            (450_000, f"MBVCB.1234 {named.student_name.upper()} NOP TIEN"),
            (400_000, f"{typo} HOC PHI"),
            (999_000, "CHUYEN TIEN"),
        ],
        start=1,
    ):
        r = await recon.sepay(sepay_body(100 + n, amount, memo))
        assert r.status_code == 200, r.text

    async def queued() -> bool:
        return await recon.pool.fetchval("SELECT count(*) FROM credits WHERE state <> 'matched'") == 3

    await wait_until(queued, what="three credits in the queue")
    queue = (await recon.client.get(f"/schools/{SCHOOL}/exceptions", headers=recon.headers())).json()
    by_amount = {c["amount"]: c for c in queue}
    [by_name] = by_amount[450_000]["suggestions"]
    assert (by_name["invoice_id"], by_name["why"], by_name["outstanding"]) == (str(named.invoice_id), "name", 500_000)
    [by_ref] = by_amount[400_000]["suggestions"]
    assert (by_ref["invoice_id"], by_ref["why"], by_ref["read"]) == (
        str(mistyped.invoice_id),
        "reference_one_off",
        typo,
    )
    assert by_amount[999_000]["suggestions"] == []
