"""The event fields that name a person (a pupil, a guardian, a payer). Producers fill only their sealed form
(shared/events/pupil_keys.py: erasure destroys the key); the clear fields are read from events written
before. A consumer that needs no names keeps events without either (reporting's event log).

Every string field of an event whose name ends in "_name" is either here or in NOT_A_PERSON (a school's,
a class's or an account's name); tests/contract checks that no new one is missed.
"""

from __future__ import annotations

from shared.events.envelope import Event
from tuition.common.v1.envelope_pb2 import Envelope

PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "tuition.invoicing.v1.InvoiceIssued": ("student_name", "guardian_name", "sealed_names"),
    "tuition.reconciliation.v1.PaymentMatched": ("payer_name", "sealed_payer_name"),
}
NOT_A_PERSON = {"class_name", "account_name", "counter_account_bank_name"}


def without_names(event: Event) -> bytes:
    """The event's envelope, serialized, with the fields that name a person emptied."""
    fields = PERSONAL_FIELDS.get(event.event_type)
    if not fields or event.payload is None:
        return event.envelope.SerializeToString()
    payload = type(event.payload)()
    payload.CopyFrom(event.payload)
    for name in fields:
        payload.ClearField(name)
    envelope = Envelope()
    envelope.CopyFrom(event.envelope)
    envelope.payload.value = payload.SerializeToString()
    return envelope.SerializeToString()
