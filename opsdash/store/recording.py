"""The store's table of recorded polls (`poll_records`): write, read a range, prune.

Rows are opaque here (`opsdash.recording_codec` packs them): this module only
knows that a row of kind D is a delta on the row before it of the same source
and session (the opsdash process that recorded it, `opsdash.recorder`: two
recording the same label into one store interleave their rows), so pruning
drops whole chains of each (source, session), never the snapshot a kept delta
builds on. Retention by age and size is over the whole store: on a team's
store, `[record] max_mib` bounds everyone's recordings together.
Writes are history writes: a store that cannot be written loses them (and
says so in its `problem`), it never stops a poll.

Reached through the store's two ways in (`_history` for writes, `_read` for
reads), so it works on whatever backend the store is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

KEYFRAME = "K"  # a whole snapshot
DELTA = "D"  # a change on the source's row before
ERROR = "E"  # a failed poll: its one-line message
CHAIN_STARTS = (KEYFRAME, ERROR)  # rows that need no row before them


class RecordIndex(NamedTuple):
    """One row without its data: what the replay timeline steps through."""

    id: int
    at: float  # Unix seconds
    source: str
    kind: str
    session: str = ""  # who recorded it: rows before migration 9 have ''


class RecordSession(NamedTuple):
    """One opsdash process's recording: what `opsdash replay --sessions` lists."""

    session: str
    sources: tuple[str, ...]
    first: float  # Unix seconds
    last: float


class RecordBlob(NamedTuple):
    id: int
    at: float
    kind: str
    codec: int
    data: bytes


def _changed(store: Any, sql: str, params: Sequence[Any]) -> int:
    """A history write, counted apart: recorded rows change nothing that is
    computed from the store (`Store.revision`, which the DORA keys go by)."""
    rows = store._history(sql, params)
    store.recorded_changes = getattr(store, "recorded_changes", 0) + max(0, rows)
    return rows


def add_record(
    store: Any,
    at: datetime,
    source: str,
    kind: str,
    codec: int,
    data: bytes,
    session: str = "",
) -> bool:
    """One recorded poll; False when the store could not take it."""
    return (
        _changed(
            store,
            "INSERT INTO poll_records(at, source, session, kind, codec, size, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (at.timestamp(), source, session, kind, codec, len(data), data),
        )
        == 1
    )


def record_index(
    store: Any,
    sources: Sequence[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    session: str | None = None,
) -> list[RecordIndex]:
    """Rows (oldest first) of `sources` (all when empty) between `start` and
    `end`, of one `session` (all when None); `start` is widened to the chain
    start each (source, session) needs."""
    where, params = _source_filter(sources)
    if session is not None:
        where.append("session = ?")
        params.append(session)
    if start is not None:
        starts = _chain_starts_before(store, sources, start.timestamp(), session)
        if starts:
            where.append("id >= ?")
            params.append(min(starts))
    if end is not None:
        where.append("at <= ?")
        params.append(end.timestamp())
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = store._read(
        f"SELECT id, at, source, kind, session FROM poll_records{clause} ORDER BY id", params
    )
    return [RecordIndex(int(r[0]), float(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]


def _source_filter(sources: Sequence[str]) -> tuple[list[str], list[Any]]:
    if not sources:
        return [], []
    marks = ", ".join("?" * len(sources))
    return [f"source IN ({marks})"], list(sources)


def _streams(
    store: Any, sources: Sequence[str] = (), session: str | None = None
) -> list[tuple[str, str]]:
    """The (source, session) pairs recorded: each one chain of rows after another."""
    where, params = _source_filter(sources)
    if session is not None:
        where.append("session = ?")
        params.append(session)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = store._read(f"SELECT DISTINCT source, session FROM poll_records{clause}", params)
    return sorted((str(r[0]), str(r[1])) for r in rows)


def _chain_starts_before(
    store: Any, sources: Sequence[str], at: float, session: str | None = None
) -> list[int]:
    """Per (source, session), the id of its last chain start at or before `at`
    (or its first row)."""
    found = []
    for name, who in _streams(store, sources, session):
        rows = store._read(
            "SELECT max(id) FROM poll_records"
            " WHERE source = ? AND session = ? AND at <= ? AND kind IN (?, ?)",
            (name, who, at, *CHAIN_STARTS),
        )
        if rows and rows[0][0] is not None:
            found.append(int(rows[0][0]))
            continue
        rows = store._read(
            "SELECT min(id) FROM poll_records WHERE source = ? AND session = ?", (name, who)
        )
        if rows and rows[0][0] is not None:
            found.append(int(rows[0][0]))
    return found


def record_blobs(
    store: Any, source: str, first_id: int, last_id: int, session: str = ""
) -> list[RecordBlob]:
    """The rows of `source` recorded by `session` with ids `first_id`..`last_id`,
    with their data, oldest first."""
    rows = store._read(
        "SELECT id, at, kind, codec, data FROM poll_records"
        " WHERE source = ? AND session = ? AND id >= ? AND id <= ? ORDER BY id",
        (source, session, first_id, last_id),
    )
    return [RecordBlob(int(r[0]), float(r[1]), str(r[2]), int(r[3]), bytes(r[4])) for r in rows]


def recorded_sources(store: Any) -> list[str]:
    return sorted(r[0] for r in store._read("SELECT DISTINCT source FROM poll_records"))


def recorded_sessions(store: Any) -> list[RecordSession]:
    """Every session that recorded, oldest first: its sources and its time span."""
    rows = store._read(
        "SELECT session, source, min(at), max(at) FROM poll_records GROUP BY session, source"
    )
    spans: dict[str, tuple[set[str], float, float]] = {}
    for who, source, first, last in rows:
        names, low, high = spans.get(str(who), (set(), float(first), float(last)))
        names.add(str(source))
        spans[str(who)] = (names, min(low, float(first)), max(high, float(last)))
    found = [RecordSession(w, tuple(sorted(n)), lo, hi) for w, (n, lo, hi) in spans.items()]
    return sorted(found, key=lambda s: (s.first, s.session))


def recorded_bytes(store: Any) -> int:
    rows = store._read("SELECT coalesce(sum(size), 0) FROM poll_records")
    return int(rows[0][0]) if rows else 0


def recorded_span(store: Any) -> tuple[float, float] | None:
    """(first, last) Unix seconds of what is recorded; None when nothing is."""
    rows = store._read("SELECT min(at), max(at) FROM poll_records")
    if not rows or rows[0][0] is None:
        return None
    return float(rows[0][0]), float(rows[0][1])


def _size_cutoff(store: Any, max_bytes: int) -> float | None:
    """The time at and before which rows must go for the rest to fit `max_bytes`."""
    if recorded_bytes(store) <= max_bytes:
        return None
    total = 0
    for at, size in store._read("SELECT at, size FROM poll_records ORDER BY at DESC, id DESC"):
        total += int(size)
        if total > max_bytes:
            return float(at)
    return None


def prune_records(store: Any, keep: timedelta, max_bytes: int, now: datetime) -> int:
    """Drop what is older than `keep`, then the oldest beyond `max_bytes`; the
    number of rows dropped. Whole chains go: a kept delta keeps its snapshot
    (so the size may exceed `max_bytes` by up to one chain per source and
    session). Age and size are over the whole store, every session together."""
    cutoff = (now - keep).timestamp()
    by_size = _size_cutoff(store, max_bytes)
    if by_size is not None:
        cutoff = max(cutoff, by_size + 1e-6)
    removed = 0
    for source, session in _streams(store):
        removed += _prune_stream(store, source, session, cutoff)
    return removed


def _prune_stream(store: Any, source: str, session: str, cutoff: float) -> int:
    """Drop what one session recorded of `source` before `cutoff`, whole chains only."""
    mine = "source = ? AND session = ?"
    newest = store._read(f"SELECT max(at) FROM poll_records WHERE {mine}", (source, session))
    if newest and newest[0][0] is not None and float(newest[0][0]) < cutoff:
        return _changed(store, f"DELETE FROM poll_records WHERE {mine}", (source, session))
    # The first row to keep, and the chain start it builds on.
    rows = store._read(
        f"SELECT min(id) FROM poll_records WHERE {mine} AND at >= ?", (source, session, cutoff)
    )
    first_row = rows[0][0] if rows else None
    if first_row is None:
        return 0
    rows = store._read(
        f"SELECT max(id) FROM poll_records WHERE {mine} AND id <= ? AND kind IN (?, ?)",
        (source, session, int(first_row), *CHAIN_STARTS),
    )
    first_kept = rows[0][0] if rows else None
    if first_kept is None:
        return 0
    return _changed(
        store,
        f"DELETE FROM poll_records WHERE {mine} AND id < ?",
        (source, session, int(first_kept)),
    )


def forget_sources(store: Any, sources: Iterable[str]) -> int:
    """Drop everything recorded of `sources` (tests, and a source renamed)."""
    return sum(
        _changed(store, "DELETE FROM poll_records WHERE source = ?", (name,)) for name in sources
    )
