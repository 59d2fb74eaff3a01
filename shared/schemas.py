"""Base of the services' response models: what a route returns is declared, documented and checked.

Declared fields are validated and appear in the OpenAPI document. A model over a database row may let the
row's further columns through (`Row`), so that adding a column never breaks a client; a command's answer
(`Out`) is exactly its fields. Where an answer is a row kind or a handler's named type as it is, its model is
made from that dataclass (`model_of`), so the fields are written once; the route validates the handler's
result into it (`model_validate(result, from_attributes=True)`).
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model


class Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Row(BaseModel):
    model_config = ConfigDict(extra="allow")


def files(*media_types: str, description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answer of a route that returns a file or a stream (with `response_class=Response`)."""
    return {200: {"description": description, "content": {t: {} for t in media_types}}}


def model_of(
    kind: type,
    *,
    name: str | None = None,
    base: type[BaseModel] = Out,
    described: Mapping[str, str] | None = None,
    leave_out: Collection[str] = (),
    more: Mapping[str, Any] | None = None,
) -> type[BaseModel]:
    """The response model of a dataclass: its fields (less `leave_out`), each with its description from
    `described`, and `more` fields (name → type, or (type, default)) such as a property the answer shows."""
    hints = typing.get_type_hints(kind)
    described = described or {}
    fields: dict[str, Any] = {
        f.name: (hints[f.name], Field(description=described.get(f.name)))
        for f in dataclasses.fields(kind)
        if f.name not in leave_out
    }
    for field_name, spec in (more or {}).items():
        annotation, default = spec if isinstance(spec, tuple) else (spec, ...)
        fields[field_name] = (annotation, Field(default, description=described.get(field_name)))
    caller = sys._getframe(1).f_globals.get("__name__", __name__)
    model: type[BaseModel] = create_model(name or kind.__name__, __base__=base, __module__=caller, **fields)
    return model
