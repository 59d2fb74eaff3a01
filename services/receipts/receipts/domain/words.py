"""Amounts in Vietnamese words, as receipts print them: 1500000 → "Một triệu năm trăm nghìn đồng".

Reading rules (the accounting convention): groups of three digits; a group after the first is read in full
("không trăm", "linh"); an all-zero group is skipped; after "mươi" 1 is "mốt", 4 is "tư", 5 is "lăm";
after "mười" 5 is "lăm"; "linh" for a zero tens digit.
"""

from __future__ import annotations

DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]
UNITS = ["", "nghìn", "triệu", "tỷ", "nghìn tỷ", "triệu tỷ", "tỷ tỷ"]


def _group(n: int, *, full: bool) -> list[str]:
    h, t, u = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if full or h:
        words += [DIGITS[h], "trăm"]
    if t == 0:
        if u:
            if full or h:
                words.append("linh")
            words.append(DIGITS[u])
    elif t == 1:
        words.append("mười")
        if u:
            words.append("lăm" if u == 5 else DIGITS[u])
    else:
        words += [DIGITS[t], "mươi"]
        if u:
            words.append({1: "mốt", 4: "tư", 5: "lăm"}.get(u, DIGITS[u]))
    return words


def amount_in_words(amount: int) -> str:
    if amount < 0:
        raise ValueError("a receipt amount cannot be negative")
    if amount == 0:
        return "Không đồng"
    groups = []
    while amount:
        amount, g = divmod(amount, 1000)
        groups.append(g)
    words: list[str] = []
    for i in range(len(groups) - 1, -1, -1):
        if groups[i] == 0:
            continue
        words += _group(groups[i], full=i != len(groups) - 1)
        if UNITS[i]:
            words.append(UNITS[i])
    text = " ".join(words)
    return text[0].upper() + text[1:] + " đồng"
