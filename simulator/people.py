"""Vietnamese pupils and guardians that pass the roster's checks (names, 12-digit IDs, mobile numbers)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Trịnh",
    "Mai",
    "Cao",
]
MIDDLE_M = ["Văn", "Đức", "Minh", "Gia", "Quang", "Hoàng", "Anh", "Bảo", "Thành", "Hữu"]
MIDDLE_F = ["Thị", "Ngọc", "Thu", "Minh", "Bảo", "Khánh", "Thảo", "Hà", "Phương", "Diệu"]
GIVEN_M = [
    "An",
    "Bình",
    "Dũng",
    "Huy",
    "Khôi",
    "Long",
    "Minh",
    "Nam",
    "Phúc",
    "Quân",
    "Tuấn",
    "Việt",
    "Khoa",
    "Đạt",
    "Hiếu",
    "Trường",
    "Sơn",
    "Kiên",
]
GIVEN_F = [
    "Anh",
    "Chi",
    "Hà",
    "Hương",
    "Linh",
    "Mai",
    "Ngọc",
    "Nhi",
    "Thảo",
    "Trang",
    "Vy",
    "Yến",
    "Hân",
    "My",
    "Ngân",
    "Quyên",
    "Uyên",
    "Lan",
]
POLICIES = ["Con hộ nghèo", "Con hộ cận nghèo", "Mồ côi cả cha lẫn mẹ", "Con thương binh", "Khuyết tật"]
PROVINCE = "001"  # Hà Nội


@dataclass(frozen=True)
class Pupil:
    code: str
    name: str
    birth: date
    gender: str
    national_id: str
    guardian: str
    phone: str
    policy: str

    @property
    def email(self) -> str:
        """Some guardians give an email address: those whose number ends in 7 (the demo's mail page)."""
        return f"phuhuynh.{self.code.lower()}@example.vn" if self.phone.endswith("7") else ""


def pupil(rng: random.Random, code: str, birth_year: int) -> Pupil:
    male = rng.random() < 0.5
    surname = rng.choice(SURNAMES)
    name = f"{surname} {rng.choice(MIDDLE_M if male else MIDDLE_F)} {rng.choice(GIVEN_M if male else GIVEN_F)}"
    birth = date(birth_year, 1, 1) + timedelta(days=rng.randrange(365))
    century = {(20, True): "2", (20, False): "3", (19, True): "0", (19, False): "1"}[(birth_year // 100, male)]
    nid = f"{PROVINCE}{century}{birth_year % 100:02d}{rng.randrange(10**6):06d}"
    guardian = (
        f"{surname} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"
        if rng.random() < 0.5
        else f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"
    )
    phone = rng.choice(["09", "03", "08", "07"]) + f"{rng.randrange(10**8):08d}"
    policy = rng.choice(POLICIES) if rng.random() < 0.05 else ""
    return Pupil(code, name, birth, "Nam" if male else "Nữ", nid, guardian, phone, policy)


def roster_csv(pupils: list[tuple[Pupil, str, str]], *, emails: bool = False) -> bytes:
    """(pupil, grade, class) rows in the layout school software exports (UTF-8 with BOM); with `emails`, the
    guardians' email column too."""
    lines = [
        "STT,Mã học sinh,Họ và tên,Ngày sinh,Giới tính,Khối,Lớp,Mã định danh,Họ tên cha/mẹ,Số điện thoại,"
        "Đối tượng miễn giảm" + (",Email phụ huynh" if emails else "")
    ]
    for n, (p, grade, cls) in enumerate(pupils, start=1):
        lines.append(
            f"{n},{p.code},{p.name},{p.birth:%d/%m/%Y},{p.gender},{grade},{cls},{p.national_id},{p.guardian},"
            f"{p.phone},{p.policy}" + (f",{p.email}" if emails else "")
        )
    return ("\ufeff" + "\n".join(lines) + "\n").encode()
