import uuid

import pytest
from google.protobuf.any_pb2 import Any

from shared.events.envelope import EnvelopeError, unwrap, wrap
from tuition.common.v1.envelope_pb2 import Envelope
from tuition.invoicing.v1.events_pb2 import SchoolRegistered


def test_an_event_survives_wrapping_and_unwrapping():
    msg = SchoolRegistered(school_id="S1", code="MNHP", name="Trường Mầm non Hoa Phượng", district_code="D1")
    env = wrap(msg, producer="invoicing", aggregate_id="S1", school_id="S1", correlation_id="c1")
    event = unwrap(env.SerializeToString())
    assert event.event_type == "tuition.invoicing.v1.SchoolRegistered"
    assert event.payload == msg
    assert event.envelope.schema_version == 1
    assert event.envelope.producer == "invoicing" and event.envelope.correlation_id == "c1"
    assert isinstance(event.event_id, uuid.UUID)


def test_bytes_that_are_not_an_envelope_are_refused_with_a_reason():
    with pytest.raises(EnvelopeError, match="event_id"):
        unwrap(b"")
    with pytest.raises(EnvelopeError, match="not a tuition.common.v1.Envelope"):
        unwrap(b"\xff\xff\xff")


def test_an_unknown_event_type_unwraps_with_no_payload():
    env = Envelope(
        event_id=str(uuid.uuid4()),
        event_type="tuition.future.v9.Something",
        payload=Any(type_url="type.googleapis.com/tuition.future.v9.Something", value=b""),
    )
    event = unwrap(env.SerializeToString())
    assert event.payload is None and event.event_type == "tuition.future.v9.Something"


def test_a_payload_of_another_type_than_announced_is_refused():
    env = wrap(SchoolRegistered(school_id="S1"), producer="x", aggregate_id="S1")
    env.event_type = "tuition.common.v1.Money"
    with pytest.raises(EnvelopeError, match="envelope says"):
        unwrap(env.SerializeToString())
