"""A family's credit balance (an excess the accountant kept, action `keep`) pays its next invoices.

When an invoice of the family is issued, its kept credits, oldest first, pay what they can of it: each use is
a payment (PaymentMatched, reason `credit_balance`, so a receipt and the dashboard follow) from the credit
that brought the money. A credit fully used is `resolved`; what is left stays the family's balance.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import asyncpg

from reconciliation.app.intake.writer import Writer
from reconciliation.domain.matching import Allocation, Decision, State
from reconciliation.stores import credits_store, invoices_store
from shared.events.outbox import Outbox
from shared.logging import get_logger

log = get_logger(__name__)


async def apply_to_new_invoice(
    conn: asyncpg.Connection, outbox: Outbox, school_id: str, invoice_id: uuid.UUID, family: str
) -> int:
    """Pay the new invoice from the family's kept balances; returns the amount applied."""
    if not family:
        return 0
    owed = await invoices_store.outstanding(conn, invoice_id)
    applied = 0
    writer = Writer(school_id, outbox)
    for row in await credits_store.family_balances(conn, school_id, family):
        if owed <= 0:
            break
        before = row.placement
        use = min(row.amount - before.allocated - before.refunded - before.ignored, owed)
        decision = Decision(State.RESOLVED, "credit_balance", (Allocation(invoice_id, use),))
        writer.place_stored(row, decision)
        after = replace(before, allocated=before.allocated + use)
        if after.allocated + after.refunded + after.ignored == row.amount:
            after = replace(after, state=str(State.RESOLVED))
        await credits_store.set_placement(conn, row.credit_id, after)
        owed -= use
        applied += use
    await writer.flush(conn)
    if applied:
        log.info("reconciliation.credit_balance.applied", school_id=school_id, amount=applied)
    return applied
