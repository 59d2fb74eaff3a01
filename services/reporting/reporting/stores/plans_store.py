"""The district plans' targets: read for a district, and set (a new dated row per change of plan)."""

from __future__ import annotations

from reporting.domain.targets import Target
from shared.db import Executor


async def targets_of(db: Executor, district: str) -> list[Target]:
    rows = await db.fetch(
        "SELECT indicator, school_year, target_bp, source, school_id FROM targets WHERE district_code = $1",
        district,
    )
    return [Target(**dict(r)) for r in rows]


async def set_targets(db: Executor, district: str, targets: list[Target], *, set_by: str) -> None:
    """Set each target; one already set for the same district, school, indicator and school year is replaced."""
    await db.executemany(
        "INSERT INTO targets (district_code, school_id, indicator, school_year, target_bp, source, set_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (district_code, school_id, indicator, school_year) "
        "DO UPDATE SET target_bp = $5, source = $6, set_by = $7, set_at = now()",
        [(district, t.school_id, t.indicator, t.school_year, t.target_bp, t.source, set_by) for t in targets],
    )
