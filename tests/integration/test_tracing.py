"""One trace across the services, on the real PostgreSQL and Kafka (OpenTelemetry, W3C trace context): an
accountant's request that issues invoices continues the caller's trace; the InvoiceIssued events carry it
in their envelopes (written with the invoices, in the outbox); reconciliation applies them in a span of that
trace (or linked to it, for a batch), and the request's log line names the trace."""

from __future__ import annotations

import io
import json
import random
from contextlib import redirect_stderr

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devinfra.testing import running_service, wait_until
from shared import tracing
from shared.auth import mint_token
from shared.events.envelope import unwrap
from shared.settings import DEV_JWT_SECRET
from simulator.people import pupil, roster_csv

pytestmark = pytest.mark.integration
SCHOOL = "TH-TRACE"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{TRACE}-00f067aa0ba902b7-01"


def _as(role: str) -> dict[str, str]:
    school = SCHOOL if role == "accountant" else None
    return {"Authorization": "Bearer " + mint_token(DEV_JWT_SECRET, role=role, school=school, subject="t")}


async def test_a_request_its_events_and_the_consumer_that_applies_them_share_one_trace(
    make_database, infra_endpoints, topic_prefix
):
    tracing.configure("tests")  # the process's provider (a service made earlier in the run may have made it)
    spans = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(spans))  # type: ignore[attr-defined]
    async with (
        running_service("invoicing", make_database, infra_endpoints, topic_prefix, log_level="INFO") as (inv, inv_app),
        running_service("reconciliation", make_database, infra_endpoints, topic_prefix, log_level="INFO") as (
            _,
            rec_app,
        ),
    ):
        school = {"name": "Trường Tiểu học Dấu Vết", "district_code": "HN-CAU-GIAY", "bank_bin": "970436",
                  "account_number": "0011003333333", "account_name": "TRUONG TH DAU VET"}  # fmt: skip
        assert (await inv.put(f"/schools/{SCHOOL}", headers=_as("service"), json=school)).status_code == 200
        kids = [pupil(random.Random(9), f"HS90{i:02d}", 2018) for i in range(3)]
        r = await inv.post(
            f"/schools/{SCHOOL}/roster", params={"mode": "apply"}, headers=_as("accountant"),
            files={"file": ("roster.csv", roster_csv([(k, "2", "2A") for k in kids]), "text/csv")},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        fee = {"name": "Học phí", "category": "tuition", "cadence": "monthly", "rates": [{"amount": 300_000}]}
        assert (
            await inv.put(f"/schools/{SCHOOL}/fee-items/HP", headers=_as("accountant"), json=fee)
        ).status_code == 204
        logged = io.StringIO()
        with redirect_stderr(logged):
            r = await inv.post(
                f"/schools/{SCHOOL}/periods/2026-12/invoices", headers=_as("accountant") | {"traceparent": CALLER},
                json={"due_date": "2026-12-15"},
            )  # fmt: skip
        assert r.status_code == 200 and r.json()["created"] == 3, r.text
        assert r.headers["traceparent"].split("-")[1] == TRACE  # the answer says which trace it was in
        # The access line of the request names the trace.
        lines = [json.loads(line) for line in logged.getvalue().splitlines() if line.startswith("{")]
        access = [x for x in lines if x.get("event") == "http.request" and x.get("route", "").endswith("/invoices")]
        assert access and access[-1]["trace_id"] == TRACE, lines[-3:]
        # The events, written with the invoices, carry the trace.
        rows = await inv_app.state.runtime.db().fetch(
            "SELECT payload FROM outbox WHERE event_type LIKE '%InvoiceIssued'"
        )
        assert len(rows) == 3
        assert {unwrap(bytes(r["payload"])).envelope.traceparent.split("-")[1] for r in rows} == {TRACE}

        async def booked() -> bool:
            return await rec_app.state.runtime.db().fetchval("SELECT count(*) FROM invoices") == 3

        await wait_until(booked, what="reconciliation's book")
    applied = [s for s in spans.get_finished_spans() if s.name.startswith("apply") and "InvoiceIssued" in s.name]
    assert applied, [s.name for s in spans.get_finished_spans()][:20]
    in_trace = [
        s
        for s in applied
        if format(s.context.trace_id, "032x") == TRACE
        or any(format(k.context.trace_id, "032x") == TRACE for k in s.links)
    ]
    assert in_trace and all(s.kind == trace.SpanKind.CONSUMER for s in in_trace)
    served = [s for s in spans.get_finished_spans() if s.kind == trace.SpanKind.SERVER and s.name.endswith("/invoices")]
    assert any(format(s.context.trace_id, "032x") == TRACE and s.parent is not None for s in served)
