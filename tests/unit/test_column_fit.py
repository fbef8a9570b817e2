"""Fitting a table's columns to its width by priority (k9s's narrow tables)."""

from __future__ import annotations

from rich.text import Text

from opsdash.views.column_fit import columns_cut, cut_note
from opsdash.views.common import Column


def col(key: str, priority: int | None = None) -> Column[object]:
    return Column(key, key.upper(), lambda _r, _: Text(""), lambda _r: 0, priority=priority)


COLUMNS = [col("name", 0), col("state", 0), col("health", 2), col("cpu", 1), col("image", 3)]
WIDTHS = {"name": 10, "state": 7, "health": 9, "cpu": 5, "image": 20}  # +2 padding each


def test_everything_fits_nothing_is_cut():
    assert columns_cut(COLUMNS, WIDTHS, 61) == []


def test_the_least_important_go_first_and_keep_table_order():
    # name 12 + state 9 + cpu 7 = 28; + health 11 = 39; image (22) does not fit in 50.
    assert columns_cut(COLUMNS, WIDTHS, 50) == ["image"]
    assert columns_cut(COLUMNS, WIDTHS, 38) == ["health", "image"]


def test_a_narrow_column_uses_room_a_wide_one_could_not():
    columns = [col("name", 0), col("image", 1), col("cpu", 2)]
    assert columns_cut(columns, {"name": 10, "image": 30, "cpu": 4}, 20) == ["image"]


def test_the_first_column_stays_even_when_nothing_fits():
    assert columns_cut(COLUMNS, WIDTHS, 5) == ["state", "health", "cpu", "image"]


def test_unranked_columns_come_after_ranked_ones_by_position():
    columns = [col("a"), col("b", 0), col("c")]
    assert columns_cut(columns, {"a": 3, "b": 3, "c": 3}, 10) == ["c"]


def test_the_note_names_what_is_cut():
    assert cut_note([]) == ""
    assert cut_note(["PORTS"]) == "+1 col: PORTS"
    assert cut_note(["IMAGE", "PORTS", "PROJECT"]) == "+3 cols: IMAGE PORTS PROJECT"


def test_the_sort_column_is_kept():
    assert columns_cut(COLUMNS, WIDTHS, 38, keep={"image"}) == ["state", "health", "cpu"]
