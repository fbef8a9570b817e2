"""A DataTable of records that updates rows in place, filters and sorts.

Rows are keyed by the record's `key`; each update diffs against what is shown
and touches only changed cells, so the cursor, scroll position and idle CPU
stay where they were (clear() would reset them and repaint everything).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist, RowKey

from opsdash.formatting import shown_now
from opsdash.views.common import Column


def _cell_width(cell: object) -> int:
    """What DataTable measures a one-line cell as: its widest line, in cells."""
    plain = cell.plain if isinstance(cell, Text) else str(cell)
    if "\n" not in plain:
        return cell_len(plain)
    return max((cell_len(line) for line in plain.splitlines()), default=0)


class ResourceTable(DataTable):
    """Renders the records it is given; never fetches anything itself."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="cursor-down"),
        Binding("k", "cursor_up", "Up", show=False, id="cursor-up"),
        Binding("g", "scroll_top", "Top", show=False, id="cursor-top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="cursor-bottom"),
        Binding("enter", "open_details", "Details", show=False, id="details"),
        Binding("s", "cycle_sort", "Sort", id="sort"),
    ]

    class Activated(Message):
        """Enter was pressed on a row."""

        def __init__(self, table: ResourceTable, key: str):
            super().__init__()
            self.table = table
            self.key = key

    def __init__(
        self,
        columns: Sequence[Column[Any]],
        search_text: Callable[[Any], str],
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        sort_column: str | None = None,
        key: Callable[[Any], str] | None = None,
        keep_order: bool = False,
    ):
        super().__init__(name=name, id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._initial_sort = sort_column  # a column key; the first column when None
        self.all_columns = list(columns)
        self.search_text = search_text
        # A record's row key: its `key`, unless the records have none (revisions).
        self.key_of: Callable[[Any], str] = key or (lambda record: record.key)
        # Rows the sort column cannot tell apart stay in the order they were
        # given (the source's), instead of the order of their keys.
        self.keep_order = keep_order
        self.records: dict[str, Any] = {}
        self.hidden_columns: set[str] = set()
        self.filter_text = ""
        self.sort_index = 0
        self.sort_reverse = False
        self._shown_columns: list[Column[Any]] = []
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._drawn: dict[str, Any] = {}  # key -> the record its cells were drawn from
        self._order: list[str] = []

    # --- columns ----------------------------------------------------------

    @property
    def visible_columns(self) -> list[Column[Any]]:
        return [c for c in self.all_columns if c.key not in self.hidden_columns]

    def _column_label(self, index: int, column: Column[Any]) -> Text:
        label = column.label
        if index == self.sort_index:
            label += " ▼" if not self.sort_reverse else " ▲"
        return Text(label)

    def _ensure_columns(self) -> bool:
        wanted = self.visible_columns
        if [c.key for c in wanted] == [c.key for c in self._shown_columns]:
            return False
        self.clear(columns=True)
        self._cells.clear()
        self._drawn.clear()
        self._order = []
        self._shown_columns = wanted
        keys = [c.key for c in wanted]
        if self._initial_sort in keys:
            self.sort_index = keys.index(self._initial_sort)
            self._initial_sort = None
        self.sort_index = min(self.sort_index, len(wanted) - 1)
        for index, column in enumerate(wanted):
            self.add_column(self._column_label(index, column), key=column.key)
        return True

    def _relabel_columns(self) -> None:
        for index, column in enumerate(self._shown_columns):
            self.columns[column.key].label = self._column_label(index, column)  # type: ignore[index]
        self._require_update_dimensions = True
        self.refresh()

    # --- data -------------------------------------------------------------

    def set_hidden_columns(self, hidden: set[str]) -> None:
        if hidden != self.hidden_columns:
            self.hidden_columns = set(hidden)
            self._render_rows()

    def update_records(self, records: Sequence[Any]) -> None:
        self.records = {self.key_of(r): r for r in records}
        self._render_rows()

    def set_filter(self, text: str) -> None:
        text = text.strip().lower()
        if text != self.filter_text:
            self.filter_text = text
            self._render_rows()

    def _visible_keys(self) -> list[str]:
        words = self.filter_text.split()
        keys = [k for k, r in self.records.items() if all(w in self.search_text(r) for w in words)]
        if self._shown_columns:
            column = self._shown_columns[self.sort_index]
            if self.keep_order:
                given = {k: i for i, k in enumerate(self.records)}
                keys.sort(
                    key=lambda k: (column.sort_key(self.records[k]), given[k]),
                    reverse=self.sort_reverse,
                )
            else:
                keys.sort(
                    key=lambda k: (column.sort_key(self.records[k]), k), reverse=self.sort_reverse
                )
        return keys

    def _render_rows(self, now: datetime | None = None) -> None:
        """Diff the records against what is shown and touch only what changed.

        A record equal to the one last drawn is not rendered again, except in the
        columns whose text moves with the clock; a changed cell repaints only its
        own region (not the table), and the table is reordered only when the
        order changed. So a poll that changes N cells costs N cells of terminal
        output, and rendering work proportional to the changed rows."""
        now = now or shown_now()
        rebuilt = self._ensure_columns()
        keys = self._visible_keys()
        wanted = set(keys)
        selected = self.selected_key
        for key in [k for k in self._order if k not in wanted]:
            self.remove_row(key)
            self._cells.pop(key, None)
            self._drawn.pop(key, None)
        columns = self._shown_columns
        clock = [i for i, c in enumerate(columns) if c.uses_clock]
        changed: list[tuple[str, int]] = []
        for key in keys:
            record = self.records[key]
            old = self._cells.get(key)
            if old is None:
                cells = tuple(c.render(record, now) for c in columns)
                self.add_row(*cells, key=key, height=1)
            else:
                drawn = self._drawn.get(key)
                if drawn is record or drawn == record:
                    if not clock:
                        continue
                    fresh = list(old)
                    for i in clock:
                        fresh[i] = columns[i].render(record, now)
                    cells = tuple(fresh)
                else:
                    cells = tuple(c.render(record, now) for c in columns)
                if cells != old:
                    changed += [
                        (key, i) for i, (a, b) in enumerate(zip(old, cells, strict=True)) if a != b
                    ]
            self._cells[key] = cells
            self._drawn[key] = record
        if changed:
            self._set_cells(changed)
        if keys != self._order or rebuilt:
            self._apply_order(keys)
        self._order = keys
        if selected in wanted:
            self._move_cursor_to(selected)

    def _set_cells(self, changed: list[tuple[str, int]]) -> None:
        """Put the changed cells in the table in one go: each repaints only its own
        region, unless a column's width changes (then the whole table relays out).

        DataTable.update_cell refreshes the whole table on every call, and with
        update_width it measures every cell of the column whenever a value gets
        narrower: at 1,000 rows whose CPU changes that is a million measurements
        a poll. Here a column's width is the widest of our own cells (kept as
        Text, so `cell_len` needs no console), computed once per changed column."""
        columns = self._shown_columns
        for key, i in changed:
            self._data[RowKey(key)][ColumnKey(columns[i].key)] = self._cells[key][i]
        self._update_count += 1  # DataTable's render caches are keyed on it
        relayout = False
        for i in {i for _key, i in changed}:
            column = self.columns.get(ColumnKey(columns[i].key))
            if column is None or not column.auto_width:
                continue
            cells = (row[i] for row in self._cells.values())
            width = max([_cell_width(column.label), *(_cell_width(cell) for cell in cells)])
            if width != column.content_width:
                column.content_width = width
                relayout = True
        if relayout:
            self._require_update_dimensions = True
            self.refresh()
            return
        # Every row is one line high (add_row below), so a cell's region is plain
        # arithmetic; DataTable.refresh_coordinate sums the rows above it instead.
        lefts, widths = [], []
        x = self._row_label_column_width
        for column in self.ordered_columns:
            lefts.append(x)
            widths.append(column.get_render_width(self))
            x += widths[-1]
        top = self.header_height if self.show_header else 0
        for key, i in changed:
            row = self._row_locations.get(RowKey(key))
            if row is not None:
                self._refresh_region(Region(lefts[i], top + row, widths[i], 1))

    def _apply_order(self, keys: list[str]) -> None:
        """Put rows in `keys` order without rebuilding them.

        DataTable.sort only sees cell values, and our sort keys are computed
        from the records, so we set the row order the same way sort() does.
        """
        position = {k: i for i, k in enumerate(keys)}
        ordered = sorted(self.rows, key=lambda row_key: position.get(row_key.value or "", 0))
        self._row_locations = TwoWayDict({row_key: i for i, row_key in enumerate(ordered)})
        self._update_count += 1
        self.refresh()

    def _move_cursor_to(self, key: str) -> None:
        try:
            row = self.get_row_index(key)
        except RowDoesNotExist:
            return
        if row != self.cursor_row:
            self.move_cursor(row=row, animate=False, scroll=False)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    @property
    def selected(self) -> Any | None:
        key = self.selected_key
        return self.records.get(key) if key else None

    # --- actions ----------------------------------------------------------

    def action_cycle_sort(self) -> None:
        if not self._shown_columns:
            return
        self.sort_index = (self.sort_index + 1) % len(self._shown_columns)
        self._relabel_columns()
        self._render_rows()

    def action_open_details(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.Activated(self, key))


class KubeTable(ResourceTable):
    """A Kubernetes list: `s` scales there, so sorting moves to `o`.

    `check_action` refuses the inherited `s` binding, and Textual then offers the
    key to the panel or screen above, whose `s` is scale. The binding shares the
    id `sort`: a `[keys]` remap of sort moves both, so one key sorts every list."""

    BINDINGS = [Binding("o", "kube_sort", "Sort", id="sort")]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "cycle_sort"

    def action_kube_sort(self) -> None:
        self.action_cycle_sort()
