"""What every domain's renderers share: the column definition and the look helpers.

A `Column` is the one description of a table column, used by the TUI's tables and by
`opsdash snapshot`; the per-domain modules beside this one hold the column lists.
Rich only (no Textual), so `opsdash snapshot` renders without the TUI.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
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


NAME_WIDTH = 32  # long names (Swarm tasks: api.1.<25-char id>) would push every column away


def short(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def badge(looks: dict, state: enum.Enum) -> Text:
    """`✓ success`: icon and word in the state's style."""
    icon, style = looks[state]
    return Text(f"{icon} {state.value}", style=style)
