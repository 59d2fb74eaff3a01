"""Dashboard API latency with 1,000,000 invoices in the projections: a district of 100,000 pupils over a
school year (40 schools × 2,500 pupils × 10 months), 85% paid, a tenth of them in cash."""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx

from bench.common import Measure, Timer, scratch_db
from reporting.main import SPEC, create_app
from reporting.settings import ReportingSettings
from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET

MONTHS = ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06"]

FILL = """
INSERT INTO schools SELECT 'S' || lpad(s::text, 2, '0'), 'Trường ' || s, 'D1', 'public', true
  FROM generate_series(0, {schools} - 1) s;
INSERT INTO invoices (invoice_id, school_id, student_id, grade, class_name, period, quarter, school_year, due_date,
                      total, district_code)
SELECT md5(s || '-' || st || '-' || m)::uuid, 'S' || lpad(s::text, 2, '0'), 'st' || s || '-' || st,
       'Khối ' || (1 + st % 5), (1 + st % 5) || 'A' || (1 + st / 150), m,
       left(m, 4) || '-Q' || ((substr(m, 6, 2)::int - 1) / 3 + 1), '2026-2027', (m || '-15')::date, 985000, 'D1'
  FROM generate_series(0, {schools} - 1) s, generate_series(0, {pupils} - 1) st, unnest($1::text[]) m;
INSERT INTO invoice_fees SELECT invoice_id, c.cat, c.amount FROM invoices,
  (VALUES ('meals', 735000), ('services', 200000), ('extra_classes', 50000)) c(cat, amount);
INSERT INTO payments SELECT 'p' || invoice_id, invoice_id, school_id, 985000,
       CASE WHEN abs(hashtext(invoice_id::text)) % 10 = 0 THEN 'CASH' ELSE 'VIETQR' END,
       abs(hashtext(invoice_id::text)) % 10 <> 0, now(), false
  FROM invoices WHERE abs(hashtext(invoice_id::text || 'p')) % 100 < 85;
INSERT INTO invoice_collected SELECT f.invoice_id, f.category, f.amount, CASE WHEN p.cashless THEN f.amount ELSE 0 END
  FROM invoice_fees f JOIN payments p USING (invoice_id);
UPDATE invoices i SET invoiced = total, collected = total, cashless = CASE WHEN p.cashless THEN total ELSE 0 END,
       payments = 1, cashless_payments = p.cashless::int, paid_up = true
  FROM payments p WHERE p.invoice_id = i.invoice_id;
UPDATE invoices SET invoiced = total WHERE NOT paid_up;
SELECT roll_up_invoices(array(SELECT invoice_id FROM invoices), 1);
ANALYZE;
"""


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


# Every view of the dashboard API, district-wide and whole-year ones included.
REQUESTS = [
    ("district, one month", "/api/districts/D1/summary", {"period": "2026-11"}),
    ("school drill-down, one month", "/api/schools/S07/summary", {"period": "2026-11"}),
    ("district trend, school year", "/api/districts/D1/trend", {"school_year": "2026-2027"}),
    ("district, whole school year", "/api/districts/D1/summary", {"period": "2026-2027"}),
    ("district, a quarter", "/api/districts/D1/summary", {"period": "2026-Q4"}),
    ("district, calendar year", "/api/districts/D1/summary", {"period": "2027"}),
    (
        "district, whole school year, one fee type",
        "/api/districts/D1/summary",
        {"period": "2026-2027", "fee_type": "meals"},
    ),
    ("school, whole school year", "/api/schools/S07/summary", {"period": "2026-2027"}),
    ("school trend, school year", "/api/schools/S07/trend", {"school_year": "2026-2027"}),
    ("district, all time", "/api/districts/D1/summary", {}),
]


async def run(server_dsn: str, schools: int = 40, pupils: int = 2500, rounds: int = 20) -> list[Measure]:
    async with scratch_db(server_dsn, SPEC.migrations) as pool:
        with Timer() as fill:
            await pool.execute(FILL.format(schools=schools, pupils=pupils).split(";\nINSERT INTO invoices")[0])
            for statement in FILL.format(schools=schools, pupils=pupils).split(";\n")[1:]:
                if statement.strip():
                    await pool.execute(statement, MONTHS) if "$1" in statement else await pool.execute(statement)
        invoices = await pool.fetchval("SELECT count(*) FROM invoices")
        with Timer() as scan:
            await pool.fetchval("SELECT sum(total) FROM invoices")
        database = await pool.fetchval("SELECT current_database()")
        timings = await timed(server_dsn, database, rounds)
    everything = [t for ts in timings.values() for t in ts]
    details: dict[str, Any] = {
        "invoices_in_projections": invoices,
        "fill_s": round(fill.seconds, 1),
        "requests": len(everything),
    }
    for name, ts in timings.items():
        details[name] = {"p50_ms": round(_p(ts, 50), 1), "p99_ms": round(_p(ts, 99), 1)}
    return [
        Measure(
            "dashboard API p99 latency (district/school/trend mix, 1,000,000 invoices)",
            round(_p(everything, 99), 1),
            "ms",
            "one full scan of the 1,000,000 invoices in PostgreSQL",
            round(scan.seconds * 1000, 1),
            details,
        )
    ]


async def timed(server_dsn: str, database: str, rounds: int) -> dict[str, list[float]]:
    """Each of REQUESTS `rounds` times against the reporting app on `database` (in process: no HTTP server
    in between), milliseconds per request."""
    settings = ReportingSettings(database=database, pg_dsn=server_dsn, run_workers=False, log_level="WARNING")
    app = create_app(settings)
    district = {"Authorization": "Bearer " + mint_token(DEV_JWT_SECRET, role="district", district="D1")}
    timings: dict[str, list[float]] = {name: [] for name, _, _ in REQUESTS}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r", timeout=120) as http:
            for _, path, params in REQUESTS:  # warm-up
                assert (await http.get(path, params=params, headers=district)).status_code == 200
            for _ in range(rounds):
                for name, path, params in REQUESTS:
                    start = time.perf_counter()
                    r = await http.get(path, params=params, headers=district)
                    timings[name].append((time.perf_counter() - start) * 1000)
                    assert r.status_code == 200
    return timings
