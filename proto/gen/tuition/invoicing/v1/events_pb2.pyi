import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tuition.common.v1 import sealed_pb2 as _sealed_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SchoolRegistered(_message.Message):
    __slots__ = ("school_id", "code", "name", "district_code", "bank_bin", "account_number", "account_name", "ownership", "tax_code", "address")
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISTRICT_CODE_FIELD_NUMBER: _ClassVar[int]
    BANK_BIN_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NAME_FIELD_NUMBER: _ClassVar[int]
    OWNERSHIP_FIELD_NUMBER: _ClassVar[int]
    TAX_CODE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    school_id: str
    code: str
    name: str
    district_code: str
    bank_bin: str
    account_number: str
    account_name: str
    ownership: str
    tax_code: str
    address: str
    def __init__(self, school_id: _Optional[str] = ..., code: _Optional[str] = ..., name: _Optional[str] = ..., district_code: _Optional[str] = ..., bank_bin: _Optional[str] = ..., account_number: _Optional[str] = ..., account_name: _Optional[str] = ..., ownership: _Optional[str] = ..., tax_code: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class InvoiceLine(_message.Message):
    __slots__ = ("item_code", "name", "category", "quantity", "unit_amount", "list_amount", "reduction", "policy_category", "amount")
    ITEM_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    LIST_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REDUCTION_FIELD_NUMBER: _ClassVar[int]
    POLICY_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    item_code: str
    name: str
    category: str
    quantity: int
    unit_amount: int
    list_amount: int
    reduction: int
    policy_category: str
    amount: int
    def __init__(self, item_code: _Optional[str] = ..., name: _Optional[str] = ..., category: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_amount: _Optional[int] = ..., list_amount: _Optional[int] = ..., reduction: _Optional[int] = ..., policy_category: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class InvoiceIssued(_message.Message):
    __slots__ = ("invoice_id", "school_id", "district_code", "student_id", "student_code", "student_name", "guardian_name", "grade", "class_name", "period", "school_year", "payment_reference", "total", "due_date", "lines", "family_key", "virtual_account", "bank_bin", "account_number", "issued_at", "round_code", "sealed_names", "issued_by")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    DISTRICT_CODE_FIELD_NUMBER: _ClassVar[int]
    STUDENT_ID_FIELD_NUMBER: _ClassVar[int]
    STUDENT_CODE_FIELD_NUMBER: _ClassVar[int]
    STUDENT_NAME_FIELD_NUMBER: _ClassVar[int]
    GUARDIAN_NAME_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_YEAR_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    FAMILY_KEY_FIELD_NUMBER: _ClassVar[int]
    VIRTUAL_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    BANK_BIN_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    ROUND_CODE_FIELD_NUMBER: _ClassVar[int]
    SEALED_NAMES_FIELD_NUMBER: _ClassVar[int]
    ISSUED_BY_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    school_id: str
    district_code: str
    student_id: str
    student_code: str
    student_name: str
    guardian_name: str
    grade: str
    class_name: str
    period: str
    school_year: str
    payment_reference: str
    total: int
    due_date: str
    lines: _containers.RepeatedCompositeFieldContainer[InvoiceLine]
    family_key: str
    virtual_account: str
    bank_bin: str
    account_number: str
    issued_at: _timestamp_pb2.Timestamp
    round_code: str
    sealed_names: _sealed_pb2.Sealed
    issued_by: str
    def __init__(self, invoice_id: _Optional[str] = ..., school_id: _Optional[str] = ..., district_code: _Optional[str] = ..., student_id: _Optional[str] = ..., student_code: _Optional[str] = ..., student_name: _Optional[str] = ..., guardian_name: _Optional[str] = ..., grade: _Optional[str] = ..., class_name: _Optional[str] = ..., period: _Optional[str] = ..., school_year: _Optional[str] = ..., payment_reference: _Optional[str] = ..., total: _Optional[int] = ..., due_date: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[InvoiceLine, _Mapping]]] = ..., family_key: _Optional[str] = ..., virtual_account: _Optional[str] = ..., bank_bin: _Optional[str] = ..., account_number: _Optional[str] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., round_code: _Optional[str] = ..., sealed_names: _Optional[_Union[_sealed_pb2.Sealed, _Mapping]] = ..., issued_by: _Optional[str] = ...) -> None: ...

class InvoiceAdjusted(_message.Message):
    __slots__ = ("invoice_id", "school_id", "delta", "new_total", "reason", "adjusted_by")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    NEW_TOTAL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ADJUSTED_BY_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    school_id: str
    delta: int
    new_total: int
    reason: str
    adjusted_by: str
    def __init__(self, invoice_id: _Optional[str] = ..., school_id: _Optional[str] = ..., delta: _Optional[int] = ..., new_total: _Optional[int] = ..., reason: _Optional[str] = ..., adjusted_by: _Optional[str] = ...) -> None: ...

class InvoiceCancelled(_message.Message):
    __slots__ = ("invoice_id", "school_id", "reason", "cancelled_by")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_BY_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    school_id: str
    reason: str
    cancelled_by: str
    def __init__(self, invoice_id: _Optional[str] = ..., school_id: _Optional[str] = ..., reason: _Optional[str] = ..., cancelled_by: _Optional[str] = ...) -> None: ...

class InvoiceBalanceChanged(_message.Message):
    __slots__ = ("invoice_id", "school_id", "total", "amount_paid", "outstanding", "status", "previous_status", "payment_id")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PAID_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    school_id: str
    total: int
    amount_paid: int
    outstanding: int
    status: str
    previous_status: str
    payment_id: str
    def __init__(self, invoice_id: _Optional[str] = ..., school_id: _Optional[str] = ..., total: _Optional[int] = ..., amount_paid: _Optional[int] = ..., outstanding: _Optional[int] = ..., status: _Optional[str] = ..., previous_status: _Optional[str] = ..., payment_id: _Optional[str] = ...) -> None: ...

class PaymentGroupCreated(_message.Message):
    __slots__ = ("group_id", "school_id", "payment_reference", "invoice_ids", "total")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    INVOICE_IDS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    school_id: str
    payment_reference: str
    invoice_ids: _containers.RepeatedScalarFieldContainer[str]
    total: int
    def __init__(self, group_id: _Optional[str] = ..., school_id: _Optional[str] = ..., payment_reference: _Optional[str] = ..., invoice_ids: _Optional[_Iterable[str]] = ..., total: _Optional[int] = ...) -> None: ...

class RosterCounted(_message.Message):
    __slots__ = ("school_id", "students", "with_personal_id", "counted_at")
    SCHOOL_ID_FIELD_NUMBER: _ClassVar[int]
    STUDENTS_FIELD_NUMBER: _ClassVar[int]
    WITH_PERSONAL_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTED_AT_FIELD_NUMBER: _ClassVar[int]
    school_id: str
    students: int
    with_personal_id: int
    counted_at: _timestamp_pb2.Timestamp
    def __init__(self, school_id: _Optional[str] = ..., students: _Optional[int] = ..., with_personal_id: _Optional[int] = ..., counted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
