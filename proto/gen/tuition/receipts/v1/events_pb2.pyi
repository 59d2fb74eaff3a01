import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReceiptIssued(_message.Message):
    __slots__ = ("receipt_id", "school_id", "invoice_id", "payment_id", "form_code", "series_code", "number", "amount", "verification_code", "url", "issued_at", "replaces")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    FORM_CODE_FIELD_NUMBER: _ClassVar[int]
    SERIES_CODE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_CODE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLACES_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    school_id: str
    invoice_id: str
    payment_id: str
    form_code: str
    series_code: str
    number: int
    amount: int
    verification_code: str
    url: str
    issued_at: _timestamp_pb2.Timestamp
    replaces: str
    def __init__(self, receipt_id: _Optional[str] = ..., school_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., form_code: _Optional[str] = ..., series_code: _Optional[str] = ..., number: _Optional[int] = ..., amount: _Optional[int] = ..., verification_code: _Optional[str] = ..., url: _Optional[str] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replaces: _Optional[str] = ...) -> None: ...

class ReceiptCancelled(_message.Message):
    __slots__ = ("receipt_id", "school_id", "invoice_id", "reason", "replaced_by", "cancelled_by", "amount")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REPLACED_BY_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_BY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    school_id: str
    invoice_id: str
    reason: str
    replaced_by: str
    cancelled_by: str
    amount: int
    def __init__(self, receipt_id: _Optional[str] = ..., school_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., reason: _Optional[str] = ..., replaced_by: _Optional[str] = ..., cancelled_by: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class SeriesRunningLow(_message.Message):
    __slots__ = ("school_id", "form_code", "series_code", "numbers_left")
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    FORM_CODE_FIELD_NUMBER: _ClassVar[int]
    SERIES_CODE_FIELD_NUMBER: _ClassVar[int]
    NUMBERS_LEFT_FIELD_NUMBER: _ClassVar[int]
    school_id: str
    form_code: str
    series_code: str
    numbers_left: int
    def __init__(self, school_id: _Optional[str] = ..., form_code: _Optional[str] = ..., series_code: _Optional[str] = ..., numbers_left: _Optional[int] = ...) -> None: ...
