from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Money(_message.Message):
    __slots__ = ("vnd",)
    VND_FIELD_NUMBER: _ClassVar[int]
    vnd: int
    def __init__(self, vnd: _Optional[int] = ...) -> None: ...
