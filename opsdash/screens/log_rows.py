"""One row of the logs screen as Rich Text: the container's name (merged
logs), the engine's timestamp (when shown), the line with its matches
highlighted; and the same row as plain text for `w`.

Every part is literal: names and lines go through `safetext` (colour codes of
a line survive as styles, nothing else does), and styles are added as spans,
never as markup. The name column's colour only repeats the name, which stays
readable without colour (NO_COLOR).
"""

from __future__ import annotations

import re

from rich.text import Text

from opsdash.log_lines import short_stamp
from opsdash.log_search import highlight
from opsdash.safetext import ansi_text, literal, strip_unsafe

NAME_COLOURS = (
    "cyan",
    "magenta",
    "green",
    "yellow",
    "blue",
    "red",
    "bright_cyan",
    "bright_magenta",
    "bright_green",
    "bright_yellow",
    "bright_blue",
    "bright_red",
)
MAX_NAME_WIDTH = 24
SEPARATOR_TEXT = "--"


def name_width(names: list[str]) -> int:
    return min(MAX_NAME_WIDTH, max((len(strip_unsafe(n)) for n in names), default=0))


def _name_cell(origin: str, slot: int, width: int) -> Text:
    name = strip_unsafe(origin)
    if len(name) > width:
        name = name[: max(1, width - 1)] + "…"
    return Text(f"{name:<{width}} | ", style=NAME_COLOURS[slot % len(NAME_COLOURS)])


def row_text(line: str, *, width: int, stamps: bool, search: re.Pattern[str] | None) -> Text:
    """The row as drawn; `width` 0: no name column (one stream)."""
    origin = getattr(line, "origin", "")
    text = Text(no_wrap=True)
    if width and origin:
        text.append_text(_name_cell(origin, getattr(line, "slot", 0), width))
    stamp = getattr(line, "stamp", "")
    if stamps and stamp:
        text.append_text(literal(short_stamp(stamp) + " ", "dim"))
    if getattr(line, "notice", False):
        error = line.startswith("error")
        text.append_text(literal(f"── {line}", "bold red" if error else "dim italic"))
        return text
    body = ansi_text(line)
    highlight(body, search)
    text.append_text(body)
    return text


def separator_text() -> Text:
    return Text(SEPARATOR_TEXT, style="dim")


def row_plain(line: str, *, width: int, stamps: bool) -> str:
    """The row as `w` writes it: the same columns, no escape at all."""
    parts = []
    origin = getattr(line, "origin", "")
    if width and origin:
        parts.append(f"{strip_unsafe(origin):<{width}} | ")
    stamp = getattr(line, "stamp", "")
    if stamps and stamp:
        parts.append(stamp + " ")
    parts.append(("── " if getattr(line, "notice", False) else "") + strip_unsafe(line))
    return "".join(parts)
