"""The local spool of a shared store: the writes PostgreSQL could not take
while it was away, kept in order in a small SQLite file in the state dir and
written to PostgreSQL once it is back.

Why a file and not a list: an opsdash killed (or a laptop that sleeps) during
the outage still has them at its next start, which flushes them first. Why a
key per row: a flush that dies between PostgreSQL's COMMIT and the spool's
delete writes the row again at the next flush; the key, inserted into
`spool_flushed` in the same PostgreSQL transaction as the row itself, makes
that second write a no-op (deployments are also kept once by their external
id, as always). Bounded by rows and bytes: past either, new writes are lost
and counted (`dropped`), never the ones already queued.

Core: no Textual. Thread-safe.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

MAX_ROWS = 100_000
MAX_BYTES = 64 * 1024 * 1024  # recordings are the big rows: about an hour of 200 containers

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    sql TEXT NOT NULL,
    params TEXT NOT NULL,
    size INTEGER NOT NULL
)
"""


class Spooled(NamedTuple):
    id: int
    key: str
    sql: str
    params: list[Any]


def spool_path(where: str) -> Path:
    """The spool file of the store at `where` (its URL without password): one per
    database, so two configs never flush into each other's."""
    from opsdash.locations import state_dir

    digest = hashlib.sha256(where.encode()).hexdigest()[:16]
    return state_dir() / f"store-spool-{digest}.db"


def _encode(params: Sequence[Any]) -> str:
    return json.dumps(
        [
            {"b": base64.b64encode(p).decode()} if isinstance(p, bytes | bytearray) else p
            for p in params
        ]
    )


def _decode(text: str) -> list[Any]:
    return [base64.b64decode(p["b"]) if isinstance(p, dict) else p for p in json.loads(text)]


class Spool:
    def __init__(self, path: Path, *, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES):
        self.path = path
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.dropped = 0  # writes refused because the spool was full
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        count, size = self._db.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM spool"
        ).fetchone()
        self.count, self.bytes = int(count), int(size)

    def add(self, sql: str, params: Sequence[Any]) -> bool:
        """Queue one statement; False (and counted in `dropped`) when full."""
        encoded = _encode(params)
        size = len(sql) + len(encoded)
        with self._lock:
            if self.count >= self.max_rows or self.bytes + size > self.max_bytes:
                self.dropped += 1
                return False
            self._db.execute(
                "INSERT INTO spool(key, sql, params, size) VALUES (?, ?, ?, ?)",
                (uuid.uuid4().hex, sql, encoded, size),
            )
            self.count += 1
            self.bytes += size
        return True

    def oldest(self, limit: int = 100) -> list[Spooled]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, key, sql, params FROM spool ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        return [Spooled(int(r[0]), r[1], r[2], _decode(r[3])) for r in rows]

    def done(self, row_id: int) -> None:
        with self._lock:
            row = self._db.execute("SELECT size FROM spool WHERE id = ?", (row_id,)).fetchone()
            if row is None:
                return
            self._db.execute("DELETE FROM spool WHERE id = ?", (row_id,))
            self.count -= 1
            self.bytes -= int(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
