"""Changing a service's data key on the real PostgreSQL: with the new key writing and the old one still read,
the service works on what the old key sealed; `tuition reseal <service>` (the command an operator runs) seals
every stored value again with the new key, and seals what was stored before sealing existed; after it the old
key can go: nothing needs it. Run again, it changes nothing."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import asyncpg
import pytest

from devinfra.testing import running_service
from shared.auth import mint_token
from shared.sealed import PREFIX, Sealer, SealError
from shared.settings import DEV_JWT_SECRET
from simulator.people import pupil, roster_csv

pytestmark = pytest.mark.integration
OLD, NEW = "old-data-key-9f8e7d6c5b4a39281706f5e4d3c2b1a0", "new-data-key-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
SCHOOL = "TH-XUAN-DINH"


def _staff(role: str = "accountant") -> dict[str, str]:
    school = SCHOOL if role == "accountant" else None
    return {"Authorization": "Bearer " + mint_token(DEV_JWT_SECRET, role=role, school=school, subject="kt")}


def _reseal(service: str, database: str, pg_dsn: str) -> dict[str, int]:
    prefix = service.upper()
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)} | {
        "PG_DSN": pg_dsn,
        f"{prefix}_DATABASE": database,
        f"{prefix}_DATA_KEY": NEW,
        f"{prefix}_DATA_KEYS_PREVIOUS": OLD,
    }
    done = subprocess.run(
        [sys.executable, "-m", "suite.cli", "reseal", service], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["resealed"]  # type: ignore[no-any-return]


async def _stored(pool: asyncpg.Pool, query: str) -> list[str]:
    return [v for r in await pool.fetch(query) for v in r.values() if v is not None]


async def test_a_new_data_key_reads_the_old_ones_values_and_reseal_moves_them_all(
    make_database, infra_endpoints, topic_prefix
):
    kids = [pupil(random.Random(5), f"HS77{i:02d}", 2017) for i in range(3)]
    async with running_service(
        "invoicing", make_database, infra_endpoints, topic_prefix, data_key=OLD
    ) as (client, app):  # fmt: skip
        school = {"name": "Trường Tiểu học Xuân Đỉnh", "district_code": "HN-BAC-TU-LIEM", "bank_bin": "970436",
                  "account_number": "0011007777777", "account_name": "TRUONG TH XUAN DINH"}  # fmt: skip
        assert (await client.put(f"/schools/{SCHOOL}", headers=_staff("service"), json=school)).status_code == 200
        roster = roster_csv([(k, "3", "3A") for k in kids])
        r = await client.post(
            f"/schools/{SCHOOL}/roster", params={"mode": "apply"}, headers=_staff(),
            files={"file": ("roster.csv", roster, "text/csv")},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        pool = app.state.runtime.db()
        database = app.state.settings.database
        # A value written before sealing existed: kept in clear until it is next written.
        await pool.execute("UPDATE students SET guardian_email = 'me.hs7700@example.vn' WHERE student_code = 'HS7700'")
    async with running_service(
        "invoicing", make_database, infra_endpoints, topic_prefix, data_key=NEW, data_keys_previous=OLD,
        database=database,
    ) as (client, app):  # fmt: skip
        # The rotation under way: the new key writes, the old one is still read.
        r = await client.get(f"/schools/{SCHOOL}/students", headers=_staff())
        assert r.status_code == 200 and {s["guardian_phone"] for s in r.json()} == {k.phone for k in kids}, r.text
        pool = app.state.runtime.db()
        with pytest.raises(SealError):  # without the old key, what it sealed cannot be read
            Sealer(NEW).open((await _stored(pool, "SELECT guardian_phone FROM students"))[0])
        resealed = _reseal("invoicing", database, infra_endpoints.pg_dsn)
        assert resealed["students.national_id"] == resealed["students.guardian_phone"] == 3
        assert resealed["students.guardian_email"] == 1  # the one in clear, now sealed
        values = await _stored(pool, "SELECT national_id, guardian_phone, guardian_email FROM students")
        assert len(values) == 7 and all(v.startswith(PREFIX) for v in values)
        opened = {Sealer(NEW).open(v) for v in values}  # the new key alone opens every one
        assert {k.phone for k in kids} | {k.national_id for k in kids} | {"me.hs7700@example.vn"} == opened
        again = _reseal("invoicing", database, infra_endpoints.pg_dsn)
        assert set(again.values()) == {0}


async def test_reseal_moves_reconciliations_webhook_secrets_and_the_webhook_still_signs_in(
    make_database, infra_endpoints, topic_prefix
):
    hook = {"scheme": "apikey", "secret": "sepay-key-of-xuan-dinh-0001"}
    async with running_service(
        "reconciliation", make_database, infra_endpoints, topic_prefix, data_key=OLD
    ) as (client, app):  # fmt: skip
        for provider in ("sepay", "casso"):
            body = hook if provider == "sepay" else {"scheme": "hmac", "secret": "casso-checksum-0002"}
            r = await client.put(f"/schools/{SCHOOL}/webhooks/{provider}", headers=_staff(), json=body)
            assert r.status_code == 204, r.text
        database = app.state.settings.database
    resealed = _reseal("reconciliation", database, infra_endpoints.pg_dsn)
    assert resealed == {"webhook_configs.secret": 2, "webhook_configs.api_key": 0}
    async with running_service(
        "reconciliation", make_database, infra_endpoints, topic_prefix, data_key=NEW, database=database
    ) as (client, app):  # fmt: skip
        secrets = await _stored(app.state.runtime.db(), "SELECT secret FROM webhook_configs ORDER BY provider")
        assert [Sealer(NEW).open(s) for s in secrets] == ["casso-checksum-0002", "sepay-key-of-xuan-dinh-0001"]
        # The old key gone: an aggregator's call with the school's key is still recognised, a wrong one is not.
        wrong = await client.post(f"/webhooks/sepay/{SCHOOL}", json={}, headers={"Authorization": "Apikey nope"})
        right = await client.post(
            f"/webhooks/sepay/{SCHOOL}", json={}, headers={"Authorization": f"Apikey {hook['secret']}"}
        )
        assert wrong.status_code == 401 and right.status_code == 422, (wrong.text, right.text)
