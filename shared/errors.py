"""The one error model: a command ends in a `DomainError`, and the app factory turns it into HTTP once.

Domain and application code raise these (or their own subclasses, e.g. a parser's `Invalid`); no route
catches them to build a response. The body is RFC 9457 problem details (shared/problems.py): `detail` is the
message, `code` the class's stable code, plus `errors` when a command has row-by-row details (a roster
import, a statement).
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str | None] = None  # None: the status's code (shared/problems.py BY_STATUS)

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class Malformed(DomainError):
    """The request cannot be read at all (not JSON, not a form)."""

    status = 400


class Unauthorized(DomainError):
    """The caller could not be authenticated (a webhook's signature, a token)."""

    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """The request is valid but the state does not allow it now (already done, not known yet)."""

    status = 409


class Unavailable(DomainError):
    """Something the request depends on outside the suite did not answer: the caller retries later."""

    status = 503


class Invalid(DomainError):
    """The request is readable but its content is wrong; the message names what."""

    status = 422


class TooManyAttempts(DomainError):
    """Too many tries (a sign-in's password or code): the caller waits before trying again."""

    status = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
