"""The store's table of recorded polls (`poll_records`): write, read a range, prune.

Rows are opaque here (`opsdash.recording_codec` packs them): this module only
knows that a row of kind D is a delta on the row before it of the same source,
so pruning drops whole chains, never the snapshot a kept delta builds on.
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


def add_record(store: Any, at: datetime, source: str, kind: str, codec: int, data: bytes) -> bool:
    """One recorded poll; False when the store could not take it."""
    return (
        _changed(
            store,
            "INSERT INTO poll_records(at, source, kind, codec, size, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (at.timestamp(), source, kind, codec, len(data), data),
        )
        == 1
    )


def record_index(
    store: Any,
    sources: Sequence[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[RecordIndex]:
    """Rows (oldest first) of `sources` (all when empty) between `start` and
    `end`; `start` is widened to the chain start each source needs."""
    where, params = _source_filter(sources)
    if start is not None:
        starts = _chain_starts_before(store, sources, start.timestamp())
        if starts:
            where.append("id >= ?")
            params.append(min(starts))
    if end is not None:
        where.append("at <= ?")
        params.append(end.timestamp())
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = store._read(f"SELECT id, at, source, kind FROM poll_records{clause} ORDER BY id", params)
    return [RecordIndex(int(r[0]), float(r[1]), str(r[2]), str(r[3])) for r in rows]


def _source_filter(sources: Sequence[str]) -> tuple[list[str], list[Any]]:
    if not sources:
        return [], []
    marks = ", ".join("?" * len(sources))
    return [f"source IN ({marks})"], list(sources)


def _chain_starts_before(store: Any, sources: Sequence[str], at: float) -> list[int]:
    """Per source, the id of its last chain start at or before `at` (or its first row)."""
    names = list(sources) or [r[0] for r in store._read("SELECT DISTINCT source FROM poll_records")]
    found = []
    for name in names:
        rows = store._read(
            "SELECT max(id) FROM poll_records WHERE source = ? AND at <= ? AND kind IN (?, ?)",
            (name, at, *CHAIN_STARTS),
        )
        if rows and rows[0][0] is not None:
            found.append(int(rows[0][0]))
            continue
        rows = store._read("SELECT min(id) FROM poll_records WHERE source = ?", (name,))
        if rows and rows[0][0] is not None:
            found.append(int(rows[0][0]))
    return found


def record_blobs(store: Any, source: str, first_id: int, last_id: int) -> list[RecordBlob]:
    """The rows of `source` with ids `first_id`..`last_id`, with their data, oldest first."""
    rows = store._read(
        "SELECT id, at, kind, codec, data FROM poll_records"
        " WHERE source = ? AND id >= ? AND id <= ? ORDER BY id",
        (source, first_id, last_id),
    )
    return [RecordBlob(int(r[0]), float(r[1]), str(r[2]), int(r[3]), bytes(r[4])) for r in rows]


def recorded_sources(store: Any) -> list[str]:
    return sorted(r[0] for r in store._read("SELECT DISTINCT source FROM poll_records"))


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
    (so the size may exceed `max_bytes` by up to one chain per source)."""
    cutoff = (now - keep).timestamp()
    by_size = _size_cutoff(store, max_bytes)
    if by_size is not None:
        cutoff = max(cutoff, by_size + 1e-6)
    removed = 0
    for source in recorded_sources(store):
        removed += _prune_source(store, source, cutoff)
    return removed


def _prune_source(store: Any, source: str, cutoff: float) -> int:
    newest = store._read("SELECT max(at) FROM poll_records WHERE source = ?", (source,))
    if newest and newest[0][0] is not None and float(newest[0][0]) < cutoff:
        return _changed(store, "DELETE FROM poll_records WHERE source = ?", (source,))
    # The first row to keep, and the chain start it builds on.
    rows = store._read(
        "SELECT min(id) FROM poll_records WHERE source = ? AND at >= ?", (source, cutoff)
    )
    first_row = rows[0][0] if rows else None
    if first_row is None:
        return 0
    rows = store._read(
        "SELECT max(id) FROM poll_records WHERE source = ? AND id <= ? AND kind IN (?, ?)",
        (source, int(first_row), *CHAIN_STARTS),
    )
    first_kept = rows[0][0] if rows else None
    if first_kept is None:
        return 0
    return _changed(
        store, "DELETE FROM poll_records WHERE source = ? AND id < ?", (source, int(first_kept))
    )


def forget_sources(store: Any, sources: Iterable[str]) -> int:
    """Drop everything recorded of `sources` (tests, and a source renamed)."""
    return sum(
        _changed(store, "DELETE FROM poll_records WHERE source = ?", (name,)) for name in sources
    )
