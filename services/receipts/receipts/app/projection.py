"""What a receipt prints, copied from invoicing's events; each arrival may release parked payments."""

from __future__ import annotations

import json
import uuid

import asyncpg

from receipts.app.issuing import retry_pending
from receipts.settings import ReceiptsSettings
from receipts.stores import book_store
from shared.events import pupil_keys
from shared.events.outbox import Outbox
from tuition.common.v1.sealed_pb2 import Sealed
from tuition.invoicing.v1.events_pb2 import InvoiceAdjusted, InvoiceIssued, SchoolRegistered
from tuition.invoicing.v1.pupil_keys_pb2 import PupilKeyDestroyed, PupilKeyIssued


async def school_registered(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, m: SchoolRegistered
) -> None:
    await book_store.upsert_school(
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
    await book_store.adjust_invoice(conn, uuid.UUID(m.invoice_id), new_total=m.new_total, line=line)


async def invoice_issued(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, m: InvoiceIssued
) -> None:
    lines = [{"name": line.name, "amount": line.amount, "category": line.category} for line in m.lines]
    # The names are sealed with the pupil's key (shared/events/pupil_keys.py): until it arrives the invoice
    # keeps them sealed, and its payments wait for it.
    names = pupil_keys.names_of_invoice(m) or await pupil_keys.open_names(conn, m.sealed_names, bound_to=m.invoice_id)
    invoice = book_store.InvoiceCopy(
        invoice_id=uuid.UUID(m.invoice_id),
        school_id=m.school_id,
        student_id=uuid.UUID(m.student_id) if m.student_id else None,
        student_code=m.student_code,
        student_name=names.student_name if names is not None else "",
        guardian_name=names.guardian_name if names is not None else "",
        sealed_names=m.sealed_names.SerializeToString() if names is None else None,
        class_name=m.class_name,
        period=m.period,
        payment_reference=m.payment_reference,
        total=m.total,
        lines_json=json.dumps(lines, ensure_ascii=False),
    )
    await book_store.add_invoice(conn, invoice)
    await retry_pending(conn, outbox, settings, invoice_id=invoice.invoice_id)


async def pupil_key_issued(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, m: PupilKeyIssued
) -> None:
    """A pupil's key: the names it sealed are opened, and the payments that waited for them get receipts."""
    key = await pupil_keys.remember(conn, m)
    if key is None:
        return
    opened = []
    for r in await book_store.sealed_names_of(conn, key.student_id):
        sealed = Sealed.FromString(bytes(r["sealed_names"]))
        if sealed.key_id == m.key_id:
            names = pupil_keys.open_sealed(key.key, sealed, bound_to=str(r["invoice_id"]))
            opened.append((r["invoice_id"], names.student_name, names.guardian_name))
    await book_store.set_names(conn, opened)
    for invoice_id, _, _ in opened:
        await retry_pending(conn, outbox, settings, invoice_id=invoice_id)


async def pupil_key_destroyed(
    conn: asyncpg.Connection, outbox: Outbox, settings: ReceiptsSettings, m: PupilKeyDestroyed
) -> None:
    """The pupil was erased: the key is deleted and the names blanked on their invoices (receipts already
    issued keep what they printed); a payment that waited for the key gets its receipt without names."""
    student_id = uuid.UUID(m.student_id)
    await pupil_keys.forget(conn, student_id, [uuid.UUID(m.key_id)])
    for invoice_id in await book_store.forget_names(conn, student_id):
        await retry_pending(conn, outbox, settings, invoice_id=invoice_id)
