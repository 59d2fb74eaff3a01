import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PupilKeyIssued(_message.Message):
    __slots__ = ("student_id", "school_id", "key_id", "key", "issued_at")
    STUDENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    student_id: str
    school_id: str
    key_id: str
    key: bytes
    issued_at: _timestamp_pb2.Timestamp
    def __init__(self, student_id: _Optional[str] = ..., school_id: _Optional[str] = ..., key_id: _Optional[str] = ..., key: _Optional[bytes] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PupilKeyDestroyed(_message.Message):
    __slots__ = ("student_id", "school_id", "key_id", "destroyed_at")
    STUDENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    DESTROYED_AT_FIELD_NUMBER: _ClassVar[int]
    student_id: str
    school_id: str
    key_id: str
    destroyed_at: _timestamp_pb2.Timestamp
    def __init__(self, student_id: _Optional[str] = ..., school_id: _Optional[str] = ..., key_id: _Optional[str] = ..., destroyed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
