"""Payment references: the code a parent's transfer memo carries so that a credit finds its invoice.

Invoicing issues them and reconciliation finds them in memos, so the format lives here, once.

Format: a 2-letter kind (`HP` one invoice, `GD` a family's set of invoices) + 7 body characters + 1 check
character = 10 characters, from an alphabet without look-alikes (no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V). It
survives what banks do to memos: upper-casing (it is upper case), diacritics stripping (it has none),
spaces removed or inserted and prefixes added (the finder searches the memo with separators removed),
and truncation (the length is fixed, so a cut reference is never complete). The check character
(Luhn mod 24) detects every single-character substitution and most adjacent transpositions.
Fits VietQR's purpose field (25 characters; 19 in some apps) with room to spare.
"""

from __future__ import annotations

import re
import unicodedata

# 24 characters: Luhn mod N catches every single substitution only for an even N (for odd N the doubling
# step is not a permutation), so V (read as U) is left out too.
ALPHABET = "34679ACDEFGHJKMNPQRTUWXY"
BASE = len(ALPHABET)  # 24
BODY_LENGTH = 7
KINDS = ("HP", "GD")
LENGTH = 2 + BODY_LENGTH + 1
SPACE = BASE**BODY_LENGTH  # 4,586,471,424 references per kind
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
# Multiplier coprime with 24: n → n·M + K mod 24^7 is a bijection, so distinct counters give distinct
# bodies (no collision check needed, even for a million invoices at once) that do not look sequential.
_MULT = 1_640_531_527
_OFFSET = 982_451_653
_PATTERN = re.compile(rf"(?=((?:{'|'.join(KINDS)})[{ALPHABET}]{{{BODY_LENGTH + 1}}}))")


class PaymentReferenceError(ValueError):
    """Why a string is not a valid payment reference."""


def _luhn_sum(chars: str, *, with_check: bool) -> int:
    factor = 1 if with_check else 2
    total = 0
    for ch in reversed(chars):
        addend = factor * _INDEX[ch]
        total += addend // BASE + addend % BASE
        factor = 1 if factor == 2 else 2
    return total


def check_char(payload: str) -> str:
    """The check character of `payload` (kind + body)."""
    return ALPHABET[(BASE - _luhn_sum(payload, with_check=False) % BASE) % BASE]


def make_reference(counter: int, kind: str = "HP") -> str:
    """The reference for the `counter`-th value of the district's sequence."""
    if kind not in KINDS:
        raise ValueError(f"unknown reference kind {kind!r}")
    if not 0 <= counter < SPACE:
        raise ValueError("reference counter out of range")
    n = (counter * _MULT + _OFFSET) % SPACE
    body = []
    for _ in range(BODY_LENGTH):
        n, digit = divmod(n, BASE)
        body.append(ALPHABET[digit])
    payload = kind + "".join(reversed(body))
    return payload + check_char(payload)


def validate(reference: str) -> str:
    """The reference, normalised, or PaymentReferenceError saying what is wrong."""
    ref = reference.strip().upper()
    if len(ref) != LENGTH:
        raise PaymentReferenceError(f"Mã thanh toán có {LENGTH} ký tự (nhận được {len(ref)}).")
    if ref[:2] not in KINDS:
        raise PaymentReferenceError(f"Mã thanh toán bắt đầu bằng {' hoặc '.join(KINDS)} (nhận được {ref[:2]!r}).")
    bad = sorted({c for c in ref[2:] if c not in _INDEX})
    if bad:
        raise PaymentReferenceError(f"Ký tự không dùng trong mã thanh toán: {''.join(bad)!r}.")
    if _luhn_sum(ref, with_check=True) % BASE != 0:
        raise PaymentReferenceError("Ký tự kiểm tra không khớp: có ký tự gõ nhầm hoặc thiếu.")
    return ref


def is_valid(reference: str) -> bool:
    try:
        validate(reference)
    except PaymentReferenceError:
        return False
    return True


def fold_memo(memo: str) -> str:
    """A memo as banks deliver it, folded: no diacritics, upper case, NFC."""
    if memo.isascii():  # what banks almost always send: nothing to decompose
        return memo.upper()
    decomposed = unicodedata.normalize("NFD", memo.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", stripped).upper()


def find_references(memo: str) -> list[str]:
    """Every valid reference in a mangled memo, in order of appearance, without repeats.

    Separators (spaces, dots, dashes, line breaks) are removed first, so a reference split by a space
    or wrapped across lines is still found; candidates are kept only when their check character holds.
    """
    return references_in(compact_memo(memo))


def compact_memo(memo: str) -> str:
    """The folded memo without separators: what references are looked for in."""
    return re.sub(r"[^A-Z0-9]", "", fold_memo(memo))


def references_in(compact: str) -> list[str]:
    """find_references on a memo already compacted (`compact_memo`)."""
    found: list[str] = []
    for match in _PATTERN.finditer(compact):
        candidate = match.group(1)
        if candidate not in found and is_valid(candidate):
            found.append(candidate)
    return found
