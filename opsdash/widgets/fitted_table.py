"""A ResourceTable that fits its columns to its width, the most important first.

At 80 columns the containers list used to run IMAGE, PORTS and PROJECT off the
right edge with nothing saying so. Here the columns that do not fit are left
out whole, by each column's `priority` (k9s's narrow tables), and the table
tells its panel which ones, so the panel can say "+3 cols: ...". It fits again
when its width changes or rows come and go, not on every poll: a settled table
stays still.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from textual import events
from textual.message import Message
from textual.widgets.data_table import ColumnKey

from opsdash.formatting import shown_now
from opsdash.views.column_fit import columns_cut
from opsdash.views.common import Column
from opsdash.widgets.resource_table import ResourceTable, _cell_width

SORT_MARK = 2  # " ▼" after the sorted column's label


class FittedTable(ResourceTable):
    class ColumnsCut(Message):
        """The columns left out for want of width changed; `labels` in table order."""

        def __init__(self, table: FittedTable, labels: tuple[str, ...]):
            super().__init__()
            self.table = table
            self.labels = labels

        @property
        def control(self) -> FittedTable:
            return self.table

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cut_columns: tuple[str, ...] = ()  # keys, in table order
        self._fitted_for: tuple[int, frozenset[str], frozenset[str]] | None = None

    @property
    def wanted_columns(self) -> list[Column[Any]]:
        """The columns the config and the data want (HOST with several hosts...)."""
        return [c for c in self.all_columns if c.key not in self.hidden_columns]

    @property
    def visible_columns(self) -> list[Column[Any]]:
        cut = set(self.cut_columns)
        return [c for c in self.wanted_columns if c.key not in cut]

    @property
    def cut_labels(self) -> tuple[str, ...]:
        labels = {c.key: c.label for c in self.all_columns}
        return tuple(labels[key] for key in self.cut_columns)

    def _render_rows(self, now: datetime | None = None) -> None:
        self._fit(now)
        super()._render_rows(now)

    def _on_resize(self, _event: events.Resize) -> None:
        """ResourceTable's and DataTable's handlers run too (Textual calls each class's)."""
        if self.records and (self._fitted_for is None or self._fitted_for[0] != self._available()):
            self._render_rows()

    def _available(self) -> int:
        return self.scrollable_content_region.width

    def _fit(self, now: datetime | None) -> None:
        """Choose the columns again when the width, the rows or the wanted columns
        changed since the last time; tell the panel when the choice changed."""
        available = self._available()
        if available <= 0:
            return  # not laid out yet: nothing to fit to
        wanted = self.wanted_columns
        state = (
            available,
            frozenset(self.records),
            frozenset(c.key for c in wanted),
        )
        if state == self._fitted_for:
            return
        self._fitted_for = state
        sort_key = (
            self._shown_columns[self.sort_index].key
            if self._shown_columns and self.sort_index < len(self._shown_columns)
            else None
        )
        widths = self._widths(wanted, now)
        cut = tuple(
            columns_cut(
                wanted,
                widths,
                available,
                padding=self.cell_padding,
                keep={sort_key} if sort_key else set(),
            )
        )
        if cut == self.cut_columns:
            return
        self.cut_columns = cut
        if sort_key is not None:  # the same column stays sorted at its new index
            keys = [c.key for c in self.visible_columns]
            self.sort_index = keys.index(sort_key) if sort_key in keys else 0
        self.post_message(self.ColumnsCut(self, self.cut_labels))

    def _widths(self, columns: Sequence[Column[Any]], now: datetime | None) -> dict[str, int]:
        """Each column's content width: what the table measured for a shown column,
        else its widest cell over the records (rendered for this only)."""
        now = now or shown_now()
        shown = {c.key for c in self._shown_columns}
        widths: dict[str, int] = {}
        for column in columns:
            width = cell_len(column.label) + SORT_MARK
            table_column = self.columns.get(ColumnKey(column.key))
            if column.key in shown and table_column is not None and self.row_count:
                width = max(width, table_column.content_width)
            else:
                for record in self.records.values():
                    width = max(width, _cell_width(column.render(record, now)))
            widths[column.key] = width
        return widths
