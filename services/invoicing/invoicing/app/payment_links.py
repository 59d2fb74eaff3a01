"""Parents' payment links: each ends at a date the school sets (120 days after it was issued unless it set
another, per billing period), and the school replaces one that went astray. A link that no longer opens
says why and what to do, in Vietnamese, without showing anything of the invoice."""

from __future__ import annotations

import secrets
import uuid
from datetime import date

import asyncpg

from invoicing.stores import invoices_store
from shared.errors import DomainError, Invalid, NotFound
from shared.formatting import local_date
from shared.logging import get_logger

log = get_logger(__name__)


class LinkEnded(DomainError):
    """A link that opened once and no longer does (ended, or replaced by the school)."""

    status = 410

    def __init__(self, message: str, *, school_name: str) -> None:
        super().__init__(message)
        self.school_name = school_name


async def why_not(pool: asyncpg.Pool, token: str) -> DomainError:
    """The error for a link that does not open: ended or replaced (410, saying what to do), or unknown (404)."""
    state = await invoices_store.link_state(pool, token)
    if state is None:
        return NotFound("Liên kết thanh toán này không tồn tại. Vui lòng kiểm tra lại liên kết nhà trường gửi.")
    school = state.school_name
    if state.retired_at is not None:
        return LinkEnded(
            f"Liên kết này đã được {school} thay bằng liên kết mới. Vui lòng dùng liên kết mới nhất nhà trường "
            "gửi, hoặc liên hệ kế toán nhà trường.",
            school_name=school,
        )
    return LinkEnded(
        f"Liên kết thanh toán này đã hết hạn ngày {local_date(state.expires_on)}. Vui lòng liên hệ kế toán "
        f"{school} để nhận liên kết mới.",
        school_name=school,
    )


async def replace(pool: asyncpg.Pool, *, school_id: str, invoice_id: uuid.UUID, by: str, public_url: str) -> str:
    """A new link for the invoice (and for the family groups that hold it); the old ones say they were replaced."""
    token = secrets.token_urlsafe(18)
    async with pool.acquire() as conn, conn.transaction():
        if not await invoices_store.replace_link(conn, school_id, invoice_id, token, by):
            raise NotFound(f"Không có hóa đơn {invoice_id} ở trường {school_id}.")
    log.info("invoicing.payment_link.replaced", school_id=school_id, invoice_id=str(invoice_id))
    return f"{public_url.rstrip('/')}/pay/{token}"


async def set_period_end(pool: asyncpg.Pool, *, school_id: str, period: str, expires_on: date, today: date) -> int:
    """Every link of the period's invoices ends on `expires_on` (inclusive). Returns how many invoices."""
    if expires_on < today:
        raise Invalid(f"ngày hết hạn {local_date(expires_on)} đã qua")
    count = await invoices_store.set_period_link_end(pool, school_id, period, expires_on)
    log.info("invoicing.payment_links.end_set", school_id=school_id, period=period, invoices=count)
    return count
