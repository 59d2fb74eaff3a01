"""A new school year's moves (domain/school_year.py): classes promoted by their grade's number."""

from __future__ import annotations

import pytest

from invoicing.domain.school_year import Pupil, SchoolYearError, plan, previous_year, promoted_class


@pytest.mark.parametrize(
    ("class_name", "grade", "promoted"),
    [
        ("1A", "1", "2A"),
        ("6A1", "6", "7A1"),
        ("9A10", "9", "10A10"),
        ("10 C2", "10", "11 C2"),
        ("Lớp 3B", "3", "Lớp 4B"),
        ("5/3", "5", "6/3"),
        ("Chồi 2", "Chồi", None),  # a kindergarten's class: no grade number to move up
        ("2A", "3", None),  # the class says another grade than the roster: not guessed
        ("A1", "4", None),
    ],
)
def test_a_class_moves_up_under_the_next_grades_number(class_name, grade, promoted):
    assert promoted_class(class_name, grade) == promoted


def test_the_plan_promotes_graduates_holds_back_and_names_what_it_cannot_read():
    pupils = [
        Pupil(student_id=1, student_code="A", grade="4", class_name="4A", outstanding=0),
        Pupil(student_id=2, student_code="B", grade="5", class_name="5A", outstanding=300_000),
        Pupil(student_id=3, student_code="C", grade="4", class_name="4A", outstanding=100_000),
        Pupil(student_id=4, student_code="D", grade="4", class_name="Bốn A", outstanding=0),
    ]
    p = plan(pupils, last_grade=5, repeaters={"C"})
    assert {m.student_code: (m.outcome, m.new_class) for m in p.moves} == {
        "A": ("promoted", "5A"),
        "B": ("graduated", None),
        "C": ("repeated", "4A"),
    }
    assert p.unreadable == {"Bốn A": 1}
    assert p.fingerprint == "↑1 ✓1 =1"


@pytest.mark.parametrize("text", ["2026", "2026-2028", "2026-2025", "26-27"])
def test_a_school_year_is_two_consecutive_years(text):
    with pytest.raises(SchoolYearError, match="hai năm liền nhau"):
        previous_year(text)
    assert previous_year("2026-2027") == "2025-2026"
