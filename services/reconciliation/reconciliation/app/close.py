"""Daily close: per school and account, credits received = matched + in exceptions + refunded + ignored + held.

Each side is summed from its own records (allocations, the credits' refund/ignore amounts, the credits
left in exception states), so a credit whose books do not add up shows as a difference, to the đồng. Once
the day's statement has come, the bank confirms the webhooks: a webhook credit the statement does not
contain (forged, or failed at the bank) keeps the day from balancing; statement credits no webhook
announced are counted beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Protocol

import asyncpg

from reconciliation.app.confirmations import confirm
from reconciliation.stores import (
    approvals_store,
    confirmations_store,
    credits_store,
    reversals_store,
    schools_store,
    statements_store,
)
from reconciliation.stores.approvals_store import Approval
from reconciliation.stores.confirmations_store import DayCredit
from reconciliation.stores.credits_store import DayTotals
from shared.db import Executor
from shared.errors import Conflict


class CloseBooks(Protocol):
    """What the daily close reads, each side from its own records. `PgCloseBooks` reads the service's
    database; a test may hold them in memory (the close's rules then run without PostgreSQL)."""

    async def day_totals(self, school_id: str, day: date) -> list[DayTotals]: ...

    async def closing_balances(self, school_id: str, day: date) -> dict[str, int]: ...

    async def open_reversals(self, school_id: str, day: date) -> dict[str, int]: ...

    async def day_credits(self, school_id: str, day: date) -> list[DayCredit]: ...

    async def accounts_with_statement(self, school_id: str, day: date) -> set[str]: ...

    async def latest_approval(self, school_id: str, day: date) -> Approval | None: ...


@dataclass(frozen=True)
class PgCloseBooks:
    """The close's books in the service's database (a pool, or the connection of a transaction)."""

    db: Executor

    async def day_totals(self, school_id: str, day: date) -> list[DayTotals]:
        return await credits_store.day_totals(self.db, school_id, day)

    async def closing_balances(self, school_id: str, day: date) -> dict[str, int]:
        return await statements_store.closing_balances(self.db, school_id, day)

    async def open_reversals(self, school_id: str, day: date) -> dict[str, int]:
        return await reversals_store.open_on(self.db, school_id, day)

    async def day_credits(self, school_id: str, day: date) -> list[DayCredit]:
        return await confirmations_store.day_credits(self.db, school_id, day)

    async def accounts_with_statement(self, school_id: str, day: date) -> set[str]:
        return await confirmations_store.accounts_with_statement(self.db, school_id, day)

    async def latest_approval(self, school_id: str, day: date) -> Approval | None:
        return await approvals_store.latest(self.db, school_id, day)


@dataclass(frozen=True, kw_only=True)
class AccountClose(DayTotals):
    """One account's close: its sums, the statement's word on them, and whether they balance."""

    statement_closing_balance: int | None
    open_reversals: int
    statement_received: bool
    unconfirmed_by_bank: int
    unconfirmed_amount: int
    not_announced_by_webhook: int

    @property
    def difference(self) -> int:
        return self.received - self.matched - self.in_exceptions - self.refunded - self.ignored - self.held

    @property
    def balanced(self) -> bool:
        return self.difference == 0 and self.open_reversals == 0 and not self.unconfirmed_by_bank

    def approved(self) -> dict[str, object]:
        """What an approval fixes: the account's figures (not the statement's flags, which the bank may add
        later)."""
        return {"account_number": self.account_number} | {k: getattr(self, k) for k in APPROVED}


@dataclass(frozen=True, kw_only=True)
class CloseApproval:
    approved_at: datetime
    approved_by: str
    note: str
    still_holds: bool


@dataclass(frozen=True, kw_only=True)
class DailyClose:
    school_id: str
    date: date
    accounts: list[AccountClose]
    open_reversals: int
    approval: CloseApproval | None = None

    @property
    def balanced(self) -> bool:
        return all(a.balanced for a in self.accounts) and self.open_reversals == 0

    def approved(self) -> list[dict[str, object]]:
        return [a.approved() for a in self.accounts]


# What an approval fixes: each account's figures (not the statement's flags, which the bank may add later).
APPROVED = ("received", "matched", "in_exceptions", "refunded", "ignored", "withdrawn", "held", "credits")


async def daily_close(books: CloseBooks, school_id: str, day: date) -> DailyClose:
    """The day's close, with the principal's latest approval of it (and whether it still holds)."""
    figures = await _close(books, school_id, day)
    approval = await books.latest_approval(school_id, day)
    if approval is None:
        return figures
    held = CloseApproval(
        approved_at=approval.approved_at,
        approved_by=approval.approved_by,
        note=approval.note,
        still_holds=approval.figures == figures.approved(),
    )
    return replace(figures, approval=held)


async def approve(pool: asyncpg.Pool, school_id: str, day: date, *, by: str, note: str) -> DailyClose:
    """The principal approves a balanced day: refused while it does not balance (a difference, money the bank
    took back unanswered, a webhook its statement does not confirm)."""
    async with pool.acquire() as conn, conn.transaction():
        # Under the school's lock: no action changes the day between the figures read and the approval stored.
        await schools_store.lock(conn, school_id)
        figures = await _close(PgCloseBooks(conn), school_id, day)
        if not figures.balanced:
            raise Conflict(
                f"Sổ ngày {day:%d/%m/%Y} chưa cân (còn chênh lệch, khoản bị ngân hàng thu hồi chưa xử lý hoặc "
                "khoản chưa được sao kê xác nhận): chưa duyệt được."
            )
        at = await approvals_store.add(conn, school_id, day, by=by, note=note, figures=figures.approved())
    # The figures just read are those approved: the answer needs no second reading of the day.
    return replace(figures, approval=CloseApproval(approved_at=at, approved_by=by, note=note, still_holds=True))


async def _close(books: CloseBooks, school_id: str, day: date) -> DailyClose:
    closing = await books.closing_balances(school_id, day)
    # Money the bank took back that no credit answers for yet: the books cannot be closed over it.
    reversed_open = await books.open_reversals(school_id, day)
    covered = await books.accounts_with_statement(school_id, day)
    bank = {c.account_number: c for c in confirm(await books.day_credits(school_id, day), covered)}
    accounts = []
    for r in await books.day_totals(school_id, day):
        said = bank.get(r.account_number)
        accounts.append(
            AccountClose(
                **vars(r),
                statement_closing_balance=closing.get(r.account_number),
                open_reversals=reversed_open.get(r.account_number, 0),
                statement_received=bool(said and said.statement_received),
                unconfirmed_by_bank=len(said.unconfirmed) if said else 0,
                unconfirmed_amount=said.unconfirmed_amount if said else 0,
                not_announced_by_webhook=len(said.unannounced) if said else 0,
            )
        )
    return DailyClose(school_id=school_id, date=day, accounts=accounts, open_reversals=sum(reversed_open.values()))
