"""A new school year for a school: preview the moves (domain/school_year.py), then apply them once.

Balances carry over by staying where they are: an invoice of the year that ends stays open, owed and payable
by its QR after the move (graduates' too), and a family's credit balance, held by reconciliation, is not
touched. The preview says how much is carried, by whom.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import asyncpg

from invoicing.app.roster import count_roster
from invoicing.app.schools import get_school
from invoicing.domain import school_year as sy
from invoicing.stores import roster_store, schools_store
from invoicing.stores.roster_store import YearDone
from shared.db import Executor
from shared.errors import Conflict, Invalid
from shared.events.outbox import Outbox
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class RollOver:
    school_id: str
    to_year: str
    last_grade: int
    repeaters: frozenset[str]
    by: str
    confirm: str | None = None  # the preview's `plan`


@dataclass(frozen=True, kw_only=True)
class Carried:
    """What stays owed across the year's turn."""

    pupils_owing: int
    outstanding: int
    graduates_owing: int
    graduates_outstanding: int


@dataclass(frozen=True, kw_only=True)
class Summary:
    """What rolling the school year over does (kept with the year once applied)."""

    from_year: str
    to_year: str
    last_grade: int
    promoted: int
    graduated: int
    repeated: int
    by_class: list[dict[str, object]]
    unreadable: list[dict[str, object]]
    carried: Carried
    plan: str


@dataclass(frozen=True, kw_only=True)
class RolledOver(Summary):
    """The summary, applied or previewed, and the roll-over already done from the same year, if any."""

    applied: bool
    already_done: YearDone | None


async def _plan(db: Executor, cmd: RollOver) -> tuple[str, sy.Plan, Summary]:
    try:
        from_year = sy.previous_year(cmd.to_year)
    except sy.SchoolYearError as exc:
        raise Invalid(str(exc)) from exc
    await get_school(db, cmd.school_id)
    pupils = [
        sy.Pupil(
            student_id=r.student_id,
            student_code=r.student_code,
            grade=r.grade,
            class_name=r.class_name,
            outstanding=int(r.outstanding),
        )
        for r in await roster_store.enrolled_with_balances(db, cmd.school_id)
    ]
    known = {p.student_code for p in pupils}
    unknown = sorted(cmd.repeaters - known)
    if unknown:
        raise Invalid(f"Không có học sinh đang học nào mang mã: {', '.join(unknown[:20])}.")
    plan = sy.plan(pupils, last_grade=cmd.last_grade, repeaters=set(cmd.repeaters))
    c = plan.counts
    graduates = [m for m in plan.moves if m.outcome == "graduated"]
    summary = Summary(
        from_year=from_year,
        to_year=cmd.to_year,
        last_grade=cmd.last_grade,
        promoted=c["promoted"],
        graduated=c["graduated"],
        repeated=c["repeated"],
        by_class=plan.by_class(),
        unreadable=[{"class_name": k, "pupils": v} for k, v in sorted(plan.unreadable.items())],
        carried=Carried(
            pupils_owing=sum(1 for m in plan.moves if m.outstanding > 0),
            outstanding=sum(m.outstanding for m in plan.moves),
            graduates_owing=sum(1 for m in graduates if m.outstanding > 0),
            graduates_outstanding=sum(m.outstanding for m in graduates),
        ),
        plan=plan.fingerprint,
    )
    return from_year, plan, summary


async def preview(pool: asyncpg.Pool, cmd: RollOver) -> RolledOver:
    from_year, _, summary = await _plan(pool, cmd)
    done = await roster_store.year_done(pool, cmd.school_id, from_year)
    return RolledOver(**vars(summary), applied=False, already_done=done)


async def apply(pool: asyncpg.Pool, outbox: Outbox, cmd: RollOver) -> RolledOver:
    async with pool.acquire() as conn, conn.transaction():
        # One roll-over of a school at a time; the year's row refuses a second one.
        await schools_store.get_for_update(conn, cmd.school_id)
        from_year, plan, summary = await _plan(conn, cmd)
        done = await roster_store.year_done(conn, cmd.school_id, from_year)
        if done is not None:
            raise Conflict(
                f"Năm học {from_year} đã được chuyển sang {done.to_year} lúc "
                f"{done.done_at:%d/%m/%Y} ({done.done_by}): không chuyển lần nữa."
            )
        if plan.unreadable:
            names = ", ".join(sorted(plan.unreadable))
            raise Invalid(
                f"Không đọc được khối của các lớp: {names}. Sửa tên lớp hoặc khối trong danh sách học sinh "
                "(tên lớp bắt đầu bằng số khối, ví dụ 3A), rồi xem trước lại."
            )
        if cmd.confirm != plan.fingerprint:
            raise Conflict(
                f"Danh sách đã thay đổi từ lúc xem trước (bây giờ: {plan.fingerprint}): xem trước lại rồi xác nhận."
            )
        await roster_store.roll_over(
            conn,
            school_id=cmd.school_id,
            from_year=from_year,
            to_year=cmd.to_year,
            moves=[(m.student_id, m.grade, m.class_name, m.outcome, m.new_grade, m.new_class) for m in plan.moves],
            summary=asdict(summary),
            by=cmd.by,
        )
        await count_roster(conn, outbox, cmd.school_id)
    log.info(
        "invoicing.school_year.rolled_over",
        school_id=cmd.school_id,
        to_year=cmd.to_year,
        promoted=summary.promoted,
        graduated=summary.graduated,
        repeated=summary.repeated,
    )
    return RolledOver(**vars(summary), applied=True, already_done=None)
