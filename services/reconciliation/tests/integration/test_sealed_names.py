"""Names reach reconciliation only sealed with the pupil's key, and leave it the same way (crypto-shredding,
issue 28 §6): the key opens the pupil's name for the accountant's queue, the payer's name goes out sealed
with it, and the pupil's erasure blanks what was opened."""

from __future__ import annotations

import uuid

import pytest

from devinfra.testing import wait_until
from shared import payref
from shared.events import pupil_keys
from shared.events.envelope import unwrap
from shared.events.topics import Topic
from tuition.common.v1.sealed_pb2 import Names
from tuition.invoicing.v1.events_pb2 import InvoiceIssued
from tuition.invoicing.v1.pupil_keys_pb2 import PupilKeyDestroyed, PupilKeyIssued

from .conftest import ACCOUNT, SCHOOL, casso_data

pytestmark = pytest.mark.integration

PUPIL = "Lê Hoàng Minh Châu"


async def _payments(recon) -> list:
    rows = await recon.pool.fetch(
        "SELECT payload FROM outbox WHERE event_type = 'tuition.reconciliation.v1.PaymentMatched' ORDER BY seq"
    )
    return [unwrap(bytes(r["payload"])).payload for r in rows]


async def test_the_pupils_key_opens_their_name_seals_the_payer_and_its_destruction_blanks_them(recon):
    key = pupil_keys.new_key(uuid.uuid4())
    invoice_id, reference = uuid.uuid4(), payref.make_reference(777_001)
    issued = InvoiceIssued(
        invoice_id=str(invoice_id),
        school_id=SCHOOL,
        student_id=str(key.student_id),
        student_code="2200000077",
        class_name="1A1",
        period="2026-09",
        payment_reference=reference,
        total=1_000_000,
        due_date="2026-09-15",
        family_key="fam-77",
        account_number=ACCOUNT,
        sealed_names=pupil_keys.seal(key, Names(student_name=PUPIL, guardian_name="X"), bound_to=str(invoice_id)),
    )
    await recon.publish((issued, str(invoice_id)))
    await wait_until(lambda: recon.pool.fetchval("SELECT count(*) FROM invoices"), what="the invoice")
    row = await recon.pool.fetchrow("SELECT student_name, sealed_names FROM invoices")
    assert row["student_name"] == "" and row["sealed_names"] is not None

    # Paid before the key came: the payer's name does not go out at all (no key to seal it with).
    assert (await recon.casso(casso_data(400_000, f"{reference} hoc phi", "FT26300000001"))).status_code == 200
    (first,) = await _payments(recon)
    assert (first.payer_name, first.HasField("sealed_payer_name"), first.amount) == ("", False, 400_000)

    announced = PupilKeyIssued(student_id=str(key.student_id), school_id=SCHOOL, key_id=str(key.key_id), key=key.key)
    await recon.publish((announced, str(key.student_id)), topic=Topic.PUPIL_KEYS)

    async def opened() -> bool:
        return await recon.pool.fetchval("SELECT student_name FROM invoices") == PUPIL

    await wait_until(opened, what="the name opened")
    assert await recon.pool.fetchval("SELECT sealed_names FROM invoices") is None

    assert (await recon.casso(casso_data(600_000, f"{reference} hoc phi", "FT26300000002"))).status_code == 200
    second = (await _payments(recon))[1]
    assert second.payer_name == "" and second.amount == 600_000
    opened_payer = pupil_keys.open_sealed(key.key, second.sealed_payer_name, bound_to=second.payment_id)
    assert opened_payer.payer_name == "NGUYEN VAN HUNG"

    destroyed = PupilKeyDestroyed(student_id=str(key.student_id), school_id=SCHOOL, key_id=str(key.key_id))
    await recon.publish((destroyed, str(key.student_id)), topic=Topic.PUPIL_KEYS)

    async def blanked() -> bool:
        return await recon.pool.fetchval("SELECT student_name FROM invoices") == ""

    await wait_until(blanked, what="the name blanked")
    assert await recon.pool.fetchval("SELECT count(*) FROM pupil_keys") == 0
    assert await recon.pool.fetchval("SELECT key_id FROM pupil_keys_destroyed") == key.key_id


async def test_a_key_kept_while_its_invoice_was_being_applied_elsewhere_still_opens_it(recon):
    key = pupil_keys.new_key(uuid.uuid4())
    invoice_id = uuid.uuid4()
    issued = InvoiceIssued(
        invoice_id=str(invoice_id),
        school_id=SCHOOL,
        student_id=str(key.student_id),
        student_code="2200000078",
        payment_reference=payref.make_reference(777_002),
        total=500_000,
        due_date="2026-09-15",
        sealed_names=pupil_keys.seal(key, Names(student_name=PUPIL), bound_to=str(invoice_id)),
    )
    await recon.publish((issued, str(invoice_id)))
    await wait_until(lambda: recon.pool.fetchval("SELECT count(*) FROM invoices"), what="the invoice")
    async with recon.pool.acquire() as conn, conn.transaction():
        await pupil_keys.add(conn, SCHOOL, [key])  # as another instance would, not seeing the invoice

    async def opened() -> bool:
        return await recon.pool.fetchval("SELECT student_name FROM invoices") == PUPIL

    await wait_until(opened, what="the name opened by the sweep")
