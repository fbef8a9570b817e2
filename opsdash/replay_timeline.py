"""Recorded polls read back: what each source's poll returned at any moment.

`ReplayTimeline` reads the index of the recorded rows once and decodes a
source's chain (a keyframe and its deltas, `opsdash.recorder`) only when a
moment is shown, going forward from what it decoded last when it can, so
stepping and playing cost one delta per step. `ReplayPoller` is a `Poller`
whose sources are the recorded ones: the panels read it exactly as they read
the live one (`opsdash.panel_feed`), so replay and live share their render
path.

Core: no Textual.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from opsdash import recording_codec as codec
from opsdash.model import HealthState, SourceHealth
from opsdash.poller import Poller
from opsdash.sources.base import Source
from opsdash.store import recording as table


class _Found:
    """What a source's poll had returned at a moment."""

    __slots__ = ("at", "data", "error", "position")

    def __init__(self, position: int, at: float, data: object | None, error: str | None):
        self.position, self.at, self.data, self.error = position, at, data, error


class ReplayTimeline:
    def __init__(self, store: Any, sources: Sequence[str] = (), start: datetime | None = None):
        """`start`: read from there on only (and the chains it needs), not the whole recording."""
        self.store = store
        self._rows: dict[str, list[table.RecordIndex]] = {}
        for row in table.record_index(store, sources, start):
            if row.kind == table.DELTA and row.source not in self._rows:
                continue  # read from `start`: a delta whose snapshot is before it
            self._rows.setdefault(row.source, []).append(row)
        self._ats = {label: [r.at for r in rows] for label, rows in self._rows.items()}
        self.moments: list[float] = sorted({r.at for rows in self._rows.values() for r in rows})
        self._cache: dict[str, _Found] = {}
        self.feeds: dict[str, type] = {}
        for label in list(self._rows):
            kind = self._first_type(label)
            if kind is None:
                del self._rows[label], self._ats[label]  # only failures: no panel to feed
            else:
                self.feeds[label] = kind

    @property
    def labels(self) -> list[str]:
        return sorted(self._rows)

    @property
    def empty(self) -> bool:
        return not self.moments

    def _first_type(self, label: str) -> type | None:
        for row in self._rows[label]:
            if row.kind == table.KEYFRAME:
                (blob,) = table.record_blobs(self.store, label, row.id, row.id)
                return type(codec.decode(codec.unpack(blob.data)))
        return None

    # --- moments ---------------------------------------------------------------

    def moment_at_or_before(self, at: float) -> float | None:
        i = bisect.bisect_right(self.moments, at)
        return self.moments[i - 1] if i else None

    def step(self, at: float, steps: int) -> float | None:
        """The recorded moment `steps` after (or, negative, before) `at`."""
        if not self.moments:
            return None
        if steps > 0:
            i = bisect.bisect_right(self.moments, at) + steps - 1
        else:
            i = bisect.bisect_left(self.moments, at) + steps
        return self.moments[max(0, min(len(self.moments) - 1, i))]

    # --- what a source showed ------------------------------------------------------

    def at(self, label: str, at: float) -> _Found | None:
        """`label`'s last recorded poll at or before `at`; None before its first."""
        position = bisect.bisect_right(self._ats.get(label, []), at) - 1
        if position < 0:
            return None
        cached = self._cache.get(label)
        if cached is not None and cached.position == position:
            return cached
        rows = self._rows[label]
        start = position
        while rows[start].kind == table.DELTA and start > 0:
            start -= 1
        base: object | None = None
        first = start
        if cached is not None and start <= cached.position < position and cached.error is None:
            base, first = cached.data, cached.position + 1  # go on from what was decoded
        found = self._decode(label, rows, first, position, base)
        self._cache[label] = found
        return found

    def last_good(self, label: str, found: _Found) -> object | None:
        """What a failed poll left on the screen: the data of the poll before it
        that succeeded (live keeps the last good data beside the error)."""
        rows = self._rows[label]
        position = found.position
        while position >= 0 and rows[position].kind == table.ERROR:
            position -= 1
        if position < 0:
            return None
        earlier = self.at(label, rows[position].at)
        return earlier.data if earlier is not None else None

    def _decode(
        self,
        label: str,
        rows: list[table.RecordIndex],
        first: int,
        last: int,
        base: object | None,
    ) -> _Found:
        value, error = base, None
        for blob in table.record_blobs(self.store, label, rows[first].id, rows[last].id):
            payload = codec.unpack(blob.data)
            if blob.kind == table.ERROR:
                value, error = None, str(payload)
            elif blob.kind == table.KEYFRAME:
                value, error = codec.decode(payload), None
            elif value is not None:
                value, error = codec.apply(value, payload), None
        return _Found(last, rows[last].at, value, error)


class ReplaySource(Source):
    """A recorded source: its label, and the type its polls returned."""

    kind = "replay"
    feeds = object
    config_class = object

    def __init__(self, label: str, feeds: type):
        kind, _, name = label.partition(":")
        super().__init__(name or label, refresh=1.0, timeout=10.0)
        self.kind = kind if name else "replay"  # type: ignore[misc]
        self.feeds = feeds  # type: ignore[misc]
        self.read_only = True

    def poll(self) -> object:
        raise RuntimeError("a recorded source is not polled")


def as_local(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC).astimezone()


MOMENT_HINT = "a time: 03:12, 03:12:30, 2026-12-03T03:12:00Z, or how long ago (15m, 2h, 1d)"


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """The moment `text` names: HH:MM[:SS] today (local), an ISO 8601 time
    (local when it has no zone), or a duration before `now`; ValueError else."""
    from opsdash.log_options import since_moment

    value = text.strip()
    now = now or datetime.now().astimezone()
    if not value or len(value) > 64:
        raise ValueError(f"not {MOMENT_HINT}")
    for layout in ("%H:%M", "%H:%M:%S"):
        try:
            clock = datetime.strptime(value, layout).time()
        except ValueError:
            continue
        local = now.astimezone()
        return local.replace(
            hour=clock.hour, minute=clock.minute, second=clock.second, microsecond=0
        )
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] in "Zz" else value)
    except ValueError:
        moment = None
    if moment is not None:
        return moment if moment.tzinfo is not None else moment.astimezone()
    try:
        found = since_moment(value, now)
    except ValueError:
        raise ValueError(f"not {MOMENT_HINT}") from None
    if found is None:
        raise ValueError(f"not {MOMENT_HINT}")
    return found.astimezone()


class ReplayPoller(Poller):
    """The recorded sources, showing what their polls returned at `shown_at`."""

    def __init__(self, timeline: ReplayTimeline):
        self.timeline = timeline
        self.shown_at: datetime = as_local(timeline.moments[-1] if timeline.moments else 0.0)
        super().__init__(
            [ReplaySource(label, timeline.feeds[label]) for label in timeline.labels],
            clock=lambda: self.shown_at,
        )

    def show(self, at: datetime) -> list[str]:
        """Every source as it was at `at`; the labels whose data changed."""
        self.shown_at = at
        changed = []
        for label in self.sources:
            found = self.timeline.at(label, at.timestamp())
            before = self.data(label)
            if found is None:
                with self._lock:
                    self._data.pop(label, None)
                    health = self._health[label]
                    self._health[label] = SourceHealth(
                        source=health.source, kind=health.kind, message="nothing recorded yet"
                    )
            elif found.error is not None:
                good = self.timeline.last_good(label, found)
                with self._lock:  # the last good data stays, as live
                    if good is None:
                        self._data.pop(label, None)
                    else:
                        self._data[label] = good
                self.record(label, None, found.error, 0.0)
            else:
                self.record(label, found.data, None, 0.0)
                with self._lock:  # when it was polled, not the moment shown
                    self._health[label] = replace(self._health[label], last_ok=as_local(found.at))
            if self.data(label) is not before:
                changed.append(label)
        return changed

    def health(self, label: str) -> SourceHealth:
        """As recorded: a moment that repeats an older poll is not stale."""
        with self._lock:
            health = self._health[label]
        if health.state is HealthState.OK:
            return replace(health, last_ok=self.shown_at)
        return health
