"""A realistic district, seeded through the services' own APIs (as the district office and accountants would)."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.auth import mint_token
from simulator.people import pupil, roster_csv

DISTRICT = "HN-CAU-GIAY"


@dataclass(frozen=True)
class SchoolPlan:
    school_id: str
    name: str
    ownership: str
    level: str  # mam_non, tieu_hoc, thcs
    students: int
    bank_bin: str
    account: str
    provider: str  # the aggregator its bank credits come through: sepay or casso
    cashless: float  # share of parents paying by bank (the rest pays cash at the school)
    pays: float  # share of parents who pay during the demo
    fees: dict[str, dict[str, Any]] = field(default_factory=dict)


def _fix_years(level: str) -> list[tuple[str, str, int]]:
    # Birth years for school year 2026–27: grade 1 is born 2020, kindergarten 2021–2023.
    if level == "mam_non":
        return [("Mẫu giáo bé", "3C", 2023), ("Mẫu giáo nhỡ", "4B", 2022), ("Mẫu giáo lớn", "5A", 2021)]
    if level == "tieu_hoc":
        return [(f"Khối {g}", f"{g}A", 2021 - g) for g in range(1, 6)]
    return [(f"Khối {g}", f"{g}A", 2021 - g) for g in range(6, 10)]


MEALS = {"name": "Tiền ăn bán trú", "category": "meals", "cadence": "monthly", "per_day": True}
STATE_TUITION = {
    "name": "Học phí (Nhà nước chi trả)",
    "category": "tuition",
    "cadence": "monthly",
    "state_funded": True,
}

SCHOOLS = [
    SchoolPlan(
        "MN-HOA-SEN",
        "Trường Mầm non Hoa Sen",
        "public",
        "mam_non",
        180,
        "970436",
        "0011001234567",
        "sepay",
        0.92,
        0.9,
        {
            "HOCPHI": STATE_TUITION | {"rates": [{"amount": 300_000}]},
            "BANTRU": MEALS | {"rates": [{"amount": 30_000}]},
            "CHAMSOC": {
                "name": "Chăm sóc bán trú",
                "category": "services",
                "cadence": "monthly",
                "rates": [{"amount": 150_000}],
            },
        },
    ),
    SchoolPlan(
        "TH-NGHIA-TAN",
        "Trường Tiểu học Nghĩa Tân",
        "public",
        "tieu_hoc",
        400,
        "970415",
        "112000345678",
        "casso",
        0.96,
        0.88,
        {
            "HOCPHI": STATE_TUITION | {"rates": [{"amount": 0}]},
            "BANTRU": MEALS | {"rates": [{"amount": 35_000}]},
            "DICHVU": {
                "name": "Dịch vụ bán trú",
                "category": "services",
                "cadence": "monthly",
                "rates": [{"amount": 200_000}],
            },
            "TIENGANH": {
                "name": "Tiếng Anh tăng cường",
                "category": "extra_classes",
                "cadence": "monthly",
                "rates": [{"amount": 150_000, "grade": f"Khối {g}"} for g in (3, 4, 5)],
            },
        },
    ),
    SchoolPlan(
        "THCS-CAU-GIAY",
        "Trường THCS Cầu Giấy",
        "public",
        "thcs",
        320,
        "970418",
        "21510000123456",
        "sepay",
        0.85,
        0.8,
        {
            "HOCPHI": STATE_TUITION | {"rates": [{"amount": 0}]},
            "BANTRU": MEALS | {"rates": [{"amount": 35_000}]},
            "CLB": {
                "name": "Câu lạc bộ ngoại khóa",
                "category": "extra_classes",
                "cadence": "monthly",
                "rates": [{"amount": 100_000}],
            },
        },
    ),
    SchoolPlan(
        "TH-NGOI-SAO",
        "Trường Tiểu học Ngôi Sao (tư thục)",
        "private",
        "tieu_hoc",
        150,
        "970407",
        "19036688990011",
        "casso",
        0.99,
        0.95,
        {
            "HOCPHI": {
                "name": "Học phí",
                "category": "tuition",
                "cadence": "monthly",
                "rates": [{"amount": 4_500_000}],
            },
            "BANTRU": MEALS | {"rates": [{"amount": 45_000}]},
        },
    ),
    SchoolPlan(
        "MN-BINH-MINH",
        "Trường Mầm non Bình Minh",
        "public",
        "mam_non",
        70,
        "970405",
        "1507205123456",
        "sepay",
        0.45,
        0.8,
        {"HOCPHI": STATE_TUITION | {"rates": [{"amount": 250_000}]}, "BANTRU": MEALS | {"rates": [{"amount": 28_000}]}},
    ),
]
# Pupils imported without a personal ID yet (one in N): the district's indicator is below its 99% there.
MISSING_ID_EVERY = {"MN-BINH-MINH": 14, "THCS-CAU-GIAY": 40}
# The district's plan: its own words, its own dates (the dashboard judges each figure against these).
PLAN = [
    {
        "indicator": "cashless_amount",
        "school_year": "2023-2024",
        "target_pct": 85,
        "source": "Kế hoạch 45/KH-UBND năm 2023 của UBND quận, mục II.2: 85% số tiền thu không dùng tiền mặt",
    },
    {
        "indicator": "cashless_amount",
        "school_year": "2029-2030",
        "target_pct": 100,
        "source": "Kế hoạch 45/KH-UBND năm 2023, lộ trình: 100% đến năm 2030",
    },
    {
        "indicator": "collection",
        "school_year": "2023-2024",
        "target_pct": 80,
        "source": "Kế hoạch 45/KH-UBND năm 2023, mục II.1",
    },
    {
        "indicator": "schools_accepting",
        "school_year": "2023-2024",
        "target_pct": 100,
        "source": "Kế hoạch 45/KH-UBND năm 2023, mục II.1: 100% trường chấp nhận thanh toán không dùng tiền mặt",
    },
    {
        "indicator": "personal_id",
        "school_year": "2023-2024",
        "target_pct": 99,
        "source": "Kế hoạch chuyển đổi số ngành giáo dục: 99% học sinh có mã định danh trên CSDL ngành",
    },
]
SCHOOL_POLICIES = [("HO_NGHEO", 100), ("DTTS_VUNG_KHO_KHAN", 70), ("HO_CAN_NGHEO", 50)]
WEBHOOK_SECRETS = {"sepay": ("apikey", "demo-sepay-api-key-0001"), "casso": ("hmac", "demo-casso-checksum-key-0001")}


@dataclass
class Urls:
    invoicing: str = "http://127.0.0.1:8101"
    reconciliation: str = "http://127.0.0.1:8102"
    receipts: str = "http://127.0.0.1:8103"
    reporting: str = "http://127.0.0.1:8104"


def tokens(secret: str) -> dict[str, str]:
    out = {
        "service": mint_token(secret, role="service", subject="demo-seeder", ttl_seconds=86400),
        "district": mint_token(secret, role="district", district=DISTRICT, subject="phong-gd", ttl_seconds=86400),
    }
    for s in SCHOOLS:
        out[s.school_id] = mint_token(
            secret, role="accountant", school=s.school_id, subject=f"ke-toan-{s.school_id}", ttl_seconds=86400
        )
    return out


def _check(r: httpx.Response, what: str) -> httpx.Response:
    if r.status_code >= 400:
        raise RuntimeError(f"{what}: {r.status_code} {r.text[:500]}")
    return r


async def seed(urls: Urls, secret: str, period: str, school_days: int, *, seed_value: int = 2026) -> None:
    tok = tokens(secret)
    rng = random.Random(seed_value)
    async with httpx.AsyncClient(timeout=120) as http:
        svc = {"Authorization": f"Bearer {tok['service']}"}
        for s in SCHOOLS:
            acc = {"Authorization": f"Bearer {tok[s.school_id]}"}
            _check(
                await http.put(
                    f"{urls.invoicing}/schools/{s.school_id}",
                    headers=svc,
                    json={
                        "name": s.name,
                        "district_code": DISTRICT,
                        "ownership": s.ownership,
                        "bank_bin": s.bank_bin,
                        "account_number": s.account,
                        "account_name": s.name.upper().replace("TRƯỜNG", "TRUONG"),
                        "tax_code": f"01{rng.randrange(10**8):08d}",
                        "address": "Quận Cầu Giấy, Hà Nội",
                    },
                ),
                "school",
            )
            pupils = []
            levels = _fix_years(s.level)
            per_class = 30
            for i in range(s.students):
                grade, prefix, year = levels[i % len(levels)]
                cls = f"{prefix}{1 + (i // len(levels)) // per_class}"
                p = pupil(rng, f"{s.school_id[:2]}{26}{i:05d}", year)
                if s.school_id in MISSING_ID_EVERY and i % MISSING_ID_EVERY[s.school_id] == 0:
                    p = dataclasses.replace(p, national_id="")  # not yet in the sector database
                pupils.append((p, grade, cls))
            _check(
                await http.post(
                    f"{urls.invoicing}/schools/{s.school_id}/roster",
                    params={"mode": "apply"},
                    headers=acc,
                    files={"file": ("danh-sach.csv", roster_csv(pupils, emails=True), "text/csv")},
                ),
                "roster",
            )
            for code, body in s.fees.items():
                _check(
                    await http.put(f"{urls.invoicing}/schools/{s.school_id}/fee-items/{code}", headers=acc, json=body),
                    "fee item",
                )
            existing = (await http.get(f"{urls.invoicing}/policies", headers=acc)).json()["policies"]
            for category, value in SCHOOL_POLICIES:
                if not any(p["school_id"] == s.school_id and p["category"] == category for p in existing):
                    _check(
                        await http.post(
                            f"{urls.invoicing}/schools/{s.school_id}/policies",
                            headers=acc,
                            json={
                                "category": category,
                                "fee_category": "meals",
                                "kind": "percent",
                                "value": value,
                                "effective_from": "2025-09-01",
                            },
                        ),
                        "policy",
                    )
            _check(
                await http.put(
                    f"{urls.invoicing}/schools/{s.school_id}/calendar/{period}",
                    headers=acc,
                    json={"school_days": school_days},
                ),
                "calendar",
            )
            _check(
                await http.post(
                    f"{urls.invoicing}/schools/{s.school_id}/periods/{period}/invoices", headers=acc, json={}
                ),
                "issue",
            )
        _check(
            await http.put(
                f"{urls.reporting}/api/districts/{DISTRICT}/targets",
                headers={"Authorization": f"Bearer {tok['district']}"},
                json={"targets": PLAN},
            ),
            "the district's plan",
        )
        # How each school's aggregator signs the webhooks of its bank credits.
        for s in SCHOOLS:
            scheme, secret_key = WEBHOOK_SECRETS[s.provider]
            acc = {"Authorization": f"Bearer {tok[s.school_id]}"}
            _check(
                await http.put(
                    f"{urls.reconciliation}/schools/{s.school_id}/webhooks/{s.provider}",
                    headers=acc,
                    json={"scheme": scheme, "secret": secret_key},
                ),
                "webhook config",
            )
