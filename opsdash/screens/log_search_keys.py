"""The logs screen's search keys: `s` (and ctrl+s) searches, `n`/`N` jump to
the next/previous match, `C` sets the lines of context (grep -C) around each.

A mixin of `LogsScreen`, which owns the buffer and the RichLog; this part
decides which rows a search draws (`opsdash.log_search`) and where n/N go. The
screen keeps the Input handlers (Textual finds `@on` handlers on the screen's
own classes only) and calls `set_search` and `search_submitted` from them.
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual.widgets import RichLog

from opsdash.log_options import next_context
from opsdash.log_search import ContextWindow, compile_search, step_match
from opsdash.safetext import literal, strip_unsafe


class LogSearchKeys:
    # What the screen provides.
    search: re.Pattern[str] | None
    context: int | None
    match_rows: list[int]
    current: int | None
    _window: ContextWindow[str] | None
    query_one: Any
    notify: Any
    _open_prompt: Any
    _redraw: Any
    _update_title: Any
    _set_follow: Any
    _first_row: Any

    def _found(self, line: str) -> bool:
        """A match of the search: in the line's text, never in opsdash's own notices."""
        return (
            self.search is not None
            and not getattr(line, "notice", False)
            and bool(self.search.search(strip_unsafe(line)))
        )

    def _view(self, lines: list[str]) -> list[str | None]:
        """The rows to draw for these (filtered) lines: all of them, or the grep -C view
        (carried on from the lines before, so a batch continues the groups)."""
        if self.search is None or self.context is None:
            return list(lines)
        if self._window is None:
            self._window = ContextWindow(self.context)
        window = self._window
        return [row for line in lines for row in window.step(line, self._found(line))]

    def action_search(self) -> None:
        self._open_prompt("#logs-search")

    def set_search(self, value: str) -> None:
        self.search = compile_search(value) if value else None
        self._redraw()
        self._update_title()

    def search_submitted(self) -> None:
        self.query_one(RichLog).focus()
        if self.search is not None:
            self.action_match(False)  # the newest match: a log is read from its end

    def _live_matches(self) -> tuple[int, list[int]]:
        """The first row still in the RichLog, and the match rows from there on."""
        first = self._first_row()
        return first, [row for row in self.match_rows if row >= first]

    def action_match(self, forward: bool) -> None:
        if self.search is None:
            self.notify("Search first: s", timeout=2)
            return
        first, rows = self._live_matches()
        target = step_match(rows, self.current if self.current in rows else None, forward)
        if target is None:
            self.notify("No match in the buffer.", severity="warning", timeout=2)
            return
        self.current = target
        self._set_follow(False)
        log = self.query_one(RichLog)
        log.scroll_to(y=max(0, target - first - log.size.height // 2), animate=False)
        self._update_title()

    def action_context(self) -> None:
        self.context = next_context(self.context)
        if self.search is None:
            shown = "off" if self.context is None else self.context
            self.notify(f"Context {shown}: applies to a search (s)", timeout=2)
        self._redraw()
        self._update_title()

    def search_status(self, status: Text) -> None:
        """`search: x  match 3/17  context ±2` at the end of the status line."""
        if self.search is None:
            return
        status.append("  search: ", style="dim")
        status.append_text(literal(self.search.pattern, "reverse"))
        _first, rows = self._live_matches()
        at = f"{rows.index(self.current) + 1}/" if self.current in rows else ""
        status.append(f"  match {at}{len(rows)}", style="dim")
        context = "off" if self.context is None else f"±{self.context}"
        status.append(f"  context {context}", style="dim")
