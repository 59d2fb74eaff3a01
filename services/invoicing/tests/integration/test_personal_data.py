"""Pupils' personal IDs and guardians' phones are sealed at rest and shown only to those who may see them."""

from __future__ import annotations

import dataclasses
import random
import uuid

import pytest

from devinfra.testing_files import SAMPLES
from shared.events import pupil_keys
from shared.events.envelope import unwrap
from simulator.people import pupil, roster_csv

from .conftest import SCHOOL, import_roster, register_school

pytestmark = pytest.mark.integration


async def test_ids_and_phones_are_sealed_in_the_database_and_open_for_the_accountant(invoicing):
    await register_school(invoicing)
    roster = (SAMPLES / "roster-mam-non.csv").read_bytes()
    assert (await import_roster(invoicing, roster)).status_code == 200

    rows = await invoicing.runtime.db().fetch("SELECT national_id, guardian_phone, family_key FROM students")
    assert rows and all(r["national_id"].startswith("sealed:v1:") for r in rows)
    assert all(r["guardian_phone"].startswith("sealed:v1:") for r in rows)
    shown = (await invoicing.client.get("/schools/MN-HOA-PHUONG/students", headers=invoicing.as_("accountant"))).json()
    text = roster.decode("utf-8-sig")
    assert all(s["guardian_phone"][-4:] in text for s in shown) and "national_id" not in shown[0]
    # Sealing is randomised: the same roster again must still compare equal, field by field.
    again = await import_roster(invoicing, roster, mode="preview")
    assert again.json()["updated"] == {} and again.json()["unchanged"] == len(shown)


async def test_a_pupils_data_is_exported_and_erased_while_the_invoices_stay(invoicing):
    from .test_invoicing_flow import _ready

    invoices = await _ready(invoicing)
    code = invoices[0]["student_code"]
    acc = invoicing.as_("accountant")
    base = f"/schools/MN-HOA-PHUONG/students/{code}"

    exported = (await invoicing.client.get(f"{base}/personal-data", headers=acc)).json()
    assert exported["student"]["national_id"].isdigit() and len(exported["student"]["national_id"]) == 12
    assert exported["student"]["guardian_phone"] and [i["period"] for i in exported["invoices"]] == ["2026-09"]

    r = await invoicing.client.post(
        f"{base}/erasure", headers=acc, json={"reason": "Phụ huynh yêu cầu, đơn ngày 20/11"}
    )
    assert r.status_code == 200, r.text
    row = await invoicing.runtime.db().fetchrow("SELECT * FROM students WHERE student_code = $1", code)
    assert (row["national_id"], row["guardian_phone"], row["guardian_name"], row["date_of_birth"]) == ("", "", "", None)
    assert row["erased_at"] is not None and row["left_at"] is not None
    # The accounting history is whole: the invoice is still there, with its amount and reference.
    invoice = await invoicing.client.get(f"/schools/MN-HOA-PHUONG/invoices/{invoices[0]['invoice_id']}", headers=acc)
    assert invoice.status_code == 200 and invoice.json()["total"] == invoices[0]["total"]
    after = (await invoicing.client.get(f"{base}/personal-data", headers=acc)).json()
    assert after["student"]["national_id"] == "" and after["erasures"][0]["erased_by"] == "test-accountant"
    again = await invoicing.client.post(f"{base}/erasure", headers=acc, json={"reason": "x"})
    assert again.status_code == 422 and "đã được xóa" in again.json()["detail"]


async def test_erasure_destroys_the_pupils_key_so_the_names_on_the_topics_no_longer_open(invoicing):
    from .test_invoicing_flow import _ready

    invoices = await _ready(invoicing)
    pool = invoicing.runtime.db()
    student_id = await pool.fetchval(
        "SELECT student_id FROM students WHERE student_code = $1", invoices[0]["student_code"]
    )
    issued = [
        unwrap(bytes(r["payload"])).payload
        for r in await pool.fetch("SELECT payload FROM outbox WHERE event_type = 'tuition.invoicing.v1.InvoiceIssued'")
    ]
    mine = next(e for e in issued if e.student_id == str(student_id))
    key = await pool.fetchval("SELECT key FROM pupil_keys WHERE key_id = $1", uuid.UUID(mine.sealed_names.key_id))
    assert pupil_keys.open_sealed(bytes(key), mine.sealed_names, bound_to=mine.invoice_id).student_name
    # A sealed value copied into another invoice's event does not open.
    with pytest.raises(pupil_keys.SealedNameError):
        pupil_keys.open_sealed(bytes(key), mine.sealed_names, bound_to=invoices[1]["invoice_id"])

    r = await invoicing.client.post(
        f"/schools/{SCHOOL}/students/{invoices[0]['student_code']}/erasure",
        headers=invoicing.as_("accountant"),
        json={"reason": "Phụ huynh yêu cầu"},
    )
    assert r.status_code == 200 and r.json()["keys_destroyed"] == 1, r.text
    assert await pool.fetchval("SELECT count(*) FROM pupil_keys WHERE student_id = $1", student_id) == 0
    assert await pool.fetchval("SELECT count(*) FROM pupil_keys") == len(issued) - 1
    destroyed = await pool.fetch(
        "SELECT kafka_key, payload FROM outbox WHERE event_type = 'tuition.invoicing.v1.PupilKeyDestroyed'"
    )
    # Keyed like the key's announcement: compaction keeps this record and drops the one with the key.
    assert [bytes(d["kafka_key"]).decode() for d in destroyed] == [str(student_id)]
    assert unwrap(bytes(destroyed[0]["payload"])).payload.key_id == mine.sealed_names.key_id


async def test_pupils_without_a_personal_id_are_imported_flagged_and_counted_for_the_district(invoicing):
    await register_school(invoicing)
    rng = random.Random(5)
    pupils = [pupil(rng, f"22{n:06d}", 2019) for n in range(4)]
    pupils[1] = dataclasses.replace(pupils[1], national_id="")  # not yet in the sector database
    pupils[3] = dataclasses.replace(pupils[3], national_id="")
    r = await import_roster(invoicing, roster_csv([(p, "Mẫu giáo lớn", "5A1") for p in pupils]))
    assert r.status_code == 200 and len(r.json()["created"]) == 4 and r.json()["errors"] == [], r.text
    assert r.json()["without_personal_id"] == [pupils[1].code, pupils[3].code]
    listed = (await invoicing.client.get(f"/schools/{SCHOOL}/students", headers=invoicing.as_("accountant"))).json()
    assert [s["has_personal_id"] for s in listed] == [True, False, True, False]
    flags = await invoicing.runtime.db().fetch("SELECT student_code, has_personal_id FROM students ORDER BY 1")
    assert [f["has_personal_id"] for f in flags] == [True, False, True, False]
    # One leaves (absent from the next file), one gets an ID: the count follows each import.
    pupils[3] = dataclasses.replace(pupils[3], national_id=pupil(random.Random(9), "x", 2019).national_id)
    r = await import_roster(invoicing, roster_csv([(p, "Mẫu giáo lớn", "5A1") for p in pupils[1:]]), confirm="+0 ~1 -1")
    assert r.status_code == 200, r.text
    counts = [
        unwrap(bytes(e["payload"])).payload
        for e in await invoicing.runtime.db().fetch(
            "SELECT payload FROM outbox WHERE event_type = 'tuition.invoicing.v1.RosterCounted' ORDER BY seq"
        )
    ]
    assert [(c.students, c.with_personal_id) for c in counts] == [(4, 2), (3, 2)]
    # Counts only: nothing of a pupil travels.
    assert {f.name for c in counts for f, _ in c.ListFields()} == {
        "school_id",
        "students",
        "with_personal_id",
        "counted_at",
    }
