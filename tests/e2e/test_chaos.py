"""The short form of `make chaos`: payments under SIGKILLs, broker and database restarts and a frozen
consumer end with every invariant holding (simulator/chaos.py says which)."""

from __future__ import annotations

import uuid

import pytest

from simulator import chaos

from .test_district_day import _free_base

pytestmark = pytest.mark.integration


async def test_payments_under_faults_are_neither_lost_nor_doubled(infra_endpoints):
    prefix = f"chaos{uuid.uuid4().hex[:6]}"
    try:
        report = await chaos.run(short=True, control=chaos.InfraControl.local(), port_base=_free_base(), prefix=prefix)
        print("\n".join(f"  {k}: {v}" for k, v in report.items()))
        assert chaos.check(report) == [], report
        assert report["bank credits sent / held"][0] > 100
        assert report["webhook deliveries (duplicates included)"] > report["bank credits sent / held"][0]
        assert sum(f.startswith("SIGKILL") for f in report["faults injected"]) >= 4
    finally:
        await chaos.cleanup(infra_endpoints.pg_dsn, infra_endpoints.kafka, prefix)
