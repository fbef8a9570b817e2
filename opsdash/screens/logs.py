"""Live logs (a container's, a pod container's): follow, regex filter, bounded
buffer, write to file.

The screen takes a title and a stream factory (a callable returning a
`LogStream`, called in the reading thread) rather than a container and its
source, so one screen serves every backend: the app builds the factory
(`source.logs(id)`, `cluster.pod_logs(pod, container, previous=...)`).

Whatever the rate, the screen stays instant: the reading thread only splits
bytes into bounded lines (`opsdash.logbuffer`) and queues them (at most
MAX_LINES waiting; what the queue cannot keep is dropped and counted in the
title); every BATCH_SECONDS the screen takes the queue, keeps the newest
MAX_LINES, and draws at most DRAW_PER_BATCH of them. Only drawn lines are turned
into Rich Text (colour kept, every other escape dropped), so markup in a log is
just text.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, RichLog, Static
from textual.worker import get_current_worker

from opsdash.logbuffer import MAX_LINE, LineQueue
from opsdash.safetext import ansi_text, literal, strip_unsafe
from opsdash.sources.capabilities import LogStream
from opsdash.widgets.literal_input import LiteralInput

MAX_LINES = 10_000
BATCH_SECONDS = 0.1
DRAW_PER_BATCH = 300  # more than a screenful: a flood skips lines nobody could read


class LogsScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="logs-back"),
        Binding("q", "back", "Back", show=False, id="logs-back-q"),
        Binding("f", "toggle_follow", "Follow", id="logs-follow"),
        Binding("slash", "filter", "Filter", id="logs-filter"),
        Binding("w", "write", "Write to file", id="logs-write"),
        Binding("P", "previous", "Previous log", id="logs-previous"),
        Binding("j", "scroll_down", "Down", show=False, id="logs-down"),
        Binding("k", "scroll_up", "Up", show=False, id="logs-up"),
    ]

    def __init__(
        self,
        title: str,
        open_stream: Callable[[], LogStream],
        *,
        file_name: str = "",
        ended: str = "stream ended",
        previous: Callable[[], Message] | None = None,
    ):
        """`title`: what is shown after "Logs: " (literal); `file_name`: the
        stem `w` writes under (made safe); `ended`: what the title says when the
        stream ends on its own; `previous`: the request `P` posts for the log of
        the last crashed run (a pod container that restarted), if there is one."""
        super().__init__()
        self.title_text = title
        self.open_stream = open_stream
        self.file_name = file_name or title
        self.ended = ended
        self.previous = previous
        self.lines: deque[str] = deque(maxlen=MAX_LINES)  # as read, escapes still in
        self.follow = True
        self.pattern: re.Pattern[str] | None = None
        self._stream = None
        self._state = "connecting…"
        self._shown_state = ""
        self._incoming = LineQueue(MAX_LINES)
        self.skipped = 0  # lines of a flood that were kept but never drawn

    def compose(self) -> ComposeResult:
        yield Static(id="logs-title", classes="screen-title")
        yield LiteralInput(
            placeholder="regex filter (enter keeps it, esc clears)", id="logs-filter"
        )
        yield RichLog(id="logs", max_lines=MAX_LINES, wrap=False, markup=False, highlight=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._update_title()
        self.query_one(RichLog).focus()
        self.set_interval(BATCH_SECONDS, self._drain)
        self.read_logs()

    def on_unmount(self) -> None:
        self._close_stream()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    # --- reading ----------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="logs")
    def read_logs(self) -> None:
        """Read in a thread; lines wait in `_incoming` until the UI timer takes them."""
        worker = get_current_worker()
        try:
            self._stream = self.open_stream()
            self._state = "following"
            for line in self._stream:
                if worker.is_cancelled or self._stream is None:
                    return
                self._incoming.put(line)
            self._state = self.ended
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self._state = f"error: {' '.join(str(exc).split())}"

    def _drain(self) -> None:
        """Every BATCH_SECONDS: hand new lines to the view in one batch."""
        batch = self._incoming.take()
        if batch:
            self.add_lines(batch)
        elif self._state != self._shown_state:
            self._update_title()

    def add_lines(self, batch: list[str]) -> None:
        """Keep the newest lines; draw the newest matching ones, a bounded number."""
        self.lines.extend(batch)
        matching = [line for line in batch[-MAX_LINES:] if self._matches(line)]
        self.skipped += max(0, len(matching) - DRAW_PER_BATCH)
        log = self.query_one(RichLog)
        for line in matching[-DRAW_PER_BATCH:]:
            log.write(ansi_text(line), scroll_end=self.follow)
        self._update_title()

    # --- view -------------------------------------------------------------------

    def _matches(self, line: str) -> bool:
        return self.pattern is None or bool(self.pattern.search(strip_unsafe(line)))

    def _redraw(self) -> None:
        log = self.query_one(RichLog)
        log.clear()
        for line in [line for line in self.lines if self._matches(line)][-MAX_LINES:]:
            log.write(ansi_text(line), scroll_end=self.follow)

    def _update_title(self) -> None:
        self._shown_state = self._state
        title = literal(f"Logs: {self.title_text}", "bold")
        title.append_text(literal(f"  [{self._state}]", "dim"))  # may hold an error
        title.append(f"  follow {'on' if self.follow else 'off'}", style="dim")
        title.append(f"  {len(self.lines)} lines", style="dim")
        dropped = self._incoming.dropped
        cut = getattr(self._stream, "cutter", None)
        if dropped or self.skipped:
            title.append(
                f"  flood: {dropped:,} dropped, {self.skipped:,} not drawn", style="yellow"
            )
        if cut is not None and cut.cut_lines:
            title.append(f"  {cut.cut_lines:,} cut at {MAX_LINE:,} chars", style="yellow")
        if self.pattern is not None:
            title.append("  filter: ", style="dim")
            title.append_text(literal(self.pattern.pattern))
        self.query_one("#logs-title", Static).update(title)

    # --- actions ------------------------------------------------------------------

    def action_back(self) -> None:
        box = self.query_one("#logs-filter", Input)
        if box.has_focus:
            self._clear_filter()
            return
        self._close_stream()
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "previous" or self.previous is not None

    def action_previous(self) -> None:
        if self.previous is not None:
            self.post_message(self.previous())

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        log = self.query_one(RichLog)
        log.auto_scroll = self.follow
        if self.follow:
            log.scroll_end(animate=False)
        self._update_title()

    def action_filter(self) -> None:
        box = self.query_one("#logs-filter", Input)
        box.add_class("-visible")
        box.focus()

    def _clear_filter(self) -> None:
        box = self.query_one("#logs-filter", Input)
        box.value = ""
        box.remove_class("-visible")
        self.pattern = None
        self._redraw()
        self._update_title()
        self.query_one(RichLog).focus()

    @on(Input.Changed, "#logs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if not event.value:
            self.pattern = None
        else:
            try:
                self.pattern = re.compile(event.value, re.IGNORECASE)
            except re.error as exc:
                self.notify(f"Invalid regex: {exc}", severity="warning", timeout=2)
                return
        self._redraw()
        self._update_title()

    @on(Input.Submitted, "#logs-filter")
    def _filter_submitted(self) -> None:
        self.query_one(RichLog).focus()

    def action_scroll_down(self) -> None:
        self.query_one(RichLog).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one(RichLog).scroll_up(animate=False)

    def action_write(self) -> None:
        """The buffer, as plain text, into a new file in the current directory:
        never over an existing file or through a symlink planted in its place."""
        safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", self.file_name) or "logs"
        stem = f"opsdash-{safe_name}-{datetime.now():%Y%m%d-%H%M%S}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        for number in range(100):
            path = Path.cwd() / (f"{stem}.log" if number == 0 else f"{stem}-{number}.log")
            try:
                fd = os.open(path, flags, 0o600)
                break
            except FileExistsError:
                continue  # a file or a link has the name: take the next one
            except OSError as exc:
                self.notify(f"Could not write {path}: {exc.strerror}", severity="error")
                return
        else:
            self.notify(
                f"Could not write {stem}.log: 100 files of that name exist", severity="error"
            )
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                for line in self.lines:
                    out.write(strip_unsafe(line) + "\n")
        except OSError as exc:
            self.notify(f"Could not write {path}: {exc.strerror}", severity="error")
            return
        self.notify(f"Wrote {len(self.lines)} lines to {path}", timeout=4)
