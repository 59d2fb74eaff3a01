"""What can be read from a bank memo, whatever the bank did to it. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shared import payref

_QR_MEMO = re.compile(rf"\b(?:HP|GD)[{payref.ALPHABET}]{{8}} (?:T\d{{2}} \d{{4}}|GIA DINH)\b")
_NEAR_MISS = re.compile(r"\b(?:HP|GD)[A-Z0-9]{6,10}\b")
_DIGITS = re.compile(r"(?<!\d)\d{6,20}(?!\d)")
# Student codes of letters and digits ("NT260004", "HS2026A015"): a token with both, 4 to 20 long; and the
# same split by the bank or the payer ("NT 260004").
_CODE = re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{4,20}\b")
_SPLIT_CODE = re.compile(r"\b([A-Z]{1,4}) (\d{3,12})\b")


@dataclass(frozen=True, kw_only=True)
class MemoReading:
    references: tuple[str, ...]
    near_misses: tuple[str, ...] = ()
    # Digit runs and letter-digit codes: student codes are among them (the book decides, case-blind).
    numbers: tuple[str, ...] = ()
    looks_like_qr: bool = False
    folded: str = ""
    names: tuple[str, ...] = field(default=())
    compact: str = ""  # folded, without separators: what duplicates are compared on

    def as_dict(self) -> dict[str, object]:
        return {
            "references": list(self.references),
            "near_misses": list(self.near_misses),
            "numbers": list(self.numbers),
            "looks_like_qr": self.looks_like_qr,
        }


def read_memo(memo: str) -> MemoReading:
    """Everything the matcher and the duplicate check use, from one folding of the memo."""
    folded = " ".join(payref.fold_memo(memo).split())
    compact = re.sub(r"[^A-Z0-9]", "", folded)
    references = tuple(payref.references_in(compact))
    spaced = re.sub(r"[^A-Z0-9 ]", " ", folded)
    near = tuple(dict.fromkeys(t for t in _NEAR_MISS.findall(spaced) if not any(t in r or r in t for r in references)))
    codes = _CODE.findall(spaced) + [a + b for a, b in _SPLIT_CODE.findall(spaced)]
    numbers = tuple(dict.fromkeys(_DIGITS.findall(folded) + codes))
    return MemoReading(
        references=references,
        near_misses=near,
        numbers=numbers,
        looks_like_qr=bool(_QR_MEMO.search(folded)),
        folded=folded,
        compact=compact,
    )
