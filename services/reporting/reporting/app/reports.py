"""The district's periodic report (XLSX, PDF) and the per-school indicators for the sector database."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from reporting.adapters import report_files
from reporting.app import queries
from reporting.domain.report import Signing, build_report
from reporting.domain.scope import Scope
from reporting.domain.views import DistrictTotals, SchoolFigures
from reporting.stores import figures_store
from shared.errors import Invalid

SECTOR_FORMAT = "tuition.sector-indicators"
SECTOR_VERSION = 1
# The CSV's columns, in order (version 1): one row per school, then the district's total (school_id empty).
_HEAD = ("district", "period", "school_year")
_SCHOOL = ("school_id", "name", "ownership")
_FIGURES = (
    "invoiced",
    "collected",
    "cashless",
    "cash",
    "payments",
    "cashless_payments",
    "collection_rate_pct",
    "cashless_share_pct",
    "cashless_share_by_count_pct",
)
_ACCEPTS = ("has_account", "accepts_cashless")
_IDS = ("students_enrolled", "students_with_personal_id", "personal_id_share_pct")
_DISTRICT = ("schools", "schools_accepting_cashless", "schools_accepting_pct")
# The CSV's columns, in order (version 1): one row per school, then the district's total (school_id empty).
SECTOR_COLUMNS = (*_HEAD, *_SCHOOL, *_FIGURES, *_ACCEPTS, *_IDS, "below_target")


@dataclass(frozen=True, kw_only=True)
class SectorIndicators:
    """The district's per-school indicators in the documented format (version 1)."""

    generated_at: datetime
    district: str
    period: str | None
    school_year: str
    schools: list[SchoolFigures]
    totals: DistrictTotals
    format: str = SECTOR_FORMAT
    version: int = SECTOR_VERSION


async def district_report(pool: asyncpg.Pool, scope: Scope, signing: Signing, fmt: str, today: date) -> bytes:
    if not scope.period:
        raise Invalid("Báo cáo được lập cho một kỳ: chọn một tháng, một quý, một năm học hoặc một năm.")
    view = await queries.district_view(pool, scope, today)
    fee_types = await figures_store.by_fee_type(pool, scope, today)  # sums only, not judged
    report = build_report(view, fee_types, signing)
    render = report_files.report_pdf if fmt == "pdf" else report_files.report_xlsx
    return await asyncio.to_thread(render, report)  # CPU work, bounded by the district's schools


async def sector_indicators(pool: asyncpg.Pool, scope: Scope, today: date, now: datetime) -> SectorIndicators:
    """The district's per-school indicators in the documented format (version 1)."""
    view = await queries.district_view(pool, scope, today)
    return SectorIndicators(
        generated_at=now,
        district=view.district,
        period=view.period,
        school_year=view.school_year,
        schools=sorted(view.schools, key=lambda r: r.school_id),
        totals=view.totals,
    )


def sector_rows(doc: SectorIndicators) -> list[list[object]]:
    """The CSV's rows: each school, then the district's total (no school: its name TOTAL)."""
    head: dict[str, object] = {"district": doc.district, "period": doc.period or "", "school_year": doc.school_year}
    total: dict[str, object] = {"school_id": "", "name": "TOTAL", "ownership": ""}
    rows = []
    for r, given in [*((s, head) for s in doc.schools), (doc.totals, head | total)]:
        cells = given | {"below_target": ";".join(r.below_target)}
        rows.append([cells[k] if k in cells else getattr(r, k, None) for k in SECTOR_COLUMNS])
    return rows
