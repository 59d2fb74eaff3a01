import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tuition.common.v1 import sealed_pb2 as _sealed_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    BANK_TRANSFER: _ClassVar[Channel]
    VIETQR: _ClassVar[Channel]
    CARD: _ClassVar[Channel]
    E_WALLET: _ClassVar[Channel]
    CASH: _ClassVar[Channel]
    OTHER: _ClassVar[Channel]
CHANNEL_UNSPECIFIED: Channel
BANK_TRANSFER: Channel
VIETQR: Channel
CARD: Channel
E_WALLET: Channel
CASH: Channel
OTHER: Channel

class PaymentMatched(_message.Message):
    __slots__ = ("payment_id", "credit_id", "invoice_id", "school_id", "amount", "channel", "bank_reference", "paid_at", "payer_name", "reason_code", "sealed_payer_name")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    BANK_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PAID_AT_FIELD_NUMBER: _ClassVar[int]
    PAYER_NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    SEALED_PAYER_NAME_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    credit_id: str
    invoice_id: str
    school_id: str
    amount: int
    channel: Channel
    bank_reference: str
    paid_at: _timestamp_pb2.Timestamp
    payer_name: str
    reason_code: str
    sealed_payer_name: _sealed_pb2.Sealed
    def __init__(self, payment_id: _Optional[str] = ..., credit_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., school_id: _Optional[str] = ..., amount: _Optional[int] = ..., channel: _Optional[_Union[Channel, str]] = ..., bank_reference: _Optional[str] = ..., paid_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payer_name: _Optional[str] = ..., reason_code: _Optional[str] = ..., sealed_payer_name: _Optional[_Union[_sealed_pb2.Sealed, _Mapping]] = ...) -> None: ...

class PaymentReversed(_message.Message):
    __slots__ = ("payment_id", "invoice_id", "school_id", "amount", "reason")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    invoice_id: str
    school_id: str
    amount: int
    reason: str
    def __init__(self, payment_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., school_id: _Optional[str] = ..., amount: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class CreditReceived(_message.Message):
    __slots__ = ("credit_id", "school_id", "amount", "channel", "source", "booked_at", "account_number", "recorded_by")
    CREDIT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    BOOKED_AT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    credit_id: str
    school_id: str
    amount: int
    channel: Channel
    source: str
    booked_at: _timestamp_pb2.Timestamp
    account_number: str
    recorded_by: str
    def __init__(self, credit_id: _Optional[str] = ..., school_id: _Optional[str] = ..., amount: _Optional[int] = ..., channel: _Optional[_Union[Channel, str]] = ..., source: _Optional[str] = ..., booked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., account_number: _Optional[str] = ..., recorded_by: _Optional[str] = ...) -> None: ...

class PaymentUnmatched(_message.Message):
    __slots__ = ("credit_id", "school_id", "state", "reason_code", "unallocated")
    CREDIT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    UNALLOCATED_FIELD_NUMBER: _ClassVar[int]
    credit_id: str
    school_id: str
    state: str
    reason_code: str
    unallocated: int
    def __init__(self, credit_id: _Optional[str] = ..., school_id: _Optional[str] = ..., state: _Optional[str] = ..., reason_code: _Optional[str] = ..., unallocated: _Optional[int] = ...) -> None: ...

class CreditActionTaken(_message.Message):
    __slots__ = ("action_id", "credit_id", "school_id", "kind", "amount", "actor", "reason", "undoes", "taken_at")
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNDOES_FIELD_NUMBER: _ClassVar[int]
    TAKEN_AT_FIELD_NUMBER: _ClassVar[int]
    action_id: str
    credit_id: str
    school_id: str
    kind: str
    amount: int
    actor: str
    reason: str
    undoes: str
    taken_at: _timestamp_pb2.Timestamp
    def __init__(self, action_id: _Optional[str] = ..., credit_id: _Optional[str] = ..., school_id: _Optional[str] = ..., kind: _Optional[str] = ..., amount: _Optional[int] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., undoes: _Optional[str] = ..., taken_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RefundRecorded(_message.Message):
    __slots__ = ("credit_id", "school_id", "amount", "bank_reference", "recorded_by")
    CREDIT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BANK_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    credit_id: str
    school_id: str
    amount: int
    bank_reference: str
    recorded_by: str
    def __init__(self, credit_id: _Optional[str] = ..., school_id: _Optional[str] = ..., amount: _Optional[int] = ..., bank_reference: _Optional[str] = ..., recorded_by: _Optional[str] = ...) -> None: ...
