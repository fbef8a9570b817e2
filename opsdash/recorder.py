"""Records every panel's polls into the store, for `opsdash replay`.

Called from the poll workers with each result that differs from the last one
of its source (the app already skips a poll that returned the very same
snapshot). Each source's rows form chains: a whole snapshot (a keyframe), then
deltas on it (`opsdash.recording_codec`), a fresh keyframe every
`KEY_EVERY` rows or `KEY_SECONDS`, so replaying any moment decodes at most one
chain. Failed polls are recorded as their one-line message.

Every row names its session, the process that recorded it (`session_id`):
two opsdash recording the same label into one store (a team's PostgreSQL, two
terminals on one SQLite file) keep separate chains, and replay decodes each
delta on its own session's keyframe.

Values that change at every poll without the screen changing are recorded at
the precision the tables show them (CPU to 0.1 %, memory to the 0.1 of the
unit `human_bytes` prints): a container whose shown CPU and memory stay the
same costs nothing, and replay draws the same cells as live did.

Core: no Textual. Thread-safe: sources poll in parallel threads.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from opsdash import recording_codec as codec
from opsdash.config_record import RecordConfig
from opsdash.eventlog import event
from opsdash.formatting import human_bytes
from opsdash.model import Container, DockerSnapshot, HostStats
from opsdash.store import recording as table

KEY_EVERY = 300  # rows per chain at most
KEY_SECONDS = 900.0  # and at most this long
PRUNE_SECONDS = 600.0  # how often retention runs while recording


def session_id(now: datetime | None = None) -> str:
    """This process as replay names it: `user@host` (as the audit log names an
    instance), the pid and the start time (UTC, to the minute), e.g.
    "alice@laptop 4242 2026-12-03T17:20Z"."""
    from opsdash.actions.runner import current_actor

    started = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{current_actor()} {os.getpid()} {started:%Y-%m-%dT%H:%MZ}"


def shown_bytes(value: int | None) -> int | None:
    """`value` rounded to what `human_bytes` shows of it (1 B, else 0.1 of the unit)."""
    if value is None:
        return None
    unit = 1
    for step in (1024, 1024**2, 1024**3, 1024**4):
        if abs(value) < step * 1024 or step == 1024**4:
            unit = step if abs(value) >= step else 1
            break
    if unit == 1:
        return value
    rounded = int(round(value / (unit / 10)) * (unit / 10))
    return rounded if human_bytes(rounded) == human_bytes(value) else value


def shown_percent(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def as_shown(snapshot: object) -> object:
    """The snapshot with the values that jitter at every poll at the precision shown."""
    if isinstance(snapshot, DockerSnapshot):
        return replace(snapshot, containers=tuple(_container(c) for c in snapshot.containers))
    if isinstance(snapshot, HostStats):
        return replace(
            snapshot,
            cpu_percent=round(snapshot.cpu_percent, 1),
            memory_used=shown_bytes(snapshot.memory_used) or 0,
            memory_percent=round(snapshot.memory_percent, 1),
            swap_used=shown_bytes(snapshot.swap_used) or 0,
            swap_percent=round(snapshot.swap_percent, 1),
            load=tuple(round(x, 2) for x in snapshot.load),
        )
    return snapshot


def _container(c: Container) -> Container:
    cpu, memory = shown_percent(c.cpu_percent), shown_bytes(c.memory_used)
    if cpu == c.cpu_percent and memory == c.memory_used:
        return c
    return replace(c, cpu_percent=cpu, memory_used=memory)


@dataclass
class _Chain:
    last: object | None = None  # the snapshot the next delta builds on; None after an error
    error: str | None = None
    rows: int = 0
    started: float = 0.0  # monotonic time of its keyframe


class Recorder:
    """What the app calls after each poll; does nothing when [record] is off."""

    def __init__(
        self, store: Any, config: RecordConfig, *, clock=time.monotonic, session: str | None = None
    ):
        self.store = store
        self.session = session if session is not None else session_id()
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._chains: dict[str, _Chain] = {}
        self._refused: set[str] = set()  # sources whose snapshots the codec does not know
        self._pruned = -PRUNE_SECONDS
        self.written = 0  # rows, and their bytes: for the benchmark and the tests
        self.bytes = 0

    def record(self, label: str, data: object | None, error: str | None, at: datetime) -> bool:
        """One poll's outcome; True when a row was written."""
        if not self.config.enabled or self.store is None or label in self._refused:
            return False
        try:
            with self._lock:
                chain = self._chains.setdefault(label, _Chain())
                row = self._row(label, chain, data, error)
        except Exception as exc:  # noqa: BLE001 - recording never fails a poll
            self._refused.add(label)
            event(f"replay: {label} is no longer recorded: {type(exc).__name__}", warning=True)
            return False
        if row is None:
            return False
        kind, blob = row
        written = table.add_record(
            self.store, at, label, kind, codec.CODEC_VERSION, blob, self.session
        )
        if written:
            self.written += 1
            self.bytes += len(blob)
        self._maybe_prune(at)
        return written

    def _row(
        self, label: str, chain: _Chain, data: object | None, error: str | None
    ) -> tuple[str, bytes] | None:
        """What to write for this poll (None: the same as the last row); under the lock."""
        if error is not None:
            if chain.last is None and chain.error == error:
                return None
            chain.last, chain.error = None, error
            return table.ERROR, codec.pack(error)
        shown = as_shown(data)
        if chain.last is not None and (chain.last is shown or chain.last == shown):
            return None
        now = self._clock()
        fresh = (
            chain.last is None
            or type(chain.last) is not type(shown)
            or chain.rows >= KEY_EVERY
            or now - chain.started >= KEY_SECONDS
        )
        try:
            if not fresh:
                change = codec.delta(chain.last, shown)
                if isinstance(change, list) and change and change[0] == "~":
                    chain.last, chain.error = shown, None
                    chain.rows += 1
                    return table.DELTA, codec.pack(change)
            blob = codec.pack(codec.encode(shown))
        except codec.UnknownType as exc:
            self._refused.add(label)
            event(f"replay: {label} is not recorded: its snapshots hold a {exc} (unknown type)")
            return None
        chain.last, chain.error, chain.rows, chain.started = shown, None, 1, now
        return table.KEYFRAME, blob

    def _maybe_prune(self, at: datetime) -> None:
        now = self._clock()
        if now - self._pruned < PRUNE_SECONDS:
            return
        self._pruned = now
        self.prune(at)

    def prune(self, now: datetime) -> int:
        return table.prune_records(self.store, self.config.keep, self.config.max_bytes, now)
