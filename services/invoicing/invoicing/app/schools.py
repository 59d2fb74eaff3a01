"""Schools and their collection account."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from invoicing.domain.banks import BankAccountError, validate_account
from invoicing.domain.schools import SchoolDetails
from invoicing.stores import schools_store
from invoicing.stores.schools_store import School
from shared.db import Executor
from shared.errors import Forbidden, Invalid, NotFound
from shared.events.outbox import Outbox
from shared.events.topics import Topic
from shared.logging import get_logger
from tuition.invoicing.v1.events_pb2 import SchoolRegistered

log = get_logger(__name__)


# The command to register (or update) a school: its details as given.
RegisterSchool = SchoolDetails


@dataclass(frozen=True)
class Actor:
    """Who registers: a district office (only its own district's schools) or a service of the suite."""

    subject: str
    district: str | None = None


# What parents' money follows: a change of any of these is recorded in school_changes.
AUDITED = ("district_code", "bank_bin", "account_number", "account_name")


async def register_school(pool: asyncpg.Pool, outbox: Outbox, cmd: RegisterSchool, actor: Actor) -> School:
    """Create or update a school; an event only when something changed."""
    if actor.district is not None and cmd.district_code != actor.district:
        raise Forbidden(f"Tài khoản của {actor.district} không đăng ký được trường của {cmd.district_code}.")
    try:
        bin_, account, holder = validate_account(cmd.bank_bin, cmd.account_number, cmd.account_name)
    except BankAccountError as exc:
        raise Invalid(str(exc)) from exc
    if cmd.ownership not in ("public", "private"):
        raise Invalid(
            f"Loại hình trường phải là công lập (public) hoặc tư thục (private), nhận được {cmd.ownership!r}."
        )
    row = (
        cmd.school_id,
        cmd.school_id,
        cmd.name.strip(),
        cmd.district_code,
        cmd.ownership,
        bin_,
        account,
        holder,
        cmd.tax_code,
        cmd.address,
    )
    async with pool.acquire() as conn, conn.transaction():
        before = await schools_store.get_for_update(conn, cmd.school_id)
        if before is None and actor.district is not None and not cmd.school_id.startswith(f"{actor.district}."):
            # School ids are namespaced by district: a district creates its schools as "<district>.<code>", so
            # no district can take another's school id first and lock it out. The operator registers any id.
            raise Forbidden(
                f"Mã trường mới của phòng phải có dạng {actor.district}.<mã> "
                f"(ví dụ {actor.district}.{cmd.school_id}): mã trường được đặt theo phòng."
            )
        if before is not None and actor.district is not None and before.district_code != actor.district:
            raise Forbidden(f"Trường {cmd.school_id} thuộc phòng khác; {actor.district} không thay đổi được.")
        if await schools_store.upsert_if_changed(conn, row):
            if before is not None:
                after = dict(zip(AUDITED, (cmd.district_code, bin_, account, holder), strict=True))
                await _audit_account_change(conn, before, after, actor)
            event = SchoolRegistered(
                school_id=cmd.school_id,
                code=cmd.school_id,
                name=row[2],
                district_code=cmd.district_code,
                bank_bin=bin_,
                account_number=account,
                account_name=holder,
                ownership=cmd.ownership,
                tax_code=cmd.tax_code,
                address=cmd.address,
            )
            await outbox.add(conn, Topic.INVOICING, event, aggregate_id=cmd.school_id, school_id=cmd.school_id)
    return await get_school(pool, cmd.school_id)


async def _audit_account_change(conn: asyncpg.Connection, before: School, after: dict[str, str], actor: Actor) -> None:
    old = {k: str(getattr(before, k)) for k in AUDITED}
    if old == after:
        return
    await schools_store.record_change(conn, before.school_id, by=actor.subject, before=old, after=after)
    log.warning("invoicing.school.account_changed", school_id=before.school_id, changed_by=actor.subject)


async def school_changes(pool: asyncpg.Pool, school_id: str) -> list[dict[str, object]]:
    return await schools_store.changes(pool, school_id)


async def get_school(db: Executor, school_id: str) -> School:
    row = await schools_store.get(db, school_id)
    if row is None:
        raise NotFound(f"Không có trường {school_id!r}.")
    return row
