"""The bank confirms what the aggregators said: for a day whose statement has come, the webhook credits it
does not contain and the statement credits no webhook announced, each listed and counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from reconciliation.stores import confirmations_store
from reconciliation.stores.confirmations_store import DayCredit
from shared.db import Executor


@dataclass(frozen=True)
class AccountConfirmation:
    account_number: str
    statement_received: bool
    confirmed: int = 0  # by both a webhook and the statement
    unconfirmed: list[DayCredit] = field(default_factory=list)  # webhooks the statement does not contain
    unannounced: list[DayCredit] = field(default_factory=list)  # statement credits no webhook announced

    @property
    def unconfirmed_amount(self) -> int:
        return sum(c.amount for c in self.unconfirmed)

    @property
    def unannounced_amount(self) -> int:
        return sum(c.amount for c in self.unannounced)


async def confirmations(db: Executor, school_id: str, day: date) -> list[AccountConfirmation]:
    credits = await confirmations_store.day_credits(db, school_id, day)
    covered = await confirmations_store.accounts_with_statement(db, school_id, day)
    return confirm(credits, covered)


def confirm(credits: list[DayCredit], covered: set[str]) -> list[AccountConfirmation]:
    """Per account, what the day's statement (where one came: `covered`) says of the day's credits."""
    out = []
    for account in sorted({c.account_number for c in credits} | covered):
        mine = [c for c in credits if c.account_number == account]
        if account not in covered:  # no statement yet: nothing can be said of the webhooks
            out.append(AccountConfirmation(account, False))
            continue
        out.append(
            AccountConfirmation(
                account,
                True,
                confirmed=sum(c.in_statement and c.by_webhook for c in mine),
                unconfirmed=[c for c in mine if c.by_webhook and not c.in_statement and c.state != "withdrawn"],
                unannounced=[c for c in mine if c.in_statement and not c.by_webhook],
            )
        )
    return out
