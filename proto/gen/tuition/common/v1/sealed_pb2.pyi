from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Names(_message.Message):
    __slots__ = ("student_name", "guardian_name", "payer_name")
    STUDENT_NAME_FIELD_NUMBER: _ClassVar[int]
    GUARDIAN_NAME_FIELD_NUMBER: _ClassVar[int]
    PAYER_NAME_FIELD_NUMBER: _ClassVar[int]
    student_name: str
    guardian_name: str
    payer_name: str
    def __init__(self, student_name: _Optional[str] = ..., guardian_name: _Optional[str] = ..., payer_name: _Optional[str] = ...) -> None: ...

class Sealed(_message.Message):
    __slots__ = ("key_id", "nonce", "ciphertext")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    nonce: bytes
    ciphertext: bytes
    def __init__(self, key_id: _Optional[str] = ..., nonce: _Optional[bytes] = ..., ciphertext: _Optional[bytes] = ...) -> None: ...
