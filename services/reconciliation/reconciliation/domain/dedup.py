"""Is an arriving credit one already in the books? The rule, pure (issue 5 §2).

Same credit: same account, amount and local date, and either a shared identifier (webhook id, bank
reference, NtryRef, AcctSvcrRef, TxId), or—when no identifier is shared—a memo that is the same (or one is
the other cut short, or both name the same payment reference) on a stored credit not yet delivered by this
kind of source. That last condition keeps two genuinely identical transfers apart: each statement line
takes one webhook credit, the earliest.
"""

from __future__ import annotations

import uuid
from bisect import bisect_left, insort
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

MIN_MEMO_FOR_DEDUP = 8


@dataclass(kw_only=True)
class Known:
    credit_id: uuid.UUID
    booked_at: datetime
    memo_compact: str
    memo_refs: frozenset[str]
    identifiers: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    state: str = ""
    reason_code: str = ""


Key = tuple[str, int, date]


def memos_agree(a: str, b: str, refs_a: frozenset[str], refs_b: frozenset[str]) -> bool:
    if refs_a & refs_b:
        return True
    if len(a) < MIN_MEMO_FOR_DEDUP or len(b) < MIN_MEMO_FOR_DEDUP:
        return False
    return a.startswith(b) or b.startswith(a)


class DedupIndex:
    """Indexed so that a day of identical amounts (hundreds of parents paying the same fee, their memos
    alike for the first characters) stays near linear: by identifier, by payment reference, and by memo, a
    sorted list per key giving the stored memos the arriving one is a start of, and a dictionary the stored
    memos that are a start of the arriving one."""

    def __init__(self) -> None:
        self._by_id: dict[tuple[Key, str], Known] = {}
        self._by_ref: dict[tuple[Key, str], list[Known]] = defaultdict(list)
        self._by_memo: dict[tuple[Key, str], list[Known]] = defaultdict(list)
        self._memos: dict[Key, list[str]] = defaultdict(list)  # sorted, each memo once

    def add(self, key: Key, known: Known) -> None:
        self.remember(key, known, known.identifiers)
        for ref in known.memo_refs:
            self._by_ref[(key, ref)].append(known)
        memo = known.memo_compact
        if len(memo) >= MIN_MEMO_FOR_DEDUP:
            if (key, memo) not in self._by_memo:
                insort(self._memos[key], memo)
            self._by_memo[(key, memo)].append(known)

    def remember(self, key: Key, known: Known, identifiers: set[str] | list[str]) -> None:
        known.identifiers.update(identifiers)
        for i in identifiers:
            self._by_id.setdefault((key, i), known)

    def _same_memo(self, key: Key, memo: str) -> list[Known]:
        """Stored credits whose memo is `memo` cut short, or starts with `memo`."""
        if len(memo) < MIN_MEMO_FOR_DEDUP:
            return []
        found = [k for n in range(MIN_MEMO_FOR_DEDUP, len(memo)) for k in self._by_memo.get((key, memo[:n]), [])]
        memos = self._memos.get(key, [])
        i = bisect_left(memos, memo)
        while i < len(memos) and memos[i].startswith(memo):
            found += self._by_memo[(key, memos[i])]
            i += 1
        return found

    def find(
        self, key: Key, *, identifiers: set[str], memo_compact: str, memo_refs: frozenset[str], source_kind: str
    ) -> Known | None:
        for i in identifiers:
            hit = self._by_id.get((key, i))
            if hit is not None:
                return hit
        candidates = [k for ref in memo_refs for k in self._by_ref.get((key, ref), [])]
        candidates += self._same_memo(key, memo_compact)
        fallback = [
            k
            for k in candidates
            if source_kind not in k.sources and memos_agree(k.memo_compact, memo_compact, k.memo_refs, memo_refs)
        ]
        return min(fallback, key=lambda k: (k.booked_at, str(k.credit_id))) if fallback else None
