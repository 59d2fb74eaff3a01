"""Rows turned into the per-column arrays a batch statement takes (`shared.db.as_columns`)."""

from __future__ import annotations

import pytest

from shared.db import as_columns


def test_rows_become_one_list_per_column_in_order() -> None:
    rows = [("a", 1, True), ("b", 2, False)]
    assert as_columns(rows, 3) == [["a", "b"], [1, 2], [True, False]]


def test_no_rows_are_empty_columns_of_the_statements_width() -> None:
    assert as_columns([], 4) == [[], [], [], []]


def test_a_row_of_another_width_is_refused_rather_than_cut() -> None:
    with pytest.raises(ValueError, match="3 values"):
        as_columns([("a", 1, True), ("b", 2)], 3)
    with pytest.raises(ValueError, match="2 values"):
        as_columns([("a", 1, True)], 2)
