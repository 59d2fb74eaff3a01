"""Receipt series rules (Decree 123/2020/ND-CP; Circular 78/2021/TT-BTC): pure.

A series is registered before use with a number range; numbers are strictly sequential within it; the
series code's last two digits are the year it is used in; a new series begins at the year's turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.errors import Invalid

_SERIES = re.compile(r"^[A-Z][A-Z0-9-]{0,6}(\d{2})$")
_FORM = re.compile(r"^[0-9A-Z][0-9A-Z/-]{1,19}$")


class SeriesError(Invalid, ValueError):
    """A series registration the rules refuse; the message says which rule."""


def validate_registration(form_code: str, series_code: str, year: int, range_from: int, range_to: int) -> None:
    if not _FORM.match(form_code):
        raise SeriesError(f"Mẫu số {form_code!r}: 2–20 chữ in hoa, chữ số, '-' hoặc '/'.")
    m = _SERIES.match(series_code)
    if not m:
        raise SeriesError(f"Ký hiệu {series_code!r}: một chữ cái, tối đa 6 chữ/số/'-', rồi hai số cuối của năm.")
    if int(m.group(1)) != year % 100:
        raise SeriesError(f"Ký hiệu {series_code!r} kết thúc bằng {m.group(1)}, nhưng dãy số dùng cho năm {year}.")
    if not 1 <= range_from <= range_to:
        raise SeriesError(f"Dãy số {range_from}–{range_to} không hợp lệ.")


def codes_for_year(series_code: str, year: int) -> list[str]:
    """Codes a new series of the year may take, in order: the same code with the year's digits, then with a
    letter more (AB26 → AB27, ABA27, ABB27 …), for when the year's first series runs out of numbers. Each
    fits the code rule (a letter, up to 6 more, the year's two digits)."""
    base = series_code[:-2]
    yy = f"{year % 100:02d}"
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [base + yy] + [base[:6] + c + yy for c in letters]


@dataclass(frozen=True)
class Remaining:
    left: int
    size: int

    @property
    def low(self) -> bool:
        """Warn when less than a tenth, or fewer than 100 numbers, remain."""
        return self.left < max(100, self.size // 10)


def remaining(range_from: int, range_to: int, next_number: int) -> Remaining:
    return Remaining(range_to - next_number + 1, range_to - range_from + 1)
