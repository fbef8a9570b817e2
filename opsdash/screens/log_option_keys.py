"""The logs screen's `t` and `o`: show or hide the engine's timestamps, and
set since, tail and context (``since=15m tail=200 context=5``).

A mixin of `LogsScreen`: timestamps are split off as lines are read
(`opsdash.log_lines`), so `t` only draws again; a new since or tail opens the
stream again through the screen's `reopen` factory, and the buffer starts over.
The screen keeps the Input handler and calls `apply_options` from it.
"""

from __future__ import annotations

from typing import Any

from opsdash.log_options import LogOptions, parse_prompt, prompt_text
from opsdash.logbuffer import LineQueue


class LogOptionKeys:
    # What the screen provides.
    options: LogOptions
    context: int | None
    stamps: bool
    names: tuple[str, ...]
    lines: Any
    reopen: Any
    skipped: int
    _stream: Any
    _state: str
    _incoming: LineQueue
    _unordered: bool
    notify: Any
    read_logs: Any
    _open_prompt: Any
    _close_prompt: Any
    _close_stream: Any
    _redraw: Any
    _update_title: Any

    def action_timestamps(self) -> None:
        stamped = getattr(self._stream, "timestamped", False) or self.names
        if not stamped and not any(getattr(line, "stamp", "") for line in self.lines):
            self.notify("This log comes without timestamps.", severity="warning", timeout=3)
            return
        self.stamps = not self.stamps
        self._redraw()
        self._update_title()

    def action_options(self) -> None:
        self._open_prompt("#logs-options", prompt_text(self.options, self.context))

    def apply_options(self, value: str) -> None:
        """What `o`'s prompt says (since=15m tail=200 context=5): a new since or
        tail reads the log again, a new context draws it again."""
        try:
            options, context = parse_prompt(value, self.options, self.context)
        except ValueError as exc:
            self.notify(str(exc), severity="warning", timeout=4)
            return
        self._close_prompt("#logs-options")
        if options != self.options:
            if self.reopen is None:
                self.notify("since and tail are fixed for this log.", timeout=3)
            else:
                self.options = options
                self._restart()
        if context != self.context:
            self.context = context
            self._redraw()
        self._update_title()

    def _restart(self) -> None:
        """Read again with the new since/tail: the buffer starts over."""
        self._close_stream()
        self.lines.clear()
        self._incoming = LineQueue(self.lines.maxlen)  # as many as the buffer keeps
        self.skipped = 0
        self._unordered = False
        self._state = "connecting…"
        self._redraw()
        self.read_logs()
