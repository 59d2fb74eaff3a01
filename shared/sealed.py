"""Secrets and personal data held encrypted in a service's own database (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from a service setting (e.g. `RECONCILIATION_DATA_KEY`), never from the database, so a copy
of the database or a backup alone does not give the webhook secrets or the personal data away. Sealed
values are text, `sealed:v1:<token>`; a value without the prefix (written before sealing existed) is read
as it is and sealed the next time it is written.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "sealed:v1:"


class SealError(ValueError):
    pass


class Sealer:
    def __init__(self, secret: str) -> None:
        # Any passphrase becomes a Fernet key: SHA-256 of it, URL-safe Base64.
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(("sealed:" + secret).encode()).digest()))

    def seal(self, value: str) -> str:
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        return self._open(stored)

    # A webhook's secret is opened on every call: the same sealed text always opens to the same value, so
    # the last few are kept (a province's schools), and changing a secret stores a new sealed text.
    @functools.lru_cache(maxsize=4096)  # noqa: B019 (one Sealer per key for the life of the process)
    def _open(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SealError("a sealed value does not open with this key (was the data key changed?)") from exc


@functools.lru_cache(maxsize=8)
def sealer_for(secret: str) -> Sealer:
    """The process's Sealer for a key (building the Fernet key costs a hash; opened values are cached)."""
    return Sealer(secret)
