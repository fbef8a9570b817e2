"""Recorded polls read back: what each source's poll returned at any moment.

`ReplayTimeline` reads the index of the recorded rows once and decodes a
source's chain (a keyframe and its deltas, `opsdash.recorder`) only when a
moment is shown, going forward from what it decoded last when it can, so
stepping and playing cost one delta per step. A chain is one session's (the
opsdash process that recorded it): when several recorded the same label, each
moment shows, per source, the session that covers it, the one with the latest
chain start at or before it (ties: the most recent), or only the `session`
asked for. `ReplayPoller` is a `Poller`
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
    """What a source's poll had returned at a moment, and whose recording it is."""

    __slots__ = ("at", "data", "error", "position", "session")

    def __init__(
        self,
        position: int,
        at: float,
        data: object | None,
        error: str | None,
        session: str = "",
    ):
        self.position, self.at, self.data, self.error = position, at, data, error
        self.session = session


Stream = tuple[str, str]  # (source label, session): one chain after another


class ReplayTimeline:
    def __init__(
        self,
        store: Any,
        sources: Sequence[str] = (),
        start: datetime | None = None,
        session: str | None = None,
    ):
        """`start`: read from there on only (and the chains it needs), not the whole
        recording; `session`: only what that session recorded (all when None)."""
        self.store = store
        self._rows: dict[Stream, list[table.RecordIndex]] = {}
        for row in table.record_index(store, sources, start, session=session):
            key = (row.source, row.session)
            if row.kind == table.DELTA and key not in self._rows:
                continue  # read from `start`: a delta whose snapshot is before it
            self._rows.setdefault(key, []).append(row)
        self._ats = {key: [r.at for r in rows] for key, rows in self._rows.items()}
        self.moments: list[float] = sorted({r.at for rows in self._rows.values() for r in rows})
        self._cache: dict[Stream, _Found] = {}
        self.feeds: dict[str, type] = {}
        for key in sorted(self._rows, key=lambda k: self._rows[k][0].id):
            kind = self._first_type(key)
            if kind is None:
                del self._rows[key], self._ats[key]  # only failures: no panel to feed
            else:
                self.feeds.setdefault(key[0], kind)
        # Per label, its sessions' chain starts (at, id, session), for `session_at`.
        self._starts: dict[str, list[tuple[float, int, str]]] = {}
        for (label, who), rows in self._rows.items():
            self._starts.setdefault(label, []).extend(
                (r.at, r.id, who) for r in rows if r.kind in table.CHAIN_STARTS
            )
        for starts in self._starts.values():
            starts.sort()

    @property
    def labels(self) -> list[str]:
        return sorted({label for label, _ in self._rows})

    @property
    def sessions(self) -> list[str]:
        """Every session whose recording this timeline can show."""
        return sorted({who for _, who in self._rows})

    @property
    def empty(self) -> bool:
        return not self.moments

    def _first_type(self, key: Stream) -> type | None:
        for row in self._rows[key]:
            if row.kind == table.KEYFRAME:
                (blob,) = table.record_blobs(self.store, key[0], row.id, row.id, key[1])
                return type(codec.decode(codec.unpack(blob.data)))
        return None

    def session_at(self, label: str, at: float) -> str | None:
        """The session whose recording of `label` covers `at`: the one with the
        latest chain start at or before it (ties: the most recently written)."""
        starts = self._starts.get(label, [])
        i = bisect.bisect_right(starts, (at, float("inf"), "")) - 1
        return starts[i][2] if i >= 0 else None

    def sessions_at(self, at: float) -> list[str]:
        """The sessions shown at `at`, over every source."""
        found = {self.session_at(label, at) for label in self.labels}
        return sorted(who for who in found if who is not None)

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
        """`label`'s last recorded poll at or before `at`, in the session that
        covers `at`; None before its first."""
        who = self.session_at(label, at)
        if who is None:
            return None
        key = (label, who)
        position = bisect.bisect_right(self._ats[key], at) - 1
        if position < 0:
            return None
        cached = self._cache.get(key)
        if cached is not None and cached.position == position:
            return cached
        rows = self._rows[key]
        start = position
        while rows[start].kind == table.DELTA and start > 0:
            start -= 1
        base: object | None = None
        first = start
        if cached is not None and start <= cached.position < position and cached.error is None:
            base, first = cached.data, cached.position + 1  # go on from what was decoded
        found = self._decode(key, rows, first, position, base)
        self._cache[key] = found
        return found

    def last_good(self, label: str, found: _Found) -> object | None:
        """What a failed poll left on the screen: the data of the poll before it
        that succeeded (live keeps the last good data beside the error)."""
        key = (label, found.session)
        rows = self._rows[key]
        position = found.position
        while position >= 0 and rows[position].kind == table.ERROR:
            position -= 1
        if position < 0:
            return None
        start = position
        while rows[start].kind == table.DELTA and start > 0:
            start -= 1
        return self._decode(key, rows, start, position, None).data

    def _decode(
        self,
        key: Stream,
        rows: list[table.RecordIndex],
        first: int,
        last: int,
        base: object | None,
    ) -> _Found:
        value, error = base, None
        label, who = key
        for blob in table.record_blobs(self.store, label, rows[first].id, rows[last].id, who):
            payload = codec.unpack(blob.data)
            if blob.kind == table.ERROR:
                value, error = None, str(payload)
            elif blob.kind == table.KEYFRAME:
                value, error = codec.decode(payload), None
            elif value is not None:
                value, error = codec.apply(value, payload), None
        return _Found(last, rows[last].at, value, error, who)


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
