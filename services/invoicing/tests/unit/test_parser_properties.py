"""Hostile input, as properties: the VietQR decoder and the roster readers answer every input with a
result or their own error, never with anything else."""

from __future__ import annotations

import string

from hypothesis import given, note
from hypothesis import strategies as st

from invoicing.adapters import vietqr
from invoicing.adapters.roster_files import RosterFileError, read_roster
from invoicing.domain.roster import validate_row

BASIC = string.ascii_letters + string.digits + " "


@given(st.text())
def test_the_decoder_answers_any_text_with_a_payload_or_a_reason(text):
    try:
        vietqr.decode(text)
    except vietqr.VietQRError as exc:
        assert str(exc)


@given(
    bin=st.from_regex(r"97[0-9]{4}", fullmatch=True),
    account=st.from_regex(r"[0-9A-Za-z]{1,19}", fullmatch=True),
    amount=st.one_of(st.none(), st.integers(min_value=1, max_value=9_999_999_999_999)),
    purpose=st.one_of(st.none(), st.text(alphabet=BASIC, min_size=1, max_size=25)),
)
def test_what_is_encoded_decodes_to_the_same_fields(bin, account, amount, purpose):
    payload = vietqr.encode(bin=bin, account=account, amount=amount, purpose=purpose)
    decoded = vietqr.decode(payload)
    assert (decoded.bin, decoded.account, decoded.amount, decoded.purpose) == (bin, account, amount, purpose)


@given(
    account=st.from_regex(r"[0-9]{6,19}", fullmatch=True),
    amount=st.integers(min_value=1, max_value=10**12),
    data=st.data(),
)
def test_any_single_changed_character_is_caught(account, amount, data):
    payload = vietqr.encode(bin="970436", account=account, amount=amount, purpose="HP7K2QX9 T09 2026")
    i = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    c = data.draw(st.sampled_from(string.digits + string.ascii_uppercase).filter(lambda c: c != payload[i]))
    changed = payload[:i] + c + payload[i + 1 :]
    note(changed)
    try:
        decoded = vietqr.decode(changed)
    except vietqr.VietQRError:
        return
    raise AssertionError(f"a changed payload decoded: {decoded}")


@given(st.binary(max_size=4096), st.sampled_from(["ds.csv", "ds.xlsx", "ds.txt", ""]))
def test_a_roster_file_of_any_bytes_gives_rows_or_a_reason(data, filename):
    try:
        read_roster(filename, data)
    except RosterFileError as exc:
        assert str(exc)


HEADER = "Mã học sinh,Họ và tên,Ngày sinh,Khối,Lớp,Mã định danh,Họ tên cha/mẹ,Số điện thoại,Đối tượng miễn giảm"


@given(st.lists(st.lists(st.text(max_size=30), min_size=0, max_size=12), max_size=20))
def test_roster_rows_of_any_text_are_read_and_validated_without_a_crash(rows):
    import csv
    import io

    out = io.StringIO()
    csv.writer(out).writerows(rows)
    text = HEADER + "\n" + out.getvalue()
    try:
        raw = read_roster("ds.csv", text.encode("utf-8", "surrogatepass"))
    except RosterFileError:
        return
    for row in raw:
        student, errors = validate_row(
            row.line, row.values, policy_aliases={}, today=__import__("datetime").date(2026, 9, 1)
        )
        assert (student is None) == bool(errors) or student is None
