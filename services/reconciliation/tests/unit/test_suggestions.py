"""The queue's suggestions: the pupils a memo names, the references one character off (domain/suggestions.py)."""

from __future__ import annotations

import pytest

from reconciliation.domain.memo import read_memo
from reconciliation.domain.suggestions import Directory, Pupil, one_edit_apart
from shared import payref

YEN = Pupil(
    invoice_id="i-yen",
    student_code="HS001",
    student_name="Dương Diệu Yến",
    class_name="3A",
    payment_reference=payref.make_reference(1),
)
AN = Pupil(
    invoice_id="i-an",
    student_code="HS002",
    student_name="Nguyễn Văn An",
    class_name="1B",
    payment_reference=payref.make_reference(2),
)
ANH = Pupil(
    invoice_id="i-anh",
    student_code="HS003",
    student_name="Nguyễn Văn Anh",
    class_name="1B",
    payment_reference=payref.make_reference(3),
)
BOOK = Directory([YEN, AN, ANH])


def _swap(ref: str, i: int) -> str:
    return ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :]


@pytest.mark.parametrize(
    ("a", "b", "apart"),
    [
        ("HP3469ACDE", "HP3469ACDF", True),  # one changed
        ("HP3469ACDE", "HP349ACDE", True),  # one missing
        ("HP3469ACDE", "HP34769ACDE", True),  # one added
        ("HP3469ACDE", "HP3649ACDE", True),  # two neighbours swapped
        ("HP3469ACDE", "HP3469ACDE", False),  # the same is not a suggestion: it matched or is unknown
        ("HP3469ACDE", "HP3469AXYE", False),  # two changed
        ("HP3469ACDE", "HP6439ACDE", False),  # two far apart swapped
        ("HP3469ACDE", "HP3469AC", False),  # two missing
    ],
)
def test_one_edit_apart(a, b, apart):
    assert one_edit_apart(a, b) is apart
    assert one_edit_apart(b, a) is apart


def test_a_reference_with_one_character_mistyped_suggests_its_invoice():
    ref = YEN.payment_reference
    mistyped = ref[:5] + ("X" if ref[5] != "X" else "Y") + ref[6:]
    assert payref.references_in(mistyped) == []  # the check character refuses it: the matcher could not place it
    reading = read_memo(f"MBVCB.123456.{mistyped} CHUYEN TIEN HOC PHI")
    [s] = BOOK.suggest(reading)
    assert (s.invoice_id, s.why, s.read) == ("i-yen", "reference_one_off", mistyped)


def test_two_swapped_characters_suggest_the_invoice_too():
    reading = read_memo(f"IBFT {_swap(AN.payment_reference, 4)} NOP TIEN")
    assert [(s.invoice_id, s.why) for s in BOOK.suggest(reading)] == [("i-an", "reference_one_off")]


def test_the_pupil_named_without_diacritics_is_suggested():
    reading = read_memo("MBVCB.99887766.DUONG DIEU YEN LOP 3A NOP HOC PHI T10")
    assert [(s.invoice_id, s.why, s.read) for s in BOOK.suggest(reading)] == [("i-yen", "name", "DUONG DIEU YEN")]


def test_a_name_is_read_as_whole_words_an_is_not_anh():
    reading = read_memo("NGUYEN VAN ANH 1B HOC PHI")
    assert [s.invoice_id for s in BOOK.suggest(reading)] == ["i-anh"]


def test_a_memo_cut_short_inside_the_name_still_suggests_it():
    # The bank kept the memo's first characters: "... NGUYEN VAN AN" of "NGUYEN VAN ANH" is ambiguous, both
    # suggested; "DUONG DIEU Y" can only be Yến.
    assert [s.invoice_id for s in BOOK.suggest(read_memo("CT TU 0123 NOP HP DUONG DIEU Y"))] == ["i-yen"]
    cut = [s.invoice_id for s in BOOK.suggest(read_memo("CT TU 0123 NOP HP NGUYEN VAN AN"))]
    assert sorted(cut) == ["i-an", "i-anh"]


def test_a_family_name_alone_or_a_given_name_alone_suggests_nobody():
    assert BOOK.suggest(read_memo("NGUYEN NOP TIEN HOC")) == []
    assert BOOK.suggest(read_memo("YEN NOP HOC PHI")) == []
    assert BOOK.suggest(read_memo("CHUYEN TIEN")) == []
