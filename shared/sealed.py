"""Secrets and personal data held encrypted in a service's own database (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from a service setting (e.g. `RECONCILIATION_DATA_KEY`), never from the database, so a copy
of the database or a backup alone does not give the webhook secrets or the personal data away. Sealed
values are text, `sealed:v1:<token>`; a value without the prefix (written before sealing existed) is read
as it is and sealed the next time it is written.

Changing the data key: the new one becomes `<SERVICE>_DATA_KEY`, the old one goes to
`<SERVICE>_DATA_KEYS_PREVIOUS` (still read, never written); `tuition reseal <service>` then seals every stored
value with the new key (and those written before sealing existed), after which the old key can go.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "sealed:v1:"


class SealError(ValueError):
    pass


class Sealer:
    """Seals with the data key; opens with it or any key it replaced (a key rotation in progress)."""

    def __init__(self, secret: str, *previous: str) -> None:
        self._current = _fernet(secret)
        self._fernet = MultiFernet([self._current, *(_fernet(p) for p in previous)])

    def seal(self, value: str) -> str:
        return PREFIX + self._current.encrypt(value.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        return self._open(stored)

    def resealed(self, stored: str) -> str | None:
        """The stored value sealed with the data key, or None when it already is: a value written before
        sealing existed is sealed; one sealed with a previous key is sealed again (its time kept)."""
        if not stored.startswith(PREFIX):
            return self.seal(stored)
        token = stored[len(PREFIX) :].encode()
        try:
            self._current.decrypt(token)
            return None
        except InvalidToken:
            pass
        try:
            return PREFIX + self._fernet.rotate(token).decode()
        except InvalidToken as exc:
            raise SealError("a sealed value opens with none of the data keys (was a key lost?)") from exc

    # A webhook's secret is opened on every call: the same sealed text always opens to the same value, so
    # the last few are kept (a province's schools), and changing a secret stores a new sealed text.
    @functools.lru_cache(maxsize=4096)  # noqa: B019 (one Sealer per key for the life of the process)
    def _open(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SealError("a sealed value does not open with this key (was the data key changed?)") from exc


def _fernet(secret: str) -> Fernet:
    # Any passphrase becomes a Fernet key: SHA-256 of it, URL-safe Base64.
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(("sealed:" + secret).encode()).digest()))


@functools.lru_cache(maxsize=8)
def sealer_for(secret: str, *previous: str) -> Sealer:
    """The process's Sealer for a key (building the Fernet key costs a hash; opened values are cached)."""
    return Sealer(secret, *previous)
