"""The logs of several containers as one stream, in the engine's time order.

Each container's stream is read by its own thread (a stream blocks on its
socket); its lines, stamped by the engine (`opsdash.log_lines`), meet in one
bounded queue. The merge holds a line until every stream still open has sent
a line at least as new (so the tails read at open come out interleaved by
time, whichever socket answered first), or until it has waited HOLD_SECONDS
(so a quiet container does not hold the others back). What fails (a
container removed, the engine refusing) becomes a notice line of that
stream, and the others go on.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from opsdash.log_lines import LogLine

HOLD_SECONDS = 0.5
MAX_HELD = 10_000  # lines waiting for the merge; past it the oldest go out at once
MAX_QUEUED = 2_000  # lines between the readers and the merge; a reader waits beyond it


@dataclass(frozen=True, slots=True)
class Opener:
    """One stream to merge: its name (the column shown) and how to open it."""

    name: str
    open: Callable[[], Any]  # returns a LogStream


class _Ended:
    def __init__(self, slot: int):
        self.slot = slot


class _CutLines:
    """What the screen's title reads off a stream: lines cut, summed over all."""

    def __init__(self, streams: dict[int, Any]):
        self._streams = streams

    @property
    def cut_lines(self) -> int:
        return sum(
            getattr(getattr(s, "cutter", None), "cut_lines", 0)
            for s in list(self._streams.values())
        )


class MergedLogStream:
    """A `LogStream` of `LogLine`s from every opener, each with its `origin`
    and `slot`; ends when all of them have ended. `close()` from any thread."""

    def __init__(self, openers: Sequence[Opener], *, hold: float = HOLD_SECONDS):
        self.openers = tuple(openers)
        self.hold = hold
        self._queue: queue.Queue[LogLine | _Ended] = queue.Queue(maxsize=MAX_QUEUED)
        self._closed = threading.Event()
        self._streams: dict[int, Any] = {}
        self.cutter = _CutLines(self._streams)
        self._threads: list[threading.Thread] = []

    def _put(self, item: LogLine | _Ended) -> None:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _notice(self, slot: int, text: str, at: int) -> LogLine:
        """What opsdash says of a stream, placed right after its last line: the
        engine's clock, not this machine's (they may differ)."""
        name = self.openers[slot].name
        return LogLine(text, at=at, origin=name, slot=slot, notice=True)

    def _read(self, slot: int) -> None:
        opener = self.openers[slot]
        last = 0  # `at` of the stream's newest line
        try:
            stream = opener.open()
            self._streams[slot] = stream
            if self._closed.is_set():
                stream.close()
                return
            for line in stream:
                if self._closed.is_set():
                    return
                named = _as_line(line).with_origin(opener.name, slot)
                last = max(last, named.at)
                self._put(named)
            self._put(self._notice(slot, "stream ended", last))
        except Exception as exc:  # noqa: BLE001 - shown inline, the other streams go on
            if not self._closed.is_set():
                self._put(self._notice(slot, f"error: {' '.join(str(exc).split())}", last))
        finally:
            self._put(_Ended(slot))

    def _start(self) -> None:
        for slot in range(len(self.openers)):
            thread = threading.Thread(
                target=self._read, args=(slot,), name=f"merged-log-{slot}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def __iter__(self) -> Iterator[LogLine]:
        self._start()
        live = set(range(len(self.openers)))
        newest: dict[int, int] = {}  # slot -> `at` of its newest line
        held: list[tuple[int, int, float, LogLine]] = []  # (at, order, arrived, line)
        order = itertools.count()
        while (live or held) and not self._closed.is_set():
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                item = None
            while item is not None:  # take all that is there, then release
                if isinstance(item, _Ended):
                    live.discard(item.slot)
                else:
                    newest[item.slot] = max(newest.get(item.slot, 0), item.at)
                    heapq.heappush(held, (item.at, next(order), time.monotonic(), item))
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            mark = min((newest.get(slot, -1) for slot in live), default=None)
            now = time.monotonic()
            while held and (
                mark is None
                or held[0][0] <= mark
                or now - held[0][2] >= self.hold
                or len(held) > MAX_HELD
            ):
                yield heapq.heappop(held)[3]

    def close(self) -> None:
        """Returns at once; each stream closes itself in the background."""
        self._closed.set()
        for stream in list(self._streams.values()):
            with contextlib.suppress(Exception):
                stream.close()


def out_of_order(newest: int, batch: Sequence[str]) -> bool:
    """Whether `batch` holds a line older than the one before it (the first
    compared with `newest`, the buffer's last): a stream that lagged past the hold."""
    for line in batch:
        at = getattr(line, "at", 0)
        if at < newest:
            return True
        newest = at
    return False


def in_time_order(lines: Sequence[str], limit: int) -> list[str]:
    """The newest `limit` of `lines` by the engine's time (stable: ties keep
    the order they came in)."""
    return sorted(lines, key=lambda line: getattr(line, "at", 0))[-limit:]


def _as_line(line: str) -> LogLine:
    return line if isinstance(line, LogLine) else LogLine(line)
