"""Several schools' receipts signed in one call: each with its own school's keys, back in its own group, in
order, however the call was cut across the signing processes."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree

from receipts.adapters import compact, xmlsig
from receipts.adapters.certificates import issue_school_key, new_ca
from receipts.adapters.signing import KeyPair, Signer, key_pair
from receipts.domain.receipt import Line, ReceiptContent

BASE = ReceiptContent(
    school_id="",
    school_name="Trường Tiểu học",
    school_code="",
    tax_code="0101234567",
    address="Cầu Giấy, Hà Nội",
    form_code="01BLP0-001",
    series_code="BL26",
    number=0,
    issued_at=datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
    payer_name="Nguyễn Văn Hùng",
    student_name="Nguyễn Ngọc Bảo Anh",
    student_code="2212345001",
    class_name="5A1",
    period="2026-12",
    lines=(Line("Tiền ăn bán trú", 735_000),),
    amount=735_000,
    channel="VIETQR",
    bank_reference="FT26337001",
    payment_reference="HP7K2QX9AC",
    verification_code="ABCD1234EF",
    payment_id="",
    invoice_id="inv",
)


def _school(ca, school: str) -> KeyPair:
    xml = issue_school_key(ca, school_id=school, school_name=f"Trường {school}", kind="xml")
    qr = issue_school_key(ca, school_id=school, school_name=f"Trường {school}", kind="qr")
    return key_pair(xml, qr)


@pytest.mark.parametrize("processes", [0, 2, 3])
def test_each_schools_receipts_come_back_signed_with_its_own_keys_in_order(processes):
    ca = new_ca()
    schools = {s: _school(ca, s) for s in ("TH-A", "TH-B", "TH-C")}
    sizes = {"TH-A": 3, "TH-B": 0, "TH-C": 4}  # 7 receipts: cut 4 + 3 or 3 + 3 + 1, across the schools
    groups = [
        (
            schools[s],
            [dataclasses.replace(BASE, school_id=s, school_code=s, number=n, payment_id=f"{s}-{n}") for n in range(k)],
        )
        for s, k in sizes.items()
    ]
    signer = Signer(processes)
    signed = asyncio.run(signer.sign_groups(groups, BASE.issued_at))
    assert [len(g) for g in signed] == list(sizes.values())
    for (pair, contents), sigs in zip(groups, signed, strict=True):
        for content, sig in zip(contents, sigs, strict=True):
            root, cert = xmlsig.verify(sig.xml)  # raises unless the signature holds
            assert cert.public_bytes(serialization.Encoding.DER) == pair.xml_cert
            assert content.payment_id in etree.tostring(root, encoding=str)
            kid, claims, to_check, signature = compact.unpack(sig.compact)
            assert kid.hex() == pair.compact_kid
            assert (claims["s"], claims["n"]) == (content.school_id, content.number)
            public = serialization.load_der_private_key(pair.compact_key, None).public_key()
            compact.verify(to_check, signature, public)  # type: ignore[arg-type]
