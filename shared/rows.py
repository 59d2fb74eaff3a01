"""Rows as named types: a store maps each row it reads to a frozen dataclass of that row kind, so the
application reads `invoice.paid`, a typo is a type error, and a handler's signature says what it holds.

The mapper of a row kind is the dataclass itself: its fields name the columns it takes (a query may select
more; a column it names but the query lacks is a `KeyError` at once, not a `None` later).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


_COLUMNS: dict[type, tuple[str, ...]] = {}


def _columns(kind: type) -> tuple[str, ...]:
    names = _COLUMNS.get(kind)
    if names is None:
        names = _COLUMNS[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


def columns(kind: type) -> tuple[str, ...]:
    """The columns a row kind takes, in order."""
    return _columns(kind)


def row(kind: type[T], record: Mapping[str, Any]) -> T:
    """One row mapped to its kind."""
    return kind(**{name: record[name] for name in _columns(kind)})


def maybe(kind: type[T], record: Mapping[str, Any] | None) -> T | None:
    """One row mapped to its kind, or None when there was none."""
    return None if record is None else row(kind, record)


def rows(kind: type[T], records: Iterable[Mapping[str, Any]]) -> list[T]:
    """Every row mapped to its kind, in order."""
    names = _columns(kind)
    return [kind(**{name: r[name] for name in names}) for r in records]


def as_dict(value: Any) -> dict[str, Any]:
    """A row (or any dataclass) as a plain mapping, for a JSON answer or an export."""
    return dataclasses.asdict(value)
