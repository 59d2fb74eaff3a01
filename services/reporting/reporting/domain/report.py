"""The periodic report a district office sends upward (monthly, quarterly, by school year or calendar year):
what it says, built from the district's figures. Pure; rendering is in `adapters/report_files`.

Sections: I. the plans' indicators against their targets; II. each school; III. each fee type. Every share
is shown with its numerator and denominator, so the reader can check it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reporting.domain.figures import Figures
from reporting.domain.scope import period_kind
from reporting.domain.targets import INDICATORS, SHORT_NAMES
from reporting.domain.views import DistrictTotals, DistrictView, SchoolFigures
from shared.formatting import FEE_CATEGORY_VI

ROMAN_QUARTER = {"1": "I", "2": "II", "3": "III", "4": "IV"}
# indicator → (numerator key, denominator key, value key) in the district's totals
MEASURED = {
    "collection": ("collected", "invoiced", "collection_rate_pct"),
    "cashless_amount": ("cashless", "collected", "cashless_share_pct"),
    "cashless_count": ("cashless_payments", "payments", "cashless_share_by_count_pct"),
    "schools_accepting": ("schools_accepting_cashless", "schools", "schools_accepting_pct"),
    "personal_id": ("students_with_personal_id", "students_enrolled", "personal_id_share_pct"),
}
SCHOOL_COLUMNS = (
    "STT",
    "Trường",
    "Phải thu (đồng)",
    "Đã thu (đồng)",
    "Tỷ lệ thu (%)",
    "Không dùng tiền mặt (đồng)",
    "KDTM theo số tiền (%)",
    "KDTM theo số giao dịch (%)",
    "Chấp nhận KDTM",
    "Có mã định danh (%)",
    "Chưa đạt mục tiêu",
)
INDICATOR_COLUMNS = ("Chỉ tiêu", "Tử số", "Mẫu số", "Kết quả (%)", "Mục tiêu (%)", "Đánh giá")
FEE_COLUMNS = (
    "Khoản thu",
    "Phải thu (đồng)",
    "Đã thu (đồng)",
    "Tỷ lệ thu (%)",
    "Không dùng tiền mặt (đồng)",
    "KDTM (%)",
)


@dataclass(frozen=True, kw_only=True)
class Signing:
    reporting_date: date
    signatory: str
    signatory_title: str
    prepared_by: str
    office: str
    place: str
    number: str = ""  # the document's number, e.g. "123/BC-PGDĐT"
    recipient: str = ""  # "Kính gửi": the office it goes to, e.g. "Sở Giáo dục và Đào tạo Hà Nội"

    @property
    def number_line(self) -> str:
        return f"Số: {self.number or '....../BC'}"


@dataclass(frozen=True, kw_only=True)
class Report:
    title: str
    period_label: str
    school_year: str
    signing: Signing
    indicators: list[tuple[object, ...]]
    schools: list[tuple[object, ...]]
    fee_types: list[tuple[object, ...]]
    plan_sources: list[str]


def period_label(period: str) -> str:
    """How the report names its period: "Tháng 9/2026", "Quý III/2026", "Năm học 2026-2027", "Năm 2026"."""
    kind = period_kind(period)
    if kind == "period":
        return f"Tháng {int(period[5:])}/{period[:4]}"
    if kind == "quarter":
        return f"Quý {ROMAN_QUARTER[period[-1]]}/{period[:4]}"
    return f"Năm học {period}" if kind == "school_year" else f"Năm {period}"


def _verdict(indicator: str, totals: DistrictTotals) -> str:
    den = MEASURED[indicator][1]
    if not getattr(totals, den):
        return "Chưa có số liệu"
    return "Chưa đạt" if indicator in totals.below_target else "Đạt"


def _indicator_rows(totals: DistrictTotals) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for indicator, (num, den, value) in MEASURED.items():
        name = INDICATORS[indicator][0]
        figures = (getattr(totals, num), getattr(totals, den), getattr(totals, value))
        rows.append((name, *figures, totals.targets[indicator], _verdict(indicator, totals)))
    return rows


def _school_rows(schools: list[SchoolFigures]) -> list[tuple[object, ...]]:
    return [
        (
            n,
            s.name,
            s.invoiced,
            s.collected,
            s.collection_rate_pct,
            s.cashless,
            s.cashless_share_pct,
            s.cashless_share_by_count_pct,
            "Có" if s.accepts_cashless else "Chưa",
            s.personal_id_share_pct,
            ", ".join(SHORT_NAMES.get(k, k) for k in s.below_target),
        )
        for n, s in enumerate(sorted(schools, key=lambda s: s.name), start=1)
    ]


def _fee_rows(fee_types: list[tuple[str, Figures]]) -> list[tuple[object, ...]]:
    return [
        (
            FEE_CATEGORY_VI.get(category, category),
            f.invoiced,
            f.collected,
            f.collection_rate_pct,
            f.cashless,
            f.cashless_share_pct,
        )
        for category, f in fee_types
    ]


def build_report(view: DistrictView, fee_types: list[tuple[str, Figures]], signing: Signing) -> Report:
    """The report of a district view (`app.queries.district_view`) and its figures per fee type."""
    label = period_label(view.period or "")  # a report is asked for a period (`app.reports`)
    return Report(
        title="BÁO CÁO KẾT QUẢ THU HỌC PHÍ VÀ CÁC KHOẢN THU KHÔNG DÙNG TIỀN MẶT",
        period_label=label,
        school_year=view.school_year,
        signing=signing,
        indicators=_indicator_rows(view.totals),
        schools=_school_rows(view.schools),
        fee_types=_fee_rows(fee_types),
        plan_sources=sorted({t.source for t in view.trajectory if t.school_year <= view.school_year}),
    )
