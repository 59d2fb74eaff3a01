"""Which pupils a memo the matcher could not place seems to be about, for the accountant to choose from.
Pure; a suggestion is never applied by itself.

Two kinds, as parents really write:
- **a reference one character off**: a token shaped like a payment reference ("HP" + 8) that is not one, at
  one edit (a character changed, missing, added, or two swapped) from an open invoice's reference;
- **the pupil's name**: the pupil's full name, folded like the memo (no diacritics, upper case), as
  consecutive words of the memo; a memo cut short by the bank in the middle of the name counts when at least
  two words matched and the last word cut is the beginning of the name's next one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from reconciliation.domain.memo import MemoReading
from shared import payref

MAX_SUGGESTIONS = 8


@dataclass(frozen=True, kw_only=True)
class Pupil:
    """An open invoice as the suggestions see it."""

    invoice_id: str
    student_code: str
    student_name: str
    class_name: str
    payment_reference: str


@dataclass(frozen=True, kw_only=True)
class Suggestion:
    invoice_id: str
    why: str  # "reference_one_off" | "name"
    read: str  # what in the memo it rests on: the mistyped reference, or the name's words


def one_edit_apart(a: str, b: str) -> bool:
    """True when `a` becomes `b` by one substitution, insertion, deletion or swap of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


def _words(text: str) -> list[str]:
    return re.sub(r"[^A-Z0-9]", " ", payref.fold_memo(text)).split()


def _name_at(memo_words: list[str], start: int, name_words: list[str]) -> bool:
    """The name reads from `start`: whole, or cut short by the bank at the memo's end after two words."""
    n = len(name_words)
    run = 0
    while run < n and start + run < len(memo_words) and memo_words[start + run] == name_words[run]:
        run += 1
    if run == n:
        return True
    at_end = start + run == len(memo_words) - 1
    return run >= 2 and at_end and name_words[run].startswith(memo_words[-1])


class Directory:
    """The school's open invoices, indexed for suggestions: by reference, and by the first two words of the
    pupil's name (one word is a given name shared by half the school: never a suggestion by itself)."""

    def __init__(self, pupils: Iterable[Pupil]) -> None:
        self._pupils = list(pupils)
        self._names: dict[tuple[str, str], list[tuple[Pupil, list[str]]]] = {}
        for p in self._pupils:
            words = _words(p.student_name)
            if len(words) >= 2:
                self._names.setdefault((words[0], words[1]), []).append((p, words))

    def suggest(self, reading: MemoReading) -> list[Suggestion]:
        """The open invoices the memo points to, references first; at most MAX_SUGGESTIONS."""
        near = [t for t in reading.near_misses if len(t) >= payref.LENGTH - 1]
        found: dict[str, Suggestion] = {}
        if near:
            for p in self._pupils:
                miss = next((t for t in near if one_edit_apart(t, p.payment_reference)), None)
                if miss is not None:
                    found.setdefault(
                        p.invoice_id, Suggestion(invoice_id=p.invoice_id, why="reference_one_off", read=miss)
                    )
        memo_words = re.sub(r"[^A-Z0-9]", " ", reading.folded).split()
        for i in range(len(memo_words) - 1):
            for p, words in self._names.get((memo_words[i], memo_words[i + 1]), ()):
                if p.invoice_id not in found and _name_at(memo_words, i, words):
                    found[p.invoice_id] = Suggestion(invoice_id=p.invoice_id, why="name", read=" ".join(words))
        return list(found.values())[:MAX_SUGGESTIONS]
