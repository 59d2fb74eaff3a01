"""Secrets and personal data held encrypted in a service's own database (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from a service setting (e.g. `RECONCILIATION_DATA_KEY`), never from the database, so a copy
of the database or a backup alone does not give the webhook secrets or the personal data away. Sealed
values are text, `sealed:v1:<token>`; a value without the prefix (written before sealing existed) is read
as it is and sealed the next time it is written.
"""

from __future__ import annotations

import base64
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
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SealError("a sealed value does not open with this key (was the data key changed?)") from exc
