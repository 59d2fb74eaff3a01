"""Base of the services' response models: what a route returns is declared, documented and checked.

Declared fields are validated and appear in the OpenAPI document. A model over a database row may let the
row's further columns through (`Row`), so that adding a column never breaks a client; a command's answer
(`Out`) is exactly its fields.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Row(BaseModel):
    model_config = ConfigDict(extra="allow")


def files(*media_types: str, description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answer of a route that returns a file or a stream (with `response_class=Response`)."""
    return {200: {"description": description, "content": {t: {} for t in media_types}}}
