from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class SchoolRegistered(_message.Message):
    __slots__ = ("school_id", "code", "name", "district_code", "bank_bin", "account_number", "account_name", "ownership")
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISTRICT_CODE_FIELD_NUMBER: _ClassVar[int]
    BANK_BIN_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NAME_FIELD_NUMBER: _ClassVar[int]
    OWNERSHIP_FIELD_NUMBER: _ClassVar[int]
    school_id: str
    code: str
    name: str
    district_code: str
    bank_bin: str
    account_number: str
    account_name: str
    ownership: str
    def __init__(self, school_id: _Optional[str] = ..., code: _Optional[str] = ..., name: _Optional[str] = ..., district_code: _Optional[str] = ..., bank_bin: _Optional[str] = ..., account_number: _Optional[str] = ..., account_name: _Optional[str] = ..., ownership: _Optional[str] = ...) -> None: ...
