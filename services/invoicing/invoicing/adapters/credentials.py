"""Password hashes (Argon2id, argon2-cffi) and TOTP codes (pyotp): the libraries, behind what the app needs.

Argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane): about 30 ms of one core per hash. Hashing
runs in a worker thread, at most two at a time per process, so sign-ins never hold the event loop and a
flood of them costs a fixed amount of memory (2 × 19 MiB) however many arrive.
"""

from __future__ import annotations

import asyncio
import hmac
import time
import weakref

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
# Checked when the account is unknown or has no password yet, so that the answer takes as long either way
# (an unknown user name is not told apart by its speed).
_DUMMY = _hasher.hash("not a password of anyone, only a hash to spend the same time on")

ISSUER = "Thu học phí không tiền mặt"
STEP_SECONDS = 30


def _slot() -> asyncio.Semaphore:
    """Two hashes at a time, per event loop (a semaphore belongs to the loop it first waits in)."""
    return _slots.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(2))


async def hash_password(password: str) -> str:
    async with _slot():
        return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    async with _slot():
        return await asyncio.to_thread(_verify, stored, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """What an authenticator app scans (otpauth://totp/...)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def totp_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The 30-second step whose code `code` is (this one, or one either side for a clock a little off),
    or None when it is none of them."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    t = time.time() if now is None else now
    current = int(t // STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def totp_code(secret: str, *, now: float | None = None) -> str:
    """The current code (for tests and the demo's first sign-in)."""
    return pyotp.TOTP(secret).at(time.time() if now is None else now)
