"""Names reach the receipts service only sealed with the pupil's key (crypto-shredding, issue 28 §6): a
payment waits for the key, the key opens the names onto the receipt, and the pupil's erasure blanks them."""

from __future__ import annotations

import uuid

import pytest
from lxml import etree

from devinfra.testing import wait_until
from shared.events import pupil_keys
from shared.events.topics import Topic
from tuition.common.v1.sealed_pb2 import Names
from tuition.invoicing.v1.pupil_keys_pb2 import PupilKeyDestroyed, PupilKeyIssued

from .conftest import invoice_event, payment_event, publish, school_event

pytestmark = pytest.mark.integration

PUPIL, GUARDIAN, PAYER = "Trần Thị Mai Anh", "Trần Văn Bình", "TRAN VAN BINH"


def _sealed_invoice(n: int, key: pupil_keys.PupilKey):
    event, iid = invoice_event(n)
    event.student_id = str(key.student_id)
    event.ClearField("student_name")
    event.ClearField("guardian_name")
    event.sealed_names.CopyFrom(pupil_keys.seal(key, Names(student_name=PUPIL, guardian_name=GUARDIAN), bound_to=iid))
    return event, iid


def _sealed_payment(n: int, key: pupil_keys.PupilKey):
    payment, iid = payment_event(n)
    payment.sealed_payer_name.CopyFrom(pupil_keys.seal(key, Names(payer_name=PAYER), bound_to=payment.payment_id))
    return payment, iid


def _key_event(key: pupil_keys.PupilKey):
    return PupilKeyIssued(student_id=str(key.student_id), school_id="S", key_id=str(key.key_id), key=key.key)


async def _printed(app, payment_id: str) -> tuple[str, str]:
    xml = await app.pool.fetchval("SELECT xml FROM receipts WHERE payment_id = $1", payment_id)
    data = etree.fromstring(xml.encode() if isinstance(xml, str) else xml).find("DLBLai")
    return data.findtext("NDBLai/NNop/Ten"), data.findtext("NDBLai/NNop/HVTHSinh")


async def test_a_payment_waits_for_the_pupils_key_which_opens_the_names_onto_the_receipt(receipts_app):
    app = receipts_app
    key = pupil_keys.new_key(uuid.uuid4())
    invoice, iid = _sealed_invoice(1, key)
    await publish(app.kafka, app.prefix, Topic.INVOICING, [school_event(), (invoice, iid)])
    await wait_until(lambda: app.pool.fetchval("SELECT count(*) FROM invoices"), what="the invoice")
    row = await app.pool.fetchrow("SELECT student_name, guardian_name, sealed_names FROM invoices")
    assert (row["student_name"], row["guardian_name"]) == ("", "") and row["sealed_names"] is not None

    payment, _ = _sealed_payment(1, key)
    await publish(app.kafka, app.prefix, Topic.RECONCILIATION, [(payment, iid)])

    async def parked() -> bool:
        return await app.pool.fetchval("SELECT waiting_for FROM pending_payments") == "pupil key"

    await wait_until(parked, what="the payment parked for the pupil's key")
    assert await app.pool.fetchval("SELECT count(*) FROM receipts") == 0

    await publish(app.kafka, app.prefix, Topic.PUPIL_KEYS, [(_key_event(key), str(key.student_id))])
    await wait_until(lambda: app.pool.fetchval("SELECT count(*) FROM receipts"), what="the receipt")
    # The guardian's name is the payer's on the receipt; the pupil's is the pupil's.
    assert await _printed(app, payment.payment_id) == (GUARDIAN, PUPIL)
    assert await app.pool.fetchval("SELECT count(*) FROM pending_payments") == 0

    # The pupil is erased: the key is deleted, the names blanked; the receipt issued keeps what it printed.
    destroyed = PupilKeyDestroyed(student_id=str(key.student_id), key_id=str(key.key_id))
    await publish(app.kafka, app.prefix, Topic.PUPIL_KEYS, [(destroyed, str(key.student_id))])

    async def blanked() -> bool:
        return await app.pool.fetchval("SELECT student_name FROM invoices") == ""

    await wait_until(blanked, what="the names blanked")
    assert await app.pool.fetchval("SELECT count(*) FROM pupil_keys") == 0
    assert await _printed(app, payment.payment_id) == (GUARDIAN, PUPIL)


async def test_without_a_guardian_the_payer_named_by_the_bank_opens_from_the_payment(receipts_app):
    app = receipts_app
    key = pupil_keys.new_key(uuid.uuid4())
    invoice, iid = _sealed_invoice(2, key)
    invoice.sealed_names.CopyFrom(pupil_keys.seal(key, Names(student_name=PUPIL), bound_to=iid))
    await publish(app.kafka, app.prefix, Topic.PUPIL_KEYS, [(_key_event(key), str(key.student_id))])
    await publish(app.kafka, app.prefix, Topic.INVOICING, [school_event(), (invoice, iid)])
    payment, _ = _sealed_payment(2, key)
    await publish(app.kafka, app.prefix, Topic.RECONCILIATION, [(payment, iid)])
    await wait_until(lambda: app.pool.fetchval("SELECT count(*) FROM receipts"), what="the receipt")
    assert await _printed(app, payment.payment_id) == (PAYER, PUPIL)


async def test_an_invoice_of_a_pupil_already_erased_does_not_wait_for_a_key_that_will_never_come(receipts_app):
    app = receipts_app
    key = pupil_keys.new_key(uuid.uuid4())
    destroyed = PupilKeyDestroyed(student_id=str(key.student_id), key_id=str(key.key_id))
    await publish(app.kafka, app.prefix, Topic.PUPIL_KEYS, [(destroyed, str(key.student_id))])
    await wait_until(
        lambda: app.pool.fetchval("SELECT count(*) FROM pupil_keys_destroyed"), what="the destruction recorded"
    )
    invoice, iid = _sealed_invoice(3, key)
    await publish(app.kafka, app.prefix, Topic.INVOICING, [school_event(), (invoice, iid)])
    payment, _ = _sealed_payment(3, key)
    await publish(app.kafka, app.prefix, Topic.RECONCILIATION, [(payment, iid)])
    await wait_until(lambda: app.pool.fetchval("SELECT count(*) FROM receipts"), what="the receipt")
    assert await _printed(app, payment.payment_id) == ("", "")
    # The key announced late (a replay) is not taken back into use. Another pupil's key after it, on the
    # same partition (same Kafka key), shows when the replay has been applied.
    other = pupil_keys.new_key(uuid.uuid4())
    await publish(
        app.kafka,
        app.prefix,
        Topic.PUPIL_KEYS,
        [(_key_event(key), str(key.student_id)), (_key_event(other), str(key.student_id))],
    )
    await wait_until(lambda: app.pool.fetchval("SELECT count(*) FROM pupil_keys"), what="the later key kept")
    assert await app.pool.fetchval("SELECT array_agg(key_id) FROM pupil_keys") == [other.key_id]


async def test_a_key_kept_while_its_invoice_was_being_applied_elsewhere_still_opens_it_and_issues(receipts_app):
    # Two instances: one applies the key while another applies the invoice, neither sees the other's row.
    # The key is put in the book directly here, as if its event had been applied before the invoice's.
    app = receipts_app
    key = pupil_keys.new_key(uuid.uuid4())
    invoice, iid = _sealed_invoice(4, key)
    await publish(app.kafka, app.prefix, Topic.INVOICING, [school_event(), (invoice, iid)])
    payment, _ = _sealed_payment(4, key)
    await publish(app.kafka, app.prefix, Topic.RECONCILIATION, [(payment, iid)])
    await wait_until(lambda: app.pool.fetchval("SELECT count(*) FROM pending_payments"), what="the payment parked")
    async with app.pool.acquire() as conn, conn.transaction():
        await pupil_keys.add(conn, "S", [key])
    await wait_until(lambda: app.pool.fetchval("SELECT count(*) FROM receipts"), what="the receipt, by the sweep")
    assert await _printed(app, payment.payment_id) == (GUARDIAN, PUPIL)


async def test_cash_names_the_payer_written_at_the_desk_and_a_transfer_the_guardian(receipts_app):
    """Issue 30 §5: the grandmother who paid at the desk is on her receipt; a bank's upper-case name is not."""
    from tuition.reconciliation.v1.events_pb2 import Channel

    app = receipts_app
    key = pupil_keys.new_key(uuid.uuid4())
    await publish(app.kafka, app.prefix, Topic.PUPIL_KEYS, [(_key_event(key), str(key.student_id))])
    invoice, iid = _sealed_invoice(4, key)
    await publish(app.kafka, app.prefix, Topic.INVOICING, [school_event(), (invoice, iid)])
    cash, _ = payment_event(4, 100_000)
    cash.payment_id, cash.channel = "cash-4", Channel.CASH
    cash.sealed_payer_name.CopyFrom(pupil_keys.seal(key, Names(payer_name="Bà ngoại Lê Thị Hoa"), bound_to="cash-4"))
    unnamed, _ = payment_event(4, 50_000)  # cash with no name written down: the guardian
    unnamed.payment_id, unnamed.channel = "cash-5", Channel.CASH
    bank, _ = _sealed_payment(4, key)
    bank.amount = 200_000
    await publish(app.kafka, app.prefix, Topic.RECONCILIATION, [(cash, iid), (unnamed, iid), (bank, iid)])

    async def three() -> bool:
        return await app.pool.fetchval("SELECT count(*) FROM receipts") == 3

    await wait_until(three, what="three receipts")
    assert await _printed(app, "cash-4") == ("Bà ngoại Lê Thị Hoa", PUPIL)
    assert await _printed(app, "cash-5") == (GUARDIAN, PUPIL)
    assert await _printed(app, bank.payment_id) == (GUARDIAN, PUPIL)
