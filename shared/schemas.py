"""Base of the services' response models: what a route returns is declared, documented and checked.

Declared fields are validated and appear in the OpenAPI document. A model over a database row may let the
row's further columns through (`Row`), so that adding a column never breaks a client; a command's answer
(`Out`) is exactly its fields.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Row(BaseModel):
    model_config = ConfigDict(extra="allow")
