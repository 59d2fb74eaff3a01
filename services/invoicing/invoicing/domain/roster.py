"""Roster rows: what a valid student record is, and what is wrong with an invalid one. Pure."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from shared.payref import fold_memo

# Province codes of the 12-digit personal identification number (mã định danh cá nhân; Circular
# 59/2021/TT-BCA): the first three digits, the 63 provinces' codes as issued (the 2025 merger of provinces
# does not change an ID already issued). The fourth digit encodes gender and century
# (0/1: male/female born 1900–1999, 2/3: 2000–2099, 4/5: 2100–2199); the fifth and sixth are the
# last two digits of the birth year.
PROVINCE_CODES = frozenset(
    f"{n:03d}"
    for n in (
        *(1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37, 38),
        *(40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80),
        *(82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96),
    )
)
_CENTURY_DIGIT = {
    (19, "male"): "0",
    (19, "female"): "1",
    (20, "male"): "2",
    (20, "female"): "3",
    (21, "male"): "4",
    (21, "female"): "5",
}
_GENDERS = {
    "nam": "male",
    "nu": "female",
    "nữ": "female",
    "male": "male",
    "female": "female",
    "m": "male",
    "f": "female",
}
_MOBILE_PREFIXES = ("03", "05", "07", "08", "09")


def fold(text: str) -> str:
    """Text as it is compared: no diacritics, lower case, single spaces ("Con hộ nghèo" → "con ho ngheo")."""
    return " ".join(fold_memo(text).lower().split())


@dataclass(frozen=True, kw_only=True)
class Student:
    student_code: str
    full_name: str
    date_of_birth: date
    gender: str | None
    grade: str
    class_name: str
    national_id: str
    guardian_name: str
    guardian_phone: str
    policy_categories: frozenset[str]
    virtual_account: str | None
    left: bool
    guardian_email: str = ""  # optional: invoices, receipts and reminders by email

    def family_key(self, secret: bytes) -> str:
        """Siblings share a guardian phone. The key travels in events instead of the phone: a keyed hash
        (HMAC-SHA256 with the deployment's pseudonym secret), since an unkeyed hash of a 10-digit phone
        number is reversed by trying every number, in minutes."""
        return hmac.new(secret, ("family:" + self.guardian_phone).encode(), hashlib.sha256).hexdigest()[:20]


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str


def normalise_phone(text: str) -> str | None:
    digits = re.sub(r"[\s.()-]", "", text)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if re.fullmatch(r"0\d{9}", digits) and digits[:2] in _MOBILE_PREFIXES:
        return digits
    return None


def parse_date(text: str) -> date | None:
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text.strip())
    if m:
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text.strip())
        if not m:
            return None
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _national_id_errors(nid: str, raw: str, dob: date | None, gender: str | None, gender_text: str) -> list[str]:
    """The 12-digit personal ID's structure: province, birth-year digits, gender/century digit."""
    if not re.fullmatch(r"\d{12}", nid):
        return [f"phải có đúng 12 chữ số, tệp ghi {raw!r}"]
    out = []
    if nid[:3] not in PROVINCE_CODES:
        out.append(f"mã tỉnh {nid[:3]} không phải mã của tỉnh nào (001 Hà Nội … 096 Cà Mau)")
    if dob is None:
        return out
    if nid[4:6] != f"{dob.year % 100:02d}":
        out.append(f"hai số năm sinh {nid[4:6]} không khớp ngày sinh {dob:%d/%m/%Y}")
    expected = _CENTURY_DIGIT.get((dob.year // 100, gender)) if gender is not None else None
    if expected is not None and nid[3] != expected:
        out.append(f"số giới tính/thế kỷ {nid[3]} không khớp {gender_text} sinh năm {dob.year} (phải là {expected})")
    return out


def _policy_categories(text: str, aliases: dict[str, str]) -> tuple[set[str], list[str]]:
    """Known categories, and the parts no alias names."""
    categories: set[str] = set()
    unknown: list[str] = []
    for part in re.split(r"[;,]", text):
        if not part.strip():
            continue
        category = aliases.get(fold(part))
        if category is None:
            unknown.append(part.strip())
        else:
            categories.add(category)
    return categories, unknown


def _guardian(values: dict[str, str], err: Callable[[str, str], None]) -> tuple[str, str | None]:
    """The guardian's name and normalised mobile number (None when it is not one)."""
    guardian = " ".join(values.get("guardian_name", "").split())
    if not guardian:
        err("Họ tên cha/mẹ", "đang để trống")
    phone = normalise_phone(values.get("guardian_phone", ""))
    if phone is None:
        err(
            "Số điện thoại",
            "phải là số di động Việt Nam (10 chữ số, đầu 03/05/07/08/09), tệp ghi "
            f"{values.get('guardian_phone', '')!r}",
        )
    return guardian, phone


def _virtual_account(text: str, err: Callable[[str, str], None]) -> str | None:
    virtual = text.replace(" ", "") or None
    if virtual is not None and not re.fullmatch(r"[0-9A-Za-z]{6,19}", virtual):
        err("Tài khoản ảo", f"phải gồm 6–19 chữ cái hoặc chữ số, tệp ghi {virtual!r}")
    return virtual


def _email(text: str, err: Callable[[str, str], None]) -> str:
    email = text.strip().lower()
    if email and not re.fullmatch(r"[^@\s]{1,64}@[^@\s]{1,190}\.[a-z]{2,24}", email):
        err("Email phụ huynh", f"không phải địa chỉ email, tệp ghi {email[:60]!r}")
    return email


def validate_row(
    line: int, values: dict[str, str], *, policy_aliases: dict[str, str], today: date
) -> tuple[Student | None, list[RowError]]:
    """A Student, or every error of the row (all of them at once, so the accountant fixes the file once)."""
    errors: list[RowError] = []

    def err(column: str, message: str) -> None:
        errors.append(RowError(line, column, message))

    code = values.get("student_code", "")
    if not re.fullmatch(r"[0-9A-Za-z]{3,20}", code):
        err("Mã học sinh", f"phải gồm 3–20 chữ cái hoặc chữ số, tệp ghi {code!r}")
    name = " ".join(values.get("full_name", "").split())
    if not name:
        err("Họ và tên", "đang để trống")
    dob = parse_date(values.get("date_of_birth", ""))
    if dob is None:
        err("Ngày sinh", f"phải là ngày dạng dd/mm/yyyy, tệp ghi {values.get('date_of_birth', '')!r}")
    elif not (today.year - 25 <= dob.year <= today.year - 1):
        err("Ngày sinh", f"{dob:%d/%m/%Y} không thể là ngày sinh của một học sinh")
    gender_text = values.get("gender", "")
    gender = _GENDERS.get(gender_text.strip().lower()) if gender_text else None
    if gender_text and gender is None:
        err("Giới tính", f"phải là Nam hoặc Nữ, tệp ghi {gender_text!r}")
    grade = values.get("grade", "").strip()
    if not grade:
        err("Khối", "đang để trống")
    class_name = values.get("class_name", "").strip()
    if not class_name:
        err("Lớp", "đang để trống")
    nid = values.get("national_id", "").replace(" ", "")
    # Optional: a pupil without one is imported and flagged (counted in the district's indicator).
    for message in _national_id_errors(nid, values.get("national_id", ""), dob, gender, gender_text) if nid else ():
        err("Mã định danh", message)
    guardian, phone = _guardian(values, err)
    categories, unknown = _policy_categories(values.get("policy", ""), policy_aliases)
    for part in unknown:
        err("Đối tượng miễn giảm", f"không có đối tượng miễn giảm {part!r} trong danh mục của trường")
    virtual = _virtual_account(values.get("virtual_account", ""), err)
    email = _email(values.get("guardian_email", ""), err)
    status = fold(values.get("status", ""))
    left = status in {"da nghi", "nghi hoc", "chuyen truong", "left", "da chuyen"}
    if errors:
        return None, errors
    assert dob is not None and phone is not None
    return Student(
        student_code=code,
        full_name=name,
        date_of_birth=dob,
        gender=gender,
        grade=grade,
        class_name=class_name,
        national_id=nid,
        guardian_name=guardian,
        guardian_phone=phone,
        policy_categories=frozenset(categories),
        virtual_account=virtual,
        left=left,
        guardian_email=email,
    ), []
