"""What makes a password, a second factor and a sign-in acceptable (pure rules; hashing is in adapters).

Passwords follow NIST SP 800-63B (rev. 3, §5.1.1.2): length is what counts (at least 12 characters, up to
128, any character, spaces included, compared after NFKC normalisation), no composition rules, and a
password found in a list of common ones (zxcvbn's 30,000, and the Vietnamese ones below) or built on the
account's own name is refused. The second factor is a TOTP code (RFC 6238, 30 s steps), refused when its
step was already used: a code seen over a shoulder or replayed within its window does not sign in twice.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from shared.errors import Invalid

MIN_LENGTH = 12
MAX_LENGTH = 128

# Common Vietnamese passwords and words a Vietnamese password is often built on (lists of leaked
# passwords of Vietnamese sites rank these high); compared without spaces, case or digits at the ends.
VIETNAMESE_COMMON = (
    "matkhau",
    "anhyeuem",
    "emyeuanh",
    "yeuem",
    "iloveyou",
    "hocphi",
    "truonghoc",
    "ketoan",
    "hieutruong",
    "vietnam",
    "hanoi",
    "saigon",
    "matkhaumoi",
)


class WeakPassword(Invalid):
    pass


@functools.cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | frozenset(VIETNAMESE_COMMON)


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def _core(text: str) -> str:
    """Lower-case, without spaces and without digits or symbols at either end ("Matkhau123!" → "matkhau")."""
    squashed = "".join(text.lower().split())
    return squashed.strip("0123456789!@#$%^&*()_-+=.,?")


def check_password(password: str, *, own_words: tuple[str, ...] = ()) -> str:
    """The password, normalised, or WeakPassword saying in Vietnamese what is wrong with it."""
    p = normalise(password)
    if len(p) < MIN_LENGTH:
        raise WeakPassword(f"Mật khẩu cần ít nhất {MIN_LENGTH} ký tự (có thể là một câu dễ nhớ, có dấu cách).")
    if len(p) > MAX_LENGTH:
        raise WeakPassword(f"Mật khẩu dài quá {MAX_LENGTH} ký tự.")
    core = _core(p)
    if p.lower() in _common() or core in _common() or len(set(core)) < 4:
        raise WeakPassword("Mật khẩu này quá phổ biến hoặc quá đơn giản, dễ bị đoán. Hãy chọn mật khẩu khác.")
    for word in own_words:
        w = _core(unicodedata.normalize("NFKC", word))
        if len(w) >= 4 and w in "".join(p.lower().split()):
            raise WeakPassword("Mật khẩu không được chứa tên đăng nhập hoặc tên của bạn.")
    return p


def normalise_username(username: str) -> str:
    name = unicodedata.normalize("NFC", username).strip().lower()
    if not (3 <= len(name) <= 64) or not all(c.isalnum() or c in "._-@" for c in name) or not name.isascii():
        raise Invalid("Tên đăng nhập gồm 3–64 ký tự: chữ không dấu, số và . _ - @")
    return name


@dataclass(frozen=True)
class Throttle:
    """Sign-in attempts: after `free` failures within `window` an account (or an address, with its own
    figures) waits, doubling from `first_wait` up to `longest_wait`; it is never locked for good, and a
    success clears the account's count."""

    free: int
    window: timedelta
    first_wait: timedelta
    longest_wait: timedelta

    def wait_after(self, failures: int) -> timedelta:
        if failures < self.free:
            return timedelta(0)
        wait: timedelta = self.first_wait * 2 ** min(failures - self.free, 16)
        return min(wait, self.longest_wait)


ACCOUNT_THROTTLE = Throttle(5, timedelta(minutes=15), timedelta(seconds=30), timedelta(minutes=15))
ADDRESS_THROTTLE = Throttle(30, timedelta(minutes=15), timedelta(seconds=30), timedelta(minutes=15))


def totp_step_accepted(step: int, last_used_step: int) -> bool:
    """A code's 30-second step is accepted once: not when it, or a later one, already signed in."""
    return step > last_used_step
