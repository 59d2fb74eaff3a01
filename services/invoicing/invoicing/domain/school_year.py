"""A new school year: every pupil moves up a grade (1A → 2A, 10A1 → 11A1), the last grade graduates, pupils
held back stay where they are. Pure: the plan is computed from the roster and shown before anything changes.

A class is read as its grade's number followed by the class's own mark ("1A", "6A1", "10 C2", "Lớp 3B",
"5/3"); the promoted class keeps the mark under the next grade's number. A class whose name does not start
with its pupils' grade cannot be promoted by rule: the plan names it and nothing is applied until the
roster says which class those pupils go to.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_CLASS = re.compile(r"^(?P<prefix>(?:lớp|lop)\s*)?(?P<grade>\d{1,2})(?P<mark>.*)$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})-(\d{4})$")


class SchoolYearError(ValueError):
    """A school year or a plan that cannot be read."""


def parse_year(text: str) -> tuple[int, int]:
    """'2026-2027' → (2026, 2027): two consecutive years."""
    m = _YEAR.match(text.strip())
    if not m or int(m.group(2)) != int(m.group(1)) + 1:
        raise SchoolYearError(f"Năm học phải là hai năm liền nhau, ví dụ 2026-2027 (nhận được «{text[:20]}»).")
    return int(m.group(1)), int(m.group(2))


def previous_year(text: str) -> str:
    first, _ = parse_year(text)
    return f"{first - 1}-{first}"


def promoted_class(class_name: str, grade: str) -> str | None:
    """The class a pupil of `class_name` (grade `grade`) goes to next year; None when the name does not start
    with the grade's number."""
    m = _CLASS.match(class_name.strip())
    if not m or not grade.strip().isdigit() or int(m.group("grade")) != int(grade):
        return None
    return f"{m.group('prefix') or ''}{int(grade) + 1}{m.group('mark')}"


@dataclass(frozen=True, kw_only=True)
class Pupil:
    student_id: object
    student_code: str
    grade: str
    class_name: str
    outstanding: int  # đồng still owed on the pupil's open invoices: it stays owed, whatever the move


@dataclass(frozen=True, kw_only=True)
class Move:
    student_id: object
    student_code: str
    outcome: str  # promoted | graduated | repeated
    grade: str
    class_name: str
    new_grade: str | None
    new_class: str | None
    outstanding: int


@dataclass(kw_only=True)
class Plan:
    moves: list[Move] = field(default_factory=list)
    unreadable: dict[str, int] = field(default_factory=dict)  # class name → pupils, not promotable by rule

    @property
    def counts(self) -> Counter[str]:
        return Counter(m.outcome for m in self.moves)

    @property
    def fingerprint(self) -> str:
        """What the accountant confirmed: the counts; applying refuses a roster that changed since."""
        c = self.counts
        return f"↑{c['promoted']} ✓{c['graduated']} ={c['repeated']}"

    def by_class(self) -> list[dict[str, object]]:
        rows: dict[tuple[str, str, str], list[Move]] = {}
        for m in self.moves:
            rows.setdefault((m.class_name, m.outcome, m.new_class or ""), []).append(m)
        return [
            {
                "class_name": k[0],
                "outcome": k[1],
                "new_class": k[2] or None,
                "pupils": len(v),
                "outstanding": sum(m.outstanding for m in v),
            }
            for k, v in sorted(rows.items(), key=lambda kv: (_order(kv[0][0]), kv[0]))
        ]


def _order(class_name: str) -> tuple[int, str]:
    m = _CLASS.match(class_name)
    return (int(m.group("grade")) if m else 99, class_name)


def plan(pupils: list[Pupil], *, last_grade: int, repeaters: set[str]) -> Plan:
    """Every pupil's move; repeaters stay in their class, the last grade graduates, the others move up."""
    out = Plan()
    for p in sorted(pupils, key=lambda p: (_order(p.class_name), p.student_code)):

        def move(outcome: str, new_grade: str | None, new_class: str | None, p: Pupil = p) -> Move:
            return Move(
                student_id=p.student_id,
                student_code=p.student_code,
                outcome=outcome,
                grade=p.grade,
                class_name=p.class_name,
                new_grade=new_grade,
                new_class=new_class,
                outstanding=p.outstanding,
            )

        if p.student_code in repeaters:
            out.moves.append(move("repeated", p.grade, p.class_name))
            continue
        if p.grade.strip().isdigit() and int(p.grade) >= last_grade:
            out.moves.append(move("graduated", None, None))
            continue
        new_class = promoted_class(p.class_name, p.grade)
        if new_class is None:
            out.unreadable[p.class_name] = out.unreadable.get(p.class_name, 0) + 1
            continue
        out.moves.append(move("promoted", str(int(p.grade) + 1), new_class))
    return out
