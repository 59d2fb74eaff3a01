"""Every event field that names a person is known (issue 28 §6), and a consumer that needs no names keeps
events without them: reporting's event log holds no pupil, guardian or payer name."""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor

from shared.events.envelope import unwrap, wrap
from shared.events.personal import NOT_A_PERSON, PERSONAL_FIELDS, without_names
from tuition.common.v1.sealed_pb2 import Sealed
from tuition.invoicing.v1 import events_pb2 as invoicing
from tuition.receipts.v1 import events_pb2 as receipts
from tuition.reconciliation.v1 import events_pb2 as reconciliation


def test_every_name_field_of_every_event_is_either_personal_or_known_not_to_be():
    unknown = []
    for module in (invoicing, reconciliation, receipts):
        for message in module.DESCRIPTOR.message_types_by_name.values():
            for field in message.fields:
                if field.type == FieldDescriptor.TYPE_STRING and field.name.endswith("_name"):
                    if field.name not in PERSONAL_FIELDS.get(message.full_name, ()) + tuple(NOT_A_PERSON):
                        unknown.append(f"{message.full_name}.{field.name}")
    assert unknown == []


def test_every_sealed_field_is_personal_so_that_reporting_keeps_none():
    sealed = [
        f"{message.full_name}.{field.name}"
        for module in (invoicing, reconciliation, receipts)
        for message in module.DESCRIPTOR.message_types_by_name.values()
        for field in message.fields
        if field.message_type is not None and field.message_type.full_name == "tuition.common.v1.Sealed"
    ]
    assert sorted(sealed) == [
        "tuition.invoicing.v1.InvoiceIssued.sealed_names",
        "tuition.reconciliation.v1.PaymentMatched.sealed_payer_name",
    ]
    assert all(s.rsplit(".", 1)[1] in PERSONAL_FIELDS[s.rsplit(".", 1)[0]] for s in sealed)


def test_an_event_kept_without_names_keeps_everything_else():
    issued = invoicing.InvoiceIssued(
        invoice_id="i-1",
        school_id="MN-1",
        student_code="2200000001",
        student_name="Nguyễn Ngọc Bảo Anh",
        guardian_name="Nguyễn Văn Hùng",
        class_name="5A1",
        total=1_584_520,
    )
    event = unwrap(wrap(issued, producer="invoicing", aggregate_id="i-1", school_id="MN-1").SerializeToString())
    kept = unwrap(without_names(event))
    assert kept.event_id == event.event_id and kept.event_type == event.event_type
    assert (kept.payload.student_name, kept.payload.guardian_name) == ("", "")
    assert (kept.payload.student_code, kept.payload.class_name, kept.payload.total) == ("2200000001", "5A1", 1_584_520)
    paid = reconciliation.PaymentMatched(payment_id="p", invoice_id="i-1", amount=5, payer_name="NGUYEN VAN HUNG")
    paid.sealed_payer_name.CopyFrom(Sealed(key_id="k", nonce=b"n" * 12, ciphertext=b"c"))
    kept_payment = unwrap(without_names(unwrap(wrap(paid, producer="r", aggregate_id="i-1").SerializeToString())))
    assert kept_payment.payload.payer_name == "" and kept_payment.payload.amount == 5
    assert not kept_payment.payload.HasField("sealed_payer_name")
