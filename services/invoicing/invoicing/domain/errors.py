"""Errors a command can end in; the HTTP layer maps each to one status code."""

from __future__ import annotations

from typing import Any


class InvoicingError(Exception):
    status = 400

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class Forbidden(InvoicingError):
    status = 403


class NotFound(InvoicingError):
    status = 404


class Conflict(InvoicingError):
    status = 409


class Invalid(InvoicingError):
    status = 422
