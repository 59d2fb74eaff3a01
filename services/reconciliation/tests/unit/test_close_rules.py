"""The daily close's rules, run on books held in memory (the same protocol PostgreSQL's books answer): a day
balances to the đồng or shows its difference, an open reversal or a webhook the statement lacks keeps it
from balancing, and an approval holds only while the figures are those approved. No database, no broker:
a change to a rule runs these in well under a second."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import pytest

from reconciliation.app import close
from reconciliation.stores.approvals_store import Approval
from reconciliation.stores.confirmations_store import DayCredit
from reconciliation.stores.credits_store import DayTotals

DAY = date(2026, 11, 2)
ACCOUNT = "0011001234567"


def _totals(**figures: int) -> DayTotals:
    base = dict(credits=3, received=3_000_000, matched=2_000_000, refunded=0, ignored=0, withdrawn=0, held=0)
    base |= dict(in_exceptions=1_000_000, exception_credits=1)
    return DayTotals(account_number=ACCOUNT, **(base | figures))


def _credit(amount: int, *, in_statement: bool, by_webhook: bool, state: str = "matched") -> DayCredit:
    return DayCredit(
        credit_id=uuid.uuid4(),
        account_number=ACCOUNT,
        amount=amount,
        booked_at=datetime(2026, 11, 2, 3, tzinfo=UTC),
        memo="HP 2026-11",
        state=state,
        in_statement=in_statement,
        by_webhook=by_webhook,
    )


@dataclass
class Books:
    """A school's close books, in memory."""

    totals: list[DayTotals] = field(default_factory=lambda: [_totals()])
    closing: dict[str, int] = field(default_factory=dict)
    reversals: dict[str, int] = field(default_factory=dict)
    credits: list[DayCredit] = field(default_factory=list)
    covered: set[str] = field(default_factory=set)
    approval: Approval | None = None

    async def day_totals(self, school_id: str, day: date) -> list[DayTotals]:
        return self.totals

    async def closing_balances(self, school_id: str, day: date) -> dict[str, int]:
        return self.closing

    async def open_reversals(self, school_id: str, day: date) -> dict[str, int]:
        return self.reversals

    async def day_credits(self, school_id: str, day: date) -> list[DayCredit]:
        return self.credits

    async def accounts_with_statement(self, school_id: str, day: date) -> set[str]:
        return self.covered

    async def latest_approval(self, school_id: str, day: date) -> Approval | None:
        return self.approval


async def test_a_day_whose_sides_add_up_balances() -> None:
    figures = await close.daily_close(Books(), "S1", DAY)
    [account] = figures.accounts
    assert (account.difference, account.balanced, figures.balanced) == (0, True, True)
    assert figures.approval is None


async def test_a_missing_dong_shows_as_the_difference_and_the_day_does_not_balance() -> None:
    books = Books(totals=[_totals(matched=1_999_999)])
    figures = await close.daily_close(books, "S1", DAY)
    assert (figures.accounts[0].difference, figures.balanced) == (1, False)


async def test_an_open_reversal_keeps_the_day_from_balancing() -> None:
    figures = await close.daily_close(Books(reversals={ACCOUNT: 1}), "S1", DAY)
    assert (figures.accounts[0].open_reversals, figures.accounts[0].balanced, figures.open_reversals) == (1, False, 1)
    assert not figures.balanced


async def test_a_webhook_the_statement_does_not_contain_keeps_the_day_from_balancing() -> None:
    credits = [
        _credit(1_000_000, in_statement=True, by_webhook=True),
        _credit(2_000_000, in_statement=False, by_webhook=True),  # the bank never had it
        _credit(500_000, in_statement=True, by_webhook=False),  # only the statement told of it
    ]
    figures = await close.daily_close(Books(credits=credits, covered={ACCOUNT}), "S1", DAY)
    [account] = figures.accounts
    assert (account.statement_received, account.unconfirmed_by_bank, account.unconfirmed_amount) == (True, 1, 2_000_000)
    assert (account.not_announced_by_webhook, account.balanced) == (1, False)


async def test_before_the_statement_comes_nothing_is_said_of_the_webhooks() -> None:
    credits = [_credit(2_000_000, in_statement=False, by_webhook=True)]
    figures = await close.daily_close(Books(credits=credits), "S1", DAY)
    assert (figures.accounts[0].statement_received, figures.accounts[0].unconfirmed_by_bank) == (False, 0)
    assert figures.balanced


async def test_a_withdrawn_webhook_credit_is_not_held_against_the_bank() -> None:
    credits = [_credit(2_000_000, in_statement=False, by_webhook=True, state="withdrawn")]
    figures = await close.daily_close(Books(credits=credits, covered={ACCOUNT}), "S1", DAY)
    assert (figures.accounts[0].unconfirmed_by_bank, figures.balanced) == (0, True)


@pytest.mark.parametrize(
    ("changed", "holds"), [({}, True), ({"matched": 1_500_000, "in_exceptions": 1_500_000}, False)]
)
async def test_an_approval_holds_while_the_figures_are_those_approved(changed: dict[str, int], holds: bool) -> None:
    books = Books()
    approved = (await close.daily_close(books, "S1", DAY)).approved()
    books.approval = Approval(approved_at=datetime.now(UTC), approved_by="hieu-truong", note="", figures=approved)
    books.totals = [replace(books.totals[0], **changed)]
    figures = await close.daily_close(books, "S1", DAY)
    assert figures.approval is not None
    assert (figures.approval.approved_by, figures.approval.still_holds) == ("hieu-truong", holds)
