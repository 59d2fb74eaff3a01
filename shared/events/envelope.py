"""Wrap and unwrap domain events in the `tuition.common.v1.Envelope` protobuf."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import DecodeError, Message

# Every generated module that holds events, so that a consumer can unpack any payload by its type name.
from tuition.auth.v1 import events_pb2 as _auth_events  # noqa: F401  (registers the types)
from tuition.common.v1.envelope_pb2 import Envelope
from tuition.invoicing.v1 import events_pb2 as _invoicing_events  # noqa: F401
from tuition.invoicing.v1 import pupil_keys_pb2 as _pupil_keys  # noqa: F401
from tuition.receipts.v1 import events_pb2 as _receipts_events  # noqa: F401
from tuition.reconciliation.v1 import events_pb2 as _reconciliation_events  # noqa: F401


class EnvelopeError(ValueError):
    """A Kafka record that is not a valid envelope; the message says what is wrong."""


@dataclass(frozen=True)
class Event:
    envelope: Envelope
    payload: Message | None  # None when the payload's type is unknown to this build (newer producer)

    @property
    def event_id(self) -> uuid.UUID:
        return uuid.UUID(self.envelope.event_id)

    @property
    def event_type(self) -> str:
        return self.envelope.event_type


def schema_version_of(message: Message) -> int:
    return _schema_version(message.DESCRIPTOR.full_name)


@functools.cache
def _schema_version(full_name: str) -> int:
    # Package names end in ".v<N>" (tuition.invoicing.v1): the major version is part of the contract.
    package = full_name.rsplit(".", 1)[0]
    last = package.rsplit(".", 1)[-1]
    return int(last[1:]) if last.startswith("v") and last[1:].isdigit() else 1


def wrap(
    message: Message,
    *,
    producer: str,
    aggregate_id: str,
    school_id: str = "",
    correlation_id: str = "",
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    template = wrap_template(producer=producer, correlation_id=correlation_id, occurred_at=occurred_at)
    return wrap_from(
        template, message, aggregate_id=aggregate_id, school_id=school_id, event_id=event_id or uuid.uuid4()
    )


def wrap_template(*, producer: str, correlation_id: str = "", occurred_at: datetime | None = None) -> Envelope:
    """What a batch's envelopes share, for `wrap_from`: the producer, the correlation id, the time, and the
    trace of the span writing them (shared/tracing.py)."""
    from shared.tracing import current_traceparent

    env = Envelope(producer=producer, correlation_id=correlation_id, traceparent=current_traceparent())
    env.occurred_at.FromDatetime(occurred_at or datetime.now(UTC))
    return env


def wrap_from(
    template: Envelope, message: Message, *, aggregate_id: str, school_id: str, event_id: uuid.UUID
) -> Envelope:
    """`wrap` for one event of a batch: the template's producer, correlation id and time, this event's rest."""
    env = Envelope(
        event_id=str(event_id),
        event_type=message.DESCRIPTOR.full_name,
        school_id=school_id,
        schema_version=schema_version_of(message),
        aggregate_id=aggregate_id,
    )
    env.MergeFrom(template)
    env.payload.Pack(message)
    return env


def _message_class(type_name: str) -> type[Message] | None:
    from google.protobuf import symbol_database

    try:
        return symbol_database.Default().GetSymbol(type_name)  # type: ignore[no-any-return]
    except KeyError:
        return None


def unwrap(raw: bytes) -> Event:
    env = Envelope()
    try:
        env.ParseFromString(raw)
    except DecodeError as exc:
        raise EnvelopeError(f"not a tuition.common.v1.Envelope: {exc}") from exc
    try:
        uuid.UUID(env.event_id)
    except ValueError as exc:
        raise EnvelopeError(f"envelope has no valid event_id: {env.event_id!r}") from exc
    if not env.event_type:
        raise EnvelopeError("envelope has no event_type")
    if env.payload.TypeName() != env.event_type:
        raise EnvelopeError(f"payload is {env.payload.TypeName()!r}, envelope says {env.event_type!r}")
    cls = _message_class(env.event_type)
    if cls is None:
        return Event(env, None)
    payload = cls()
    env.payload.Unpack(payload)
    return Event(env, payload)
