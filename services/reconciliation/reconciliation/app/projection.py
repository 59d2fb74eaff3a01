"""Reconciliation's book of schools and invoices, built from invoicing's events (never its database)."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from reconciliation.app import credit_balance
from reconciliation.app.intake.take_in import place_waiting
from reconciliation.stores import invoices_store, schools_store
from shared.events import pupil_keys
from shared.events.outbox import Outbox
from tuition.invoicing.v1.events_pb2 import (
    InvoiceAdjusted,
    InvoiceCancelled,
    InvoiceIssued,
    PaymentGroupCreated,
    SchoolRegistered,
)
from tuition.invoicing.v1.pupil_keys_pb2 import PupilKeyDestroyed, PupilKeyIssued


async def school_registered(conn: asyncpg.Connection, m: SchoolRegistered) -> None:
    await schools_store.upsert(
        conn,
        school_id=m.school_id,
        district_code=m.district_code,
        name=m.name,
        bank_bin=m.bank_bin,
        account_number=m.account_number,
    )


async def invoice_issued(conn: asyncpg.Connection, outbox: Outbox, m: InvoiceIssued) -> None:
    await schools_store.lock(conn, m.school_id)
    # The pupil's name is sealed with their key (shared/events/pupil_keys.py); kept sealed until it arrives.
    names = pupil_keys.names_of_invoice(m) or await pupil_keys.open_names(conn, m.sealed_names, bound_to=m.invoice_id)
    invoice = invoices_store.IssuedInvoice(
        invoice_id=uuid.UUID(m.invoice_id),
        school_id=m.school_id,
        student_id=uuid.UUID(m.student_id),
        student_code=m.student_code,
        student_name=names.student_name if names is not None else "",
        sealed_names=m.sealed_names.SerializeToString() if names is None else None,
        sealed_key_id=uuid.UUID(m.sealed_names.key_id) if names is None else None,
        class_name=m.class_name,
        family_key=m.family_key,
        virtual_account=m.virtual_account or None,
        payment_reference=m.payment_reference,
        period=m.period,
        due_date=date.fromisoformat(m.due_date),
        total=m.total,
    )
    await invoices_store.add(conn, invoice)
    await place_waiting(conn, outbox, m.school_id, m.payment_reference)
    await credit_balance.apply_to_new_invoice(conn, outbox, m.school_id, invoice.invoice_id, m.family_key)


async def pupil_key_issued(conn: asyncpg.Connection, m: PupilKeyIssued) -> None:
    """A pupil's key: the names it sealed in invoices already here are opened."""
    if await pupil_keys.remember(conn, m) is not None:
        await open_names(conn, uuid.UUID(m.student_id))


async def open_names(conn: asyncpg.Connection, student_id: uuid.UUID | None = None) -> int:
    """Sealed names whose key is here opened (blanked where it was destroyed); returns how many. Run for
    a pupil when their key arrives, and for every pupil now and then: an invoice and its key applied at
    once by two instances do not see each other."""
    rows = await pupil_keys.sealed_openable(conn, student_id)
    opened = [(r.invoice_id, r.opened()) for r in rows]
    await invoices_store.set_names(conn, [(i, names.student_name) for i, names in opened])
    return len(opened)


async def open_waiting_names(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn, conn.transaction():
        return await open_names(conn)


async def pupil_key_destroyed(conn: asyncpg.Connection, m: PupilKeyDestroyed) -> None:
    """The pupil was erased: the key is deleted, and the name it opened blanked on their invoices."""
    student_id = uuid.UUID(m.student_id)
    await pupil_keys.forget(conn, student_id, [uuid.UUID(m.key_id)])
    await invoices_store.forget_names(conn, student_id)


async def invoice_adjusted(conn: asyncpg.Connection, m: InvoiceAdjusted) -> None:
    await invoices_store.set_total(conn, uuid.UUID(m.invoice_id), m.new_total)


async def invoice_cancelled(conn: asyncpg.Connection, m: InvoiceCancelled) -> None:
    await invoices_store.mark_cancelled(conn, uuid.UUID(m.invoice_id))


async def group_created(conn: asyncpg.Connection, outbox: Outbox, m: PaymentGroupCreated) -> None:
    await schools_store.lock(conn, m.school_id)
    await invoices_store.add_group(conn, m.payment_reference, m.school_id, [uuid.UUID(i) for i in m.invoice_ids])
    await place_waiting(conn, outbox, m.school_id, m.payment_reference)
