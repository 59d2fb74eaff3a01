"""Bad webhook input gets a 4xx naming the problem, and nothing is stored half-way."""

from __future__ import annotations

import json
import time

import pytest

from reconciliation.adapters.webhooks import casso_signature, payos_signature
from reconciliation.entrypoints.common import intake_of

from .conftest import CASSO_KEY, PAYOS_KEY, SCHOOL, SEPAY_KEY, casso_data, hmac_hex, payos_data, sepay_body, sign_payos

pytestmark = pytest.mark.integration
# Every refusal of a webhook's caller, whatever was wrong (unknown school, key, scheme): one answer, word for word.
REFUSED = {
    "type": "https://tuition.example.vn/problems/unauthorized",
    "title": "Chưa xác thực được người gửi",
    "status": 401,
    "code": "unauthorized",
    "detail": "webhook refused: the API key or signature is missing or wrong",
}


async def _nothing_stored(recon) -> None:
    assert await recon.pool.fetchval("SELECT count(*) FROM credits") == 0
    assert await recon.pool.fetchval("SELECT count(*) FROM outbox") == 0


async def _signed_casso(recon, raw_body: str, *, t: str | None = None, sig: str | None = None):
    t = t or str(int(time.time() * 1000))
    if sig is None:
        sig = casso_signature(CASSO_KEY, t, json.loads(raw_body))
    return await recon.client.post(
        f"/webhooks/casso/{SCHOOL}",
        content=raw_body.encode("utf-8", "surrogatepass"),
        headers={"X-Casso-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"},
    )


async def test_deeply_nested_json_is_refused_by_its_depth(recon):
    r = await recon.client.post(f"/webhooks/casso/{SCHOOL}", content="[" * 20_000 + "]" * 20_000)
    assert r.status_code == 400 and "nested deeper" in r.json()["detail"]
    await _nothing_stored(recon)


async def test_a_non_ascii_signature_header_is_a_refusal_not_a_crash(recon):
    [inv] = await recon.issue([500_000])
    body = json.dumps({"error": 0, "data": casso_data(500_000, inv.reference, "FT1")})
    t = str(int(time.time() * 1000))
    r = await recon.client.post(
        f"/webhooks/casso/{SCHOOL}",
        content=body,
        headers=[("X-Casso-Signature", f"t={t},v1=chữký".encode()), ("Content-Type", b"application/json")],
    )
    assert r.status_code == 401 and "does not match" in r.json()["detail"]
    sepay = await recon.client.post(
        f"/webhooks/sepay/{SCHOOL}",
        json=sepay_body(1, 500_000, inv.reference),
        headers=[("Authorization", "Apikey khóa-sai".encode())],
    )
    assert sepay.status_code == 401
    await _nothing_stored(recon)


async def test_a_lone_surrogate_or_a_nul_in_a_memo_is_refused_by_name(recon):
    [inv] = await recon.issue([500_000])
    for memo, what in (("\\ud800", "lone surrogate"), ("\\u0000", "NUL")):
        raw = json.dumps({"error": 0, "data": casso_data(500_000, inv.reference, "FT1")})
        raw = raw.replace(inv.reference, inv.reference + memo, 1)
        r = await _signed_casso(recon, raw, sig="0" * 128)
        assert r.status_code == 400 and what in r.json()["detail"], r.text
    await _nothing_stored(recon)


@pytest.mark.parametrize("t", ["inf", "nan", "1e400", "9" * 5000, "-5", "12.5.6"])
async def test_an_infinite_or_huge_timestamp_is_refused(recon, t):
    raw = json.dumps({"error": 0, "data": casso_data(500_000, "HP", "FT1")})
    r = await _signed_casso(recon, raw, t=t, sig="0" * 128)
    assert r.status_code == 401 and "timestamp" in r.json()["detail"], r.text
    ts = await recon.client.post(
        f"/webhooks/sepay/{SCHOOL}",
        content=b"{}",
        headers={"X-SePay-Timestamp": t, "X-SePay-Signature": "00"},
    )
    assert ts.status_code in (400, 401, 422)
    await _nothing_stored(recon)


async def test_amounts_beyond_the_bound_or_written_as_floats_are_refused(recon):
    [inv] = await recon.issue([500_000])
    for amount, what in (
        ("10000000000000000000000", "vượt quá số tiền lớn nhất"),  # past bigint: was a 500
        ("1E+400000", "fraction or an exponent"),  # cost seconds to turn into an integer
        ("9007199254740993.0", "fraction or an exponent"),  # a float: silently rounded before
        ("500000.0", "fraction or an exponent"),
    ):
        data = casso_data(500_000, inv.reference, "FT1")
        raw = json.dumps({"error": 0, "data": data}).replace('"amount": 500000', f'"amount": {amount}')
        assert amount in raw
        r = await _signed_casso(recon, raw)  # correctly signed: the amount itself is what is refused
        assert r.status_code in (400, 422) and what in r.json()["detail"], (amount, r.text)
    big = await recon.sepay(sepay_body(7, 10**13, inv.reference))
    assert big.status_code == 422 and "vượt quá số tiền lớn nhất" in big.json()["detail"]
    await _nothing_stored(recon)


async def test_an_unknown_school_is_refused_exactly_like_a_wrong_signature(recon):
    body = sepay_body(1, 500_000, "HP")
    unknown = await recon.client.post(
        "/webhooks/sepay/NO-SUCH-SCHOOL", json=body, headers={"Authorization": "Apikey x"}
    )
    wrong = await recon.client.post(f"/webhooks/sepay/{SCHOOL}", json=body, headers={"Authorization": "Apikey x"})
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json()) == (401, REFUSED)
    raw = json.dumps(body).encode()
    hmac_headers = {"X-SePay-Timestamp": str(int(time.time())), "X-SePay-Signature": hmac_hex(SEPAY_KEY, raw)}
    unknown_hmac = await recon.client.post("/webhooks/sepay/NO-SUCH-SCHOOL", content=raw, headers=hmac_headers)
    assert (unknown_hmac.status_code, unknown_hmac.json()) == (unknown.status_code, unknown.json())
    # A school configured for "Apikey" answers an HMAC call as an unknown school does: the scheme is not told.
    known_hmac = await recon.client.post(f"/webhooks/sepay/{SCHOOL}", content=raw, headers=hmac_headers)
    assert (known_hmac.status_code, known_hmac.json()) == (unknown.status_code, unknown.json())
    no_header = await recon.client.post(f"/webhooks/sepay/{SCHOOL}", content=raw)
    assert (no_header.status_code, no_header.json()) == (unknown.status_code, unknown.json())


async def test_webhook_secrets_are_sealed_at_rest_and_still_verify(recon):
    stored = [r["secret"] for r in await recon.pool.fetch("SELECT secret FROM webhook_configs")]
    assert len(stored) == 3 and all(s.startswith("sealed:v1:") for s in stored)
    assert not any(key in s for s in stored for key in (CASSO_KEY, SEPAY_KEY))
    [inv] = await recon.issue([500_000])
    assert (await recon.sepay(sepay_body(9, 500_000, inv.reference))).status_code == 200


async def test_a_replaced_secret_is_refused_from_the_next_call_on(recon):
    [inv] = await recon.issue([500_000])
    assert (await recon.sepay(sepay_body(1, 1_000, inv.reference))).status_code == 200  # the key is now kept
    assert (await recon.sepay(sepay_body(2, 1_000, inv.reference))).status_code == 200
    assert (SCHOOL, "sepay") in intake_of(recon.runtime).secrets._kept
    put = await recon.client.put(
        f"/schools/{SCHOOL}/webhooks/sepay", headers=recon.headers(), json={"scheme": "apikey", "secret": "new-key-2"}
    )
    assert put.status_code == 204
    old = await recon.sepay(sepay_body(3, 1_000, inv.reference))
    assert (old.status_code, old.json()) == (401, REFUSED)
    assert (await recon.sepay(sepay_body(4, 1_000, inv.reference), key="new-key-2")).status_code == 200
    stored = await recon.pool.fetchval("SELECT count(*) FROM credits")
    assert stored == 3


async def test_a_captured_payos_body_cannot_be_re_signed_as_a_new_credit(recon):
    [inv] = await recon.issue([780_000])
    genuine = sign_payos(payos_data(780_000, inv.reference, "FT26248007777", link="pl-7777", order=7777))
    first = await recon.client.post(f"/webhooks/payos/{SCHOOL}", json=genuine)
    assert (first.status_code, first.json()["new"], first.json()["state"]) == (200, True, "matched"), first.text
    # The reference moved into paymentLinkId leaves the signed string, and so the signature, as it was.
    forged_data = dict(genuine["data"])
    del forged_data["reference"]
    forged_data["paymentLinkId"] = "pl-7777&reference=FT26248007777"
    assert payos_signature(PAYOS_KEY, forged_data) == genuine["signature"]
    forged = await recon.client.post(
        f"/webhooks/payos/{SCHOOL}", json=genuine | {"data": forged_data, "signature": genuine["signature"]}
    )
    assert forged.status_code == 401, forged.text
    # Other fields than the bank's reference changed, posted again: the same payment (payOS's own ids).
    again = await recon.client.post(
        f"/webhooks/payos/{SCHOOL}",
        json=sign_payos(genuine["data"] | {"reference": "FT-OTHER", "desc": "thanh cong"}),
    )
    assert (again.status_code, again.json()["new"]) == (200, False), again.text
    assert await recon.pool.fetchval("SELECT count(*) FROM credits") == 1
    assert await recon.pool.fetchval("SELECT count(*) FROM allocations") == 1


async def test_a_payos_body_lacking_a_signed_field_or_with_a_separator_in_a_key_is_refused(recon):
    [inv] = await recon.issue([500_000])
    data = payos_data(500_000, inv.reference, "FT1")
    for broken in (
        {k: v for k, v in data.items() if k != "orderCode"},
        data | {"x=y": "1"},
        data | {"description": f"{inv.reference}&desc=success"},
    ):
        r = await recon.client.post(f"/webhooks/payos/{SCHOOL}", json=sign_payos(broken))
        assert r.status_code == 401, r.text
    await _nothing_stored(recon)
