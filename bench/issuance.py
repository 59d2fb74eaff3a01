"""Invoice issuance: 1,000,000 invoices (400 schools × 2,500 pupils) with their VietQR payloads, issued the
way accountants do (one call per school and period), against PostgreSQL COPY of the same rows."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from datetime import date

from bench.common import Measure, Timer, dump_tables, scratch_db
from invoicing.adapters import vietqr
from invoicing.app.fees import UpsertFeeItem, upsert_fee_item
from invoicing.app.issuing import IssuePeriod, issue_period
from invoicing.domain.fees import Cadence, FeeCategory, FeeItem, Period, Rate
from invoicing.domain.invoices import qr_purpose
from invoicing.main import SPEC
from shared.events.outbox import Outbox

PERIOD = Period(2026, 11)
CONCURRENT = os.cpu_count() or 2
FEES = [
    FeeItem(
        code="HOCPHI",
        name="Học phí",
        category=FeeCategory.TUITION,
        cadence=Cadence.MONTHLY,
        rates=(Rate(0),),
        state_funded=True,
    ),
    FeeItem(
        code="BANTRU",
        name="Tiền ăn bán trú",
        category=FeeCategory.MEALS,
        cadence=Cadence.MONTHLY,
        rates=(Rate(35_000),),
        per_day=True,
    ),
    FeeItem(
        code="DICHVU",
        name="Dịch vụ bán trú",
        category=FeeCategory.SERVICES,
        cadence=Cadence.MONTHLY,
        rates=(Rate(200_000),),
    ),
]


async def run(server_dsn: str, schools: int = 400, per_school: int = 2500) -> list[Measure]:
    n = schools * per_school
    outbox = Outbox("invoicing")
    async with scratch_db(server_dsn, SPEC.migrations) as pool:
        await pool.executemany(
            "INSERT INTO schools (school_id, code, name, district_code, ownership, bank_bin, account_number, "
            "account_name) VALUES ($1, $1, $2, 'D', 'public', '970436', '0011001234567', 'TRUONG')",
            [(f"S{i:03d}", f"Trường {i}") for i in range(schools)],
        )
        rows = []
        for i in range(schools):
            for j in range(per_school):
                phone = f"09{(i * per_school + j):08d}"
                rows.append(
                    (
                        uuid.uuid4(),
                        f"S{i:03d}",
                        f"{i:03d}{j:05d}",
                        "Nguyễn Văn An",
                        date(2018, 1, 1),
                        "male",
                        f"Khối {1 + j % 5}",
                        f"{1 + j % 5}A{1 + j // 150}",
                        "001218000001",
                        "Nguyễn Văn Bình",
                        phone,
                        hashlib.sha256(phone.encode()).hexdigest()[:20],
                        None,
                        [],
                    )
                )
        await pool.copy_records_to_table(
            "students",
            records=rows,
            columns=[
                "student_id",
                "school_id",
                "student_code",
                "full_name",
                "date_of_birth",
                "gender",
                "grade",
                "class_name",
                "national_id",
                "guardian_name",
                "guardian_phone",
                "family_key",
                "virtual_account",
                "policy_categories",
            ],
        )
        del rows
        for i in range(schools):
            for item in FEES:
                await upsert_fee_item(pool, UpsertFeeItem(f"S{i:03d}", item))
        issued = 0

        async def issue(school_id: str) -> None:
            nonlocal issued
            result = await issue_period(pool, outbox, IssuePeriod(school_id, PERIOD, school_days=21))
            issued += result.created
            # The payload each parent's QR carries (what the payment page and the PNG/SVG render).
            for r in await pool.fetch("SELECT payment_reference, total FROM invoices WHERE school_id = $1", school_id):
                vietqr.encode(
                    bin="970436",
                    account="0011001234567",
                    amount=r["total"] or None,
                    purpose=qr_purpose(r["payment_reference"], PERIOD.code),
                )

        # At the start of a month the schools' accountants issue at about the same time: as many schools at once
        # as the machine has cores, so that one school's rows are computed while another's are being written.
        queue = [f"S{i:03d}" for i in range(schools)]

        async def accountant() -> None:
            while queue:
                await issue(queue.pop(0))

        with Timer() as t:
            await asyncio.gather(*(accountant() for _ in range(CONCURRENT)))
        assert issued == n
        # The limit: COPY of the same invoice and line rows into bare tables, nothing computed.
        await pool.execute("CREATE TABLE floor_invoices (LIKE invoices); CREATE TABLE floor_lines (LIKE invoice_lines)")
        dumps = await dump_tables(pool, ("invoices", "invoice_lines", "outbox"))
        with Timer() as floor:
            await pool.copy_to_table("floor_invoices", source=dumps["invoices"], format="binary")
            await pool.copy_to_table("floor_lines", source=dumps["invoice_lines"], format="binary")
        events = await pool.fetchval("SELECT count(*) FROM outbox")
        lines = await pool.fetchval("SELECT count(*) FROM invoice_lines")
        # Context for the ratio: the same rows, events included, COPYed into the service's own tables with
        # their keys, unique indexes and foreign keys (what any way of issuing must pay PostgreSQL).
        await pool.execute("TRUNCATE outbox, invoice_lines, invoices CASCADE")
        with Timer() as schema_floor:
            async with pool.acquire() as conn, conn.transaction():
                for table in ("invoices", "invoice_lines", "outbox"):
                    dumps[table].seek(0)
                    await conn.copy_to_table(table, source=dumps[table], format="binary")
    return [
        Measure(
            "invoice issuance (with InvoiceIssued events and VietQR payloads)",
            round(n / t.seconds),
            "invoices/s",
            "PostgreSQL COPY of the same invoice + line rows",
            round(n / floor.seconds),
            {
                "invoices": n,
                "schools": schools,
                "lines": lines,
                "events": events,
                "seconds": round(t.seconds, 1),
                "copy_into_the_service_tables_invoices_per_s": round(n / schema_floor.seconds),
                "ratio_to_copy_into_the_service_tables": round(schema_floor.seconds / t.seconds, 3),
            },
        )
    ]
