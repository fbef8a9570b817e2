"""What a program's settled output changes on screen: it replays a PtyRun's
recorded chunks through pyte and tells the rows that changed from the chunks
that changed nothing (a repaint of what was already there).

Used by the stats-off run (stats_off.py): there, every byte is a target miss,
and this tells a ticking label from a table repainted unchanged.
"""

from __future__ import annotations

from typing import Any

from benchmarks.instruments import COLS, ROWS


def screen_changes(chunks: list[tuple[float, bytes]], since: float) -> dict[str, Any]:
    """Over the chunks read at or after `since` (seconds from spawn): bytes in all,
    bytes of chunks that changed no cell (text or style), and the rows that changed."""
    import pyte

    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)

    def rows() -> list[tuple[Any, ...]]:
        return [tuple(screen.buffer[y][x] for x in range(COLS)) for y in range(ROWS)]

    total = unchanged = 0
    changed: set[int] = set()
    before: list[tuple[Any, ...]] | None = None
    for read_at, data in chunks:
        if read_at < since:
            stream.feed(data)
            continue
        if before is None:
            before = rows()
        stream.feed(data)
        after = rows()
        diff = [y for y in range(ROWS) if after[y] != before[y]]
        total += len(data)
        if not diff:
            unchanged += len(data)
        changed.update(diff)
        before = after
    return {
        "bytes": total,
        "bytes_changing_nothing": unchanged,
        "rows_changed": sorted(changed),
        "changed_text": [screen.display[y].strip()[:60] for y in sorted(changed)][:6],
    }
