"""Log bytes to bounded lines, whatever the container writes.

A container may write 200,000 lines a second, or one endless line with no
newline. `LineCutter` splits a byte stream into lines of at most `MAX_LINE`
characters (a longer one is cut, marked, and the rest of it skipped without
being kept), decoding UTF-8 incrementally so a character split across chunks
survives. `LineQueue` hands lines from the reading thread to the screen, keeps
at most `MAX_QUEUED` of them, and counts what it had to drop.
"""

from __future__ import annotations

import codecs
import threading
from collections import deque
from collections.abc import Iterator

MAX_LINE = 4_096  # characters kept of one line (10,000 lines: at most ~40 MB); the rest is counted
MAX_QUEUED = 10_000  # lines waiting for the screen; older ones are dropped first
CUT_MARK = " …[cut {:,} more bytes]"


class LineCutter:
    def __init__(self, max_line: int = MAX_LINE):
        self.max_line = max_line
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []
        self._pending_len = 0
        self._skipping = 0  # bytes of an over-long line skipped so far (0: not skipping)
        self.cut_lines = 0

    def feed(self, chunk: bytes) -> Iterator[str]:
        """Complete lines in `chunk` (and the chunks before it)."""
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            end = len(chunk) if newline < 0 else newline
            self._take(chunk[start:end])
            if newline < 0:
                return
            yield self._line()
            start = newline + 1

    def _take(self, piece: bytes) -> None:
        if not piece:
            return
        if self._skipping:  # the rest of an over-long line: counted, never kept
            self._skipping += len(piece)
            return
        room = self.max_line - self._pending_len
        if len(piece) <= room:  # n bytes decode to at most n characters
            text = self._decoder.decode(piece)
            self._pending.append(text)
            self._pending_len += len(text)
            return
        head = piece[: room * 4]  # enough bytes for `room` characters of any width
        text = self._decoder.decode(head)
        kept = text[:room]
        self._pending.append(kept)
        self._pending_len += len(kept)
        over = len(text[room:].encode("utf-8")) + len(piece) - len(head)
        if over > 0:
            self._skipping = over
            self._decoder.reset()

    def _line(self) -> str:
        text = "".join(self._pending) + self._decoder.decode(b"", final=True)
        self._decoder.reset()
        if self._skipping:
            text += CUT_MARK.format(self._skipping)
            self.cut_lines += 1
        self._pending.clear()
        self._pending_len = 0
        self._skipping = 0
        return text.rstrip("\r")

    def flush(self) -> str | None:
        """What is left when the stream ends (a last line without a newline)."""
        if not self._pending and not self._skipping:
            return None
        return self._line()


class LineQueue:
    """Thread-safe, bounded: the reader puts, the screen takes everything at once."""

    def __init__(self, limit: int = MAX_QUEUED):
        self._lines: deque[str] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self.received = 0
        self.dropped = 0

    def put(self, line: str) -> None:
        with self._lock:
            if len(self._lines) == self._lines.maxlen:
                self.dropped += 1
            self._lines.append(line)
            self.received += 1

    def take(self) -> list[str]:
        with self._lock:
            lines = list(self._lines)
            self._lines.clear()
        return lines
