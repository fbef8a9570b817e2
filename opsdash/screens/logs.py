"""Live logs (a container's, a pod container's, a compose project's merged):
follow, regex filter, search with context, timestamps, since/tail, bounded
buffer, write to file.

The screen takes a title and a stream factory (a callable returning a
`LogStream`, called in the reading thread) rather than a container and its
source, so one screen serves every backend: the app builds the factory
(`opsdash.screens.log_openers`, `cluster.pod_logs(...)`). A `reopen` factory,
given `LogOptions`, lets `o` change since/tail: the stream is opened again.

Whatever the rate, the screen stays instant: the reading thread only splits
bytes into bounded lines (`opsdash.logbuffer`) and queues them (at most
MAX_LINES waiting; what the queue cannot keep is dropped and counted in the
title); every BATCH_SECONDS the screen takes the queue, keeps the newest
MAX_LINES, and draws at most DRAW_PER_BATCH of them. Only drawn lines are turned
into Rich Text (colour kept, every other escape dropped), so markup in a log is
just text. Search (`opsdash.log_search`) highlights with style spans and, with
a context set, draws the grep -C view as lines arrive.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, RichLog, Static
from textual.worker import get_current_worker

from opsdash.log_file import log_directory, write_log
from opsdash.log_merge import in_time_order, out_of_order
from opsdash.log_options import LogOptions
from opsdash.log_search import SEPARATOR, ContextWindow
from opsdash.logbuffer import MAX_LINE, LineQueue
from opsdash.safetext import literal, strip_unsafe
from opsdash.screens.log_option_keys import LogOptionKeys
from opsdash.screens.log_rows import name_width, row_plain, row_text, separator_text
from opsdash.screens.log_search_keys import LogSearchKeys
from opsdash.sources.capabilities import LogStream
from opsdash.widgets.literal_input import LiteralInput

MAX_LINES = 10_000
BATCH_SECONDS = 0.1
DRAW_PER_BATCH = 300  # more than a screenful: a flood skips lines nobody could read
REORDER_SECONDS = 1.0  # a merged log drawn again in time order at most this often
PROMPTS = ("#logs-filter", "#logs-search", "#logs-options")


class LogsScreen(LogSearchKeys, LogOptionKeys, Screen):
    DEFAULT_CSS = """
    LogsScreen .logs-prompt { display: none; height: 1; border: none; padding: 0 1; }
    LogsScreen .logs-prompt.-visible { display: block; }
    LogsScreen #logs-status { height: 1; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="logs-back"),
        Binding("q", "back", "Back", show=False, id="logs-back-q"),
        Binding("f", "toggle_follow", "Follow", id="logs-follow"),
        Binding("slash", "filter", "Filter", id="logs-filter"),
        Binding("s,ctrl+s", "search", "Search", id="logs-search"),
        Binding("n", "match(True)", "Next match", show=False, id="logs-next-match"),
        Binding("N", "match(False)", "Previous match", show=False, id="logs-previous-match"),
        Binding("C", "context", "Context lines (off, 0, 2, 5, 10)", show=False, id="logs-context"),
        Binding("t", "timestamps", "Stamps", id="logs-timestamps"),
        Binding("o", "options", "Since", id="logs-options"),
        Binding("w", "write", "Write", id="logs-write"),
        Binding("P", "previous", "Previous log", id="logs-previous"),
        Binding("L", "wider", "Whole project", id="logs-wider"),
        Binding("j", "scroll_down", "Down", show=False, id="logs-down"),
        Binding("k", "scroll_up", "Up", show=False, id="logs-up"),
    ]

    def __init__(
        self,
        title: str,
        open_stream: Callable[[], LogStream] | None = None,
        *,
        file_name: str = "",
        ended: str = "stream ended",
        previous: Callable[[], Message] | None = None,
        reopen: Callable[[LogOptions], LogStream] | None = None,
        options: LogOptions | None = None,
        names: tuple[str, ...] = (),
        wider: Callable[[], Message] | None = None,
    ):
        """`title`: what is shown after "Logs: " (literal); `file_name`: the
        stem `w` writes under (made safe); `ended`: what the title says when the
        stream ends on its own; `previous`: the request `P` posts for the log of
        the last crashed run (a pod container that restarted), if there is one;
        `reopen`: opens the stream with given since/tail (then `o` changes them);
        `names`: the streams of a merged log (a name column for each);
        `wider`: the request `L` posts for a wider merge (a scaled compose
        service's replicas widen to the whole project)."""
        super().__init__()
        self.title_text = title
        self.open_stream = open_stream
        self.reopen = reopen
        self.options = options or LogOptions()
        self.file_name = file_name or title
        self.ended = ended
        self.previous = previous
        self.names = names
        self.wider = wider
        self.name_width = name_width(list(names))
        self.lines: deque[str] = deque(maxlen=MAX_LINES)  # as read, escapes still in
        self.follow = True
        self.pattern: re.Pattern[str] | None = None  # the filter
        self.search: re.Pattern[str] | None = None
        self.context: int | None = None  # None: every line; n: grep -C n around matches
        self.stamps = False
        self._window: ContextWindow[str] | None = None
        self._rows = 0  # rows written to the RichLog since its last clear
        self.match_rows: list[int] = []  # those rows that hold a match
        self.current: int | None = None  # the row n/N last jumped to
        self._stream = None
        self._state = "connecting…"
        self._shown_state = ""
        self._incoming = LineQueue(MAX_LINES)
        self.skipped = 0  # lines of a flood that were kept but never drawn
        self._unordered = False  # a merged line came older than one drawn before it
        self._reordered = 0.0  # when the buffer was last put back in time order

    def compose(self) -> ComposeResult:
        yield Static(id="logs-title", classes="screen-title")
        yield Static(id="logs-status")
        yield LiteralInput(
            placeholder="regex filter (enter keeps it, esc clears)",
            id="logs-filter",
            classes="logs-prompt",
        )
        yield LiteralInput(
            placeholder="search (regex; n/N next/previous, C context, esc clears)",
            id="logs-search",
            classes="logs-prompt",
        )
        yield LiteralInput(
            placeholder="since=15m tail=1000 context=2 (enter applies, esc cancels)",
            id="logs-options",
            classes="logs-prompt",
        )
        yield RichLog(id="logs", max_lines=2 * MAX_LINES, wrap=False, markup=False, highlight=False)
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
        stream = None
        try:
            if self.reopen is not None:
                stream = self.reopen(self.options)
            else:
                assert self.open_stream is not None
                stream = self.open_stream()
            self._stream = stream
            self._state = "following"
            for line in stream:
                if worker.is_cancelled or self._stream is not stream:
                    return
                self._incoming.put(line)
            if self._stream is stream:  # not a stream `o` replaced and closed
                self._state = self.ended
        except Exception as exc:  # noqa: BLE001 - shown to the user
            if stream is None or self._stream is stream:
                self._state = f"error: {' '.join(str(exc).split())}"

    def _drain(self) -> None:
        """Every BATCH_SECONDS: hand new lines to the view in one batch."""
        batch = self._incoming.take()
        if batch or self._unordered:
            self.add_lines(batch)
        elif self._state != self._shown_state:
            self._update_title()

    def add_lines(self, batch: list[str]) -> None:
        """Keep the newest lines; draw the newest matching ones, a bounded number.
        A merged log that got a line older than those drawn (a stream lagged past
        the merge's hold) is put back in time order and drawn again, at most
        once every REORDER_SECONDS."""
        if self.names:
            newest = getattr(self.lines[-1], "at", 0) if self.lines else 0
            self._unordered = self._unordered or out_of_order(newest, batch)
            if self._unordered and time.monotonic() - self._reordered >= REORDER_SECONDS:
                self.lines = deque(in_time_order([*self.lines, *batch], MAX_LINES), MAX_LINES)
                self._unordered, self._reordered = False, time.monotonic()
                self._redraw()
                self._update_title()
                return
        self.lines.extend(batch)
        rows = self._view([line for line in batch[-MAX_LINES:] if self._matches(line)])
        self.skipped += max(0, len(rows) - DRAW_PER_BATCH)
        self._write(rows[-DRAW_PER_BATCH:])
        self._update_title()

    # --- view -------------------------------------------------------------------

    def _matches(self, line: str) -> bool:
        if self.pattern is None:
            return True
        origin = getattr(line, "origin", "")
        return bool(self.pattern.search(strip_unsafe(line))) or bool(
            origin and self.pattern.search(strip_unsafe(origin))
        )

    def _write(self, rows: list[str | None]) -> None:
        log = self.query_one(RichLog)
        for row in rows:
            if row is SEPARATOR:
                log.write(separator_text(), scroll_end=self.follow)
            else:
                if self._found(row):
                    self.match_rows.append(self._rows)
                text = row_text(row, width=self.name_width, stamps=self.stamps, search=self.search)
                log.write(text, scroll_end=self.follow)
            self._rows += 1

    def _redraw(self) -> None:
        log = self.query_one(RichLog)
        log.clear()
        self._rows = 0
        self.match_rows = []
        self.current = None
        self._window = None
        self._write(self._view([line for line in self.lines if self._matches(line)])[-MAX_LINES:])

    def _first_row(self) -> int:
        """The row number of the RichLog's first line (older rows were dropped)."""
        return self._rows - len(self.query_one(RichLog).lines)

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
        self.query_one("#logs-title", Static).update(title)
        self._update_status()

    def _update_status(self) -> None:
        status = literal(self.options.describe(), "dim")
        status.append(f"  stamps {'on' if self.stamps else 'off'}", style="dim")
        if self.pattern is not None:
            status.append("  filter: ", style="dim")
            status.append_text(literal(self.pattern.pattern))
        self.search_status(status)
        self.query_one("#logs-status", Static).update(status)

    # --- actions ------------------------------------------------------------------

    def _prompt(self, selector: str) -> Input:
        return self.query_one(selector, Input)

    def action_back(self) -> None:
        for selector in PROMPTS:
            if self._prompt(selector).has_focus:
                self._close_prompt(selector)
                return
        self._close_stream()
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "previous":
            return self.previous is not None
        if action == "wider":
            return self.wider is not None
        return True

    def action_wider(self) -> None:
        if self.wider is not None:
            self.post_message(self.wider())

    def action_previous(self) -> None:
        if self.previous is not None:
            self.post_message(self.previous())

    def _set_follow(self, follow: bool) -> None:
        self.follow = follow
        log = self.query_one(RichLog)
        log.auto_scroll = follow
        if follow:
            log.scroll_end(animate=False)

    def action_toggle_follow(self) -> None:
        self._set_follow(not self.follow)
        self._update_title()

    def _open_prompt(self, selector: str, value: str | None = None) -> None:
        for other in PROMPTS:
            if other != selector:
                self._prompt(other).remove_class("-visible")
        box = self._prompt(selector)
        if value is not None:
            box.value = value
        box.add_class("-visible")
        box.focus()

    def _close_prompt(self, selector: str) -> None:
        box = self._prompt(selector)
        if selector != "#logs-options":
            box.value = ""  # the Changed handler clears the filter or the search
        box.remove_class("-visible")
        self.query_one(RichLog).focus()

    def action_filter(self) -> None:
        self._open_prompt("#logs-filter")

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

    @on(Input.Changed, "#logs-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.set_search(event.value)

    @on(Input.Submitted, "#logs-search")
    def _search_submitted(self) -> None:
        self.search_submitted()

    @on(Input.Submitted, "#logs-filter")
    def _filter_submitted(self) -> None:
        self.query_one(RichLog).focus()

    @on(Input.Submitted, "#logs-options")
    def _options_submitted(self, event: Input.Submitted) -> None:
        self.apply_options(event.value)

    def action_scroll_down(self) -> None:
        self.query_one(RichLog).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one(RichLog).scroll_up(animate=False)

    def action_write(self) -> None:
        """The buffer as plain text (the columns shown) into a new file in the
        logs directory: never over an existing file or through a planted symlink."""
        config = getattr(getattr(self.app, "config", None), "logs", None)
        directory = log_directory(getattr(config, "directory", ""))
        lines = [row_plain(line, width=self.name_width, stamps=self.stamps) for line in self.lines]
        try:
            path = write_log(directory, self.file_name, lines)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.notify(f"Could not write a log file in {directory}: {reason}", severity="error")
            return
        self.notify(f"Wrote {len(lines)} lines to {path}", timeout=6)
