"""A school as it registers: who it is, whose it is, and the account its parents pay into. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class SchoolDetails:
    """What a school registers with (and the row keeps, with its code and when it came)."""

    school_id: str
    name: str
    district_code: str
    ownership: str  # public | private
    bank_bin: str
    account_number: str
    account_name: str
    tax_code: str = ""
    address: str = ""
