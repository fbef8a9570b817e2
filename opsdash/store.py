"""The embedded SQLite store: created on first run in the XDG data dir.

It holds the history later features need (deployment events, the audit log,
metric samples) and a log of source health changes. Schema changes go through
numbered migrations so an old database is upgraded in place.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path

from opsdash.model import SourceHealth

_MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE source_events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        source TEXT NOT NULL,
        state TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX source_events_at ON source_events(at);
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        target TEXT NOT NULL,
        host TEXT NOT NULL,
        action TEXT NOT NULL,
        old_image TEXT NOT NULL DEFAULT '',
        new_image TEXT NOT NULL DEFAULT '',
        result TEXT NOT NULL,
        duration_s REAL,
        error TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_log_at ON audit_log(at);
    CREATE TABLE deployments (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        service TEXT NOT NULL,
        image TEXT NOT NULL DEFAULT '',
        digest TEXT NOT NULL DEFAULT '',
        result TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX deployments_at ON deployments(at);
    CREATE TABLE metric_samples (
        at TEXT NOT NULL,
        source TEXT NOT NULL,
        name TEXT NOT NULL,
        value REAL NOT NULL
    );
    CREATE INDEX metric_samples_at ON metric_samples(at);
    """,
]

DB_NAME = "opsdash.db"


class Store:
    """A thin, thread-safe wrapper around one SQLite file in WAL mode."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    @classmethod
    def open_default(cls) -> Store:
        from opsdash.locations import data_dir

        return cls(data_dir() / DB_NAME)

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self._lock:
            version = self.schema_version
            for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
                self._db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")

    def record_health(self, health: SourceHealth, at: datetime | None = None) -> None:
        """Keep health transitions, so an outage can be read back later."""
        when = (at or datetime.now().astimezone()).isoformat()
        with self._lock:
            self._db.execute(
                "INSERT INTO source_events(at, source, state, message) VALUES (?, ?, ?, ?)",
                (when, f"{health.kind}:{health.source}", health.state.value, health.message),
            )

    def health_events(self, limit: int = 100) -> list[tuple[str, str, str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, source, state, message FROM source_events ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [tuple(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
