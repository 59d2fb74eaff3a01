"""Statement matching: a 100,000-credit camt.054 against 100,000 open invoices, parse + place + write."""

from __future__ import annotations

import random
import uuid
from datetime import date
from typing import Any

import asyncpg

from bench.common import Measure, Timer, dump_tables, scratch_db
from reconciliation.adapters.statements import parse_camt
from reconciliation.app.intake.take_in import take_in
from reconciliation.main import SPEC
from reconciliation.stores import schools_store
from reconciliation.stores.placements_store import CREDIT_COLUMNS
from shared import payref
from shared.events.outbox import Outbox

SCHOOL, ACCOUNT = "BENCH-SCHOOL", "0011001234567"
MANGLE = [
    "MBVCB.{t}.{ref}.NGUYEN VAN AN LOP 3A1.CT tu 19033344455566 NGUYEN VAN HUNG toi 0011001234567 TRUONG",
    "{t6}.050926.140237.{ref} hoc phi thang 9",
    "{ref} T09 2026",
    "IBFT {a} {b} NOP HOC PHI",
    "CT nhanh 247 den: {ref}-050926-14:02:37 884512",
]


def _camt(entries: list[tuple[int, str, str]]) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
        "<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>B</MsgId><CreDtTm>2026-09-05T17:00:00+07:00</CreDtTm></GrpHdr>"
        f"<Ntfctn><Id>N</Id><Acct><Id><Othr><Id>{ACCOUNT}</Id></Othr></Id><Ccy>VND</Ccy></Acct>"
    ]
    for amount, memo, ref in entries:
        parts.append(
            f'<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="VND">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-09-05</Dt></BookgDt><AcctSvcrRef>S{ref}</AcctSvcrRef>"
            f"<NtryDtls><TxDtls><Refs><TxId>T{ref}</TxId></Refs><RmtInf><Ustrd>{memo}</Ustrd></RmtInf>"
            "</TxDtls></NtryDtls></Ntry>"
        )
    parts.append("</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>")
    return "".join(parts).encode()


async def run(server_dsn: str, n: int = 100_000) -> list[Measure]:
    rng = random.Random(1)
    fees = [650_000, 1_250_000, 1_584_520, 900_000, 375_000]  # many parents pay the same amount on the same day
    async with scratch_db(server_dsn, SPEC.migrations) as pool:
        invoices = [
            (
                uuid.uuid4(),
                SCHOOL,
                uuid.uuid4(),
                f"{2200000000 + i}",
                "Hoc Sinh",
                "3A1",
                f"fam{i}",
                None,
                payref.make_reference(i),
                "2026-09",
                date(2026, 9, 15),
                rng.choice(fees),
            )
            for i in range(n)
        ]
        await pool.copy_records_to_table(
            "invoices",
            records=invoices,
            columns=[
                "invoice_id",
                "school_id",
                "student_id",
                "student_code",
                "student_name",
                "class_name",
                "family_key",
                "virtual_account",
                "payment_reference",
                "period",
                "due_date",
                "total",
            ],
        )
        entries = []
        for i, inv in enumerate(invoices):
            ref = inv[8]
            memo = rng.choice(MANGLE).format(
                t=rng.randrange(10**9, 10**10), t6=rng.randrange(10**5, 10**6), ref=ref, a=ref[:5], b=ref[5:]
            )
            entries.append((inv[11], memo, f"FT{26248000000 + i}"))
        data = _camt(entries)
        with Timer() as parse_t:
            statement = parse_camt(data, "camt054")
        with Timer() as ingest_t:
            async with pool.acquire() as conn, conn.transaction():
                await schools_store.lock(conn, SCHOOL)
                taken = await take_in(conn, Outbox("reconciliation"), {SCHOOL: statement.credits}, whole_books=True)
            outcomes = taken[SCHOOL]
        matched = sum(o.state == "matched" for o in outcomes)
        # The limit: writing the same number of credit rows with a bare COPY (no parsing, no matching).
        rows = [
            (
                uuid.uuid4(),
                SCHOOL,
                ACCOUNT,
                c.amount,
                c.booked_at,
                c.value_date,
                c.memo,
                "",
                "",
                "",
                "",
                "BANK_TRANSFER",
                "camt054",
                "matched",
                "reference",
                "{}",
                "[]",
                [],
                c.amount,
                "",
            )
            for c in statement.credits
        ]
        await pool.execute("CREATE TABLE copy_floor (LIKE credits INCLUDING DEFAULTS)")
        with Timer() as copy_t:
            await pool.copy_records_to_table("copy_floor", records=rows, columns=CREDIT_COLUMNS)
        schema_floor = await _copy_into_the_service_tables(pool)
    total = parse_t.seconds + ingest_t.seconds
    details: dict[str, Any] = {
        "credits": n,
        "open_invoices": n,
        "matched": matched,
        "parse_s": round(parse_t.seconds, 2),
        "place_and_write_s": round(ingest_t.seconds, 2),
        "statement_mib": round(len(data) / 2**20, 1),
        "copy_into_the_service_tables_credits_per_s": round(n / schema_floor),
        "ratio_to_copy_into_the_service_tables": round(schema_floor / total, 3),
    }
    return [
        Measure(
            "statement matching (camt.054, 100k credits vs 100k open invoices)",
            round(n / total),
            "credits/s",
            "PostgreSQL COPY of the same credit rows",
            round(n / copy_t.seconds),
            details,
        )
    ]


WRITTEN = ("credits", "credit_identifiers", "credit_sources", "allocations", "outbox")


async def _copy_into_the_service_tables(pool: asyncpg.Pool) -> float:
    """Seconds PostgreSQL takes to accept what matching wrote (the credit, identifier, source, allocation and
    event rows, COPYed into the service's own tables with their keys, indexes and foreign keys, and the
    invoices' allocated totals), with nothing computed: what any way of matching must pay it."""
    dumps = await dump_tables(pool, WRITTEN)
    await pool.execute(f"TRUNCATE {', '.join(WRITTEN)} CASCADE; UPDATE invoices SET allocated = 0")  # noqa: S608
    await pool.execute("VACUUM invoices")
    with Timer() as t:
        async with pool.acquire() as conn, conn.transaction():
            for table in WRITTEN:
                dumps[table].seek(0)
                await conn.copy_to_table(table, source=dumps[table], format="binary")
            await conn.execute(
                "UPDATE invoices i SET allocated = i.allocated + d.amount FROM (SELECT invoice_id, sum(amount) "
                "AS amount FROM allocations GROUP BY invoice_id) d WHERE i.invoice_id = d.invoice_id"
            )
    return t.seconds
