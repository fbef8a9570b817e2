"""What every domain's renderers share: the column definition and the look helpers.

A `Column` is the one description of a table column, used by the TUI's tables and by
`opsdash snapshot`; the per-domain modules beside this one hold the column lists.
Rich only (no Textual), so `opsdash snapshot` renders without the TUI.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from rich.text import Text

T = TypeVar("T")


@dataclass(frozen=True)
class Column(Generic[T]):
    key: str
    label: str
    render: Callable[[T, datetime], Text]
    sort_key: Callable[[T], Any]
    width: int | None = None
    # What `/` matches in this column: the whole value where the cell may cut it
    # short; None for what nobody types (numbers, ages, bars). Kept beside the
    # renderer so a new column cannot be forgotten by the filter.
    search: Callable[[T], str] | None = None
    # What a narrow table keeps first (0 first); None: after every ranked column,
    # by position. Only tables that fit their columns to the width read it.
    priority: int | None = None

    @property
    def uses_clock(self) -> bool:
        """Whether a cell can change with time alone ("up 5m", "3m ago").

        A renderer that ignores the time names its second parameter `_` (every
        column here does); a table then redraws an unchanged record's cells only
        in the columns that use the clock, instead of all of them every poll."""
        code = getattr(self.render, "__code__", None)
        if code is None or code.co_argcount < 2:
            return True  # a callable object: cannot tell, so assume it does
        return code.co_varnames[1] != "_"


def search_text(columns: Sequence[Column[T]], *unshown: Callable[[T], str]) -> Callable[[T], str]:
    """The text `/` filters a table on, from its columns' `search` plus `unshown`
    facts no column shows (labels, a commit's sha).

    Every column counts, hidden or not, so hiding a column never changes what a
    filter finds. A filter word never holds whitespace, so it matches within one
    part: the order of the parts does not matter."""
    parts = [c.search for c in columns if c.search is not None]
    parts += unshown

    def text(record: T) -> str:
        return " ".join(part(record) for part in parts).lower()

    return text


def labels_text(record: Any) -> str:
    """`key=value` for each of a record's labels: found by `/`, shown in no column."""
    return " ".join(f"{k}={v}" for k, v in record.labels)


NAME_WIDTH = 32  # long names (Swarm tasks: api.1.<25-char id>) would push every column away


def short(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def badge(looks: dict, state: enum.Enum) -> Text:
    """`✓ success`: icon and word in the state's style."""
    icon, style = looks[state]
    return Text(f"{icon} {state.value}", style=style)
