"""What a receipt prints, copied from invoicing's events; each arrival may release parked payments."""

from __future__ import annotations

import json
import uuid

import asyncpg

from receipts.app.issuing import PUPIL_KEY, retry_pending
from receipts.settings import ReceiptsSettings
from receipts.stores import copies_store
from shared.events import pupil_keys
from shared.events.outbox import Outbox
from tuition.invoicing.v1.events_pb2 import InvoiceAdjusted, InvoiceIssued, SchoolRegistered
from tuition.invoicing.v1.pupil_keys_pb2 import PupilKeyDestroyed, PupilKeyIssued


async def school_registered(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, m: SchoolRegistered
) -> None:
    await copies_store.upsert_school(
        conn,
        school_id=m.school_id,
        code=m.code,
        name=m.name,
        district_code=m.district_code,
        tax_code=m.tax_code,
        address=m.address,
    )
    await retry_pending(conn, outbox, settings, school_id=m.school_id)


async def invoice_adjusted(conn: asyncpg.Connection, m: InvoiceAdjusted) -> None:
    """An adjustment is a line of the invoice from now on: a receipt of the whole invoice shows it."""
    line = {
        "name": f"Điều chỉnh: {m.reason}" if m.reason else "Điều chỉnh",
        "amount": m.delta,
        "category": "adjustment",
    }
    await copies_store.adjust_invoice(conn, uuid.UUID(m.invoice_id), new_total=m.new_total, line=line)


async def invoice_issued(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, m: InvoiceIssued
) -> None:
    lines = [{"name": line.name, "amount": line.amount, "category": line.category} for line in m.lines]
    # The names are sealed with the pupil's key (shared/events/pupil_keys.py): until it arrives the invoice
    # keeps them sealed, and its payments wait for it.
    names = pupil_keys.names_of_invoice(m) or await pupil_keys.open_names(conn, m.sealed_names, bound_to=m.invoice_id)
    invoice = copies_store.InvoiceCopy(
        invoice_id=uuid.UUID(m.invoice_id),
        school_id=m.school_id,
        student_id=uuid.UUID(m.student_id) if m.student_id else None,
        student_code=m.student_code,
        student_name=names.student_name if names is not None else "",
        guardian_name=names.guardian_name if names is not None else "",
        sealed_names=m.sealed_names.SerializeToString() if names is None else None,
        sealed_key_id=uuid.UUID(m.sealed_names.key_id) if names is None else None,
        class_name=m.class_name,
        period=m.period,
        payment_reference=m.payment_reference,
        total=m.total,
        lines_json=json.dumps(lines, ensure_ascii=False),
    )
    await copies_store.add_invoice(conn, invoice)
    await retry_pending(conn, outbox, settings, invoice_id=invoice.invoice_id)


async def pupil_key_issued(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, m: PupilKeyIssued
) -> None:
    """A pupil's key: the names it sealed are opened, and the payments that waited for them get receipts."""
    if await pupil_keys.remember(conn, m) is not None:
        await open_names(conn, outbox, settings, uuid.UUID(m.student_id))


async def open_names(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, student_id: uuid.UUID | None = None
) -> int:
    """Sealed names whose key is here opened (blanked where it was destroyed), and the payments that waited
    for them issued; returns how many invoices were opened."""
    rows = await pupil_keys.sealed_openable(conn, student_id)
    opened = [(r.invoice_id, r.opened()) for r in rows]
    await copies_store.set_names(conn, [(i, n.student_name, n.guardian_name) for i, n in opened])
    for invoice_id, _ in opened:
        await retry_pending(conn, outbox, settings, invoice_id=invoice_id)
    return len(opened)


async def open_waiting_names(pool: asyncpg.Pool, outbox: Outbox, settings: ReceiptsSettings) -> int:
    """Now and then, what an event could not do: names whose key came while their invoice was being
    applied by another instance, and payments parked while their invoice's names were being opened."""
    async with pool.acquire() as conn, conn.transaction():
        opened = await open_names(conn, outbox, settings)
        for invoice_id in await copies_store.open_invoices_with_parked_payments(conn, PUPIL_KEY):
            await retry_pending(conn, outbox, settings, invoice_id=invoice_id)
    return opened


async def pupil_key_destroyed(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, m: PupilKeyDestroyed
) -> None:
    """The pupil was erased: the key is deleted and the names blanked on their invoices (receipts already
    issued keep what they printed); a payment that waited for the key gets its receipt without names."""
    student_id = uuid.UUID(m.student_id)
    await pupil_keys.forget(conn, student_id, [uuid.UUID(m.key_id)])
    for invoice_id in await copies_store.forget_names(conn, student_id):
        await retry_pending(conn, outbox, settings, invoice_id=invoice_id)
