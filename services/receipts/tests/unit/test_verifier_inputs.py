"""The verifier answers every input with a verdict, never an exception."""

from __future__ import annotations

import zlib

import base45
import cbor2
import pytest

from receipts.adapters import compact
from receipts.adapters.certificates import issue_school_key, new_ca
from receipts.app.verification import KeyList, verify_any

KEYS = KeyList({"keys": [], "trust_anchors": []})


def test_a_signed_qr_with_an_absurd_issue_time_is_invalid_not_a_crash():
    ca = new_ca()
    school = issue_school_key(ca, school_id="S", school_name="S", kind="qr")
    text = compact.sign({"s": "S", "n": 1, "a": 1, "t": 10**30}, school.key, bytes.fromhex(school.kid))

    verdict = verify_any(text, KEYS)

    assert (verdict.valid, verdict.reason) == (False, "Biên lai không có thời điểm lập hợp lệ.")


@pytest.mark.parametrize(
    "text",
    [
        compact.PREFIX + base45.b45encode(zlib.compress(cbor2.dumps([1, 2, 3]))).decode(),
        compact.PREFIX + base45.b45encode(zlib.compress(cbor2.dumps(cbor2.CBORTag(18, [1, {}, 2, 3])))).decode(),
        compact.PREFIX
        + base45.b45encode(zlib.compress(cbor2.dumps(cbor2.CBORTag(18, [b"\xff", {}, b"x", b"s"])))).decode(),
        compact.PREFIX + base45.b45encode(zlib.compress(b"x")[:-3]).decode(),
        compact.PREFIX + "::::",
        "%PDF-1.7 not really",
        "<DLBLai><DSCKS><NBan><Signature xmlns='http://www.w3.org/2000/09/xmldsig#'><X509Certificate>!!!"
        "</X509Certificate></Signature></NBan></DSCKS></DLBLai>",
        "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><d>&x;</d>",
    ],
)
def test_damaged_and_crafted_inputs_get_a_verdict(text):
    verdict = verify_any(text, KEYS)
    assert verdict.valid is False and verdict.reason
