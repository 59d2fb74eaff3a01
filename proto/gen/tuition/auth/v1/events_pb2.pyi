from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class TokenRevoked(_message.Message):
    __slots__ = ("jti", "expires_at", "reason", "revoked_by")
    JTI_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REVOKED_BY_FIELD_NUMBER: _ClassVar[int]
    jti: str
    expires_at: int
    reason: str
    revoked_by: str
    def __init__(self, jti: _Optional[str] = ..., expires_at: _Optional[int] = ..., reason: _Optional[str] = ..., revoked_by: _Optional[str] = ...) -> None: ...
