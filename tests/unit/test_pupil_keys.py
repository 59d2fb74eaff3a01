"""Names sealed with a pupil's key open only with that key, for the event they were sealed for."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.events import pupil_keys
from tuition.common.v1.sealed_pb2 import Names

NAME = st.text(min_size=0, max_size=60)


@given(NAME, NAME, NAME)
def test_sealed_names_open_to_what_was_sealed(student: str, guardian: str, payer: str):
    key = pupil_keys.new_key(uuid.uuid4())
    names = Names(student_name=student, guardian_name=guardian, payer_name=payer)
    sealed = pupil_keys.seal(key, names, bound_to="invoice-1")
    assert sealed.key_id == str(key.key_id) and len(key.key) == 32
    assert pupil_keys.open_sealed(key.key, sealed, bound_to="invoice-1") == names
    # A name long enough not to turn up by chance in random bytes (a 1-byte one did) is not in the sealed value.
    if len(student.encode()) >= 8:
        assert student.encode() not in sealed.SerializeToString()


def test_another_key_another_event_or_a_changed_byte_does_not_open():
    key, other = pupil_keys.new_key(uuid.uuid4()), pupil_keys.new_key(uuid.uuid4())
    sealed = pupil_keys.seal(key, Names(student_name="Nguyễn Ngọc Bảo Anh"), bound_to="invoice-1")
    with pytest.raises(pupil_keys.SealedNameError, match="invoice-2"):
        pupil_keys.open_sealed(key.key, sealed, bound_to="invoice-2")
    with pytest.raises(pupil_keys.SealedNameError):
        pupil_keys.open_sealed(other.key, sealed, bound_to="invoice-1")
    changed = type(sealed)()
    changed.CopyFrom(sealed)
    changed.ciphertext = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(pupil_keys.SealedNameError):
        pupil_keys.open_sealed(key.key, changed, bound_to="invoice-1")
    # The key's id is bound too: a value relabelled with another key's id does not open.
    relabelled = type(sealed)()
    relabelled.CopyFrom(sealed)
    relabelled.key_id = str(other.key_id)
    with pytest.raises(pupil_keys.SealedNameError):
        pupil_keys.open_sealed(key.key, relabelled, bound_to="invoice-1")


def test_the_same_names_sealed_twice_differ():
    key = pupil_keys.new_key(uuid.uuid4())
    names = Names(student_name="Lê Minh")
    assert pupil_keys.seal(key, names, bound_to="i").ciphertext != pupil_keys.seal(key, names, bound_to="i").ciphertext
