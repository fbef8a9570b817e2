"""The embedded SQLite store: created on first run in the XDG data dir.

It holds the history later features need (deployment events, the audit log,
metric samples) and a log of source health changes. Schema changes go through
numbered migrations so an old database is upgraded in place.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import astuple, dataclass
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
    # 2: digests in the audit log; what each container ran before its last redeploy
    """
    ALTER TABLE audit_log ADD COLUMN old_digest TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit_log ADD COLUMN new_digest TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit_log ADD COLUMN kind TEXT NOT NULL DEFAULT 'container';
    ALTER TABLE deployments ADD COLUMN kind TEXT NOT NULL DEFAULT 'app';
    ALTER TABLE deployments ADD COLUMN host TEXT NOT NULL DEFAULT '';
    CREATE TABLE previous_images (
        host TEXT NOT NULL,
        container TEXT NOT NULL,
        image_id TEXT NOT NULL,
        image_ref TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (host, container)
    );
    """,
    # 3: deployments reported by CI systems: environment, version, and a vendor id
    # that makes recording the same deployment twice a no-op
    """
    ALTER TABLE deployments ADD COLUMN environment TEXT NOT NULL DEFAULT '';
    ALTER TABLE deployments ADD COLUMN version TEXT NOT NULL DEFAULT '';
    ALTER TABLE deployments ADD COLUMN external_id TEXT;
    CREATE UNIQUE INDEX deployments_external ON deployments(external_id)
        WHERE external_id IS NOT NULL;
    """,
]

DB_NAME = "opsdash.db"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One action, confirmed or refused. Never holds a secret: only names, images,
    digests and one-line results."""

    at: str
    actor: str  # user@host
    action: str
    kind: str
    target: str
    host: str
    old_image: str
    old_digest: str
    new_image: str
    new_digest: str
    result: str  # ok, failed, rolled back, refused: ..., cancelled
    duration_s: float | None
    error: str


@dataclass(frozen=True, slots=True)
class DeploymentEvent:
    at: str
    service: str
    host: str
    kind: str  # app or model
    image: str
    digest: str
    result: str  # success, rolled back, failed
    source: str  # what recorded it: redeploy, rollback, service-update, github:api ...
    environment: str = ""
    version: str = ""  # commit sha, image digest or model version
    external_id: str | None = None  # unique per deployment the vendor reported


_DEPLOYMENT_COLUMNS = (
    "at, service, host, kind, image, digest, result, source, environment, version, external_id"
)
_AUDIT_COLUMNS = (
    "at, actor, action, kind, target, host, old_image, old_digest, new_image, new_digest,"
    " result, duration_s, error"
)


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

    # --- audit log -------------------------------------------------------------

    def add_audit(self, entry: AuditEntry) -> None:
        with self._lock:
            self._db.execute(
                f"INSERT INTO audit_log({_AUDIT_COLUMNS}) VALUES ({', '.join('?' * 13)})",
                astuple(entry),
            )

    def audit_entries(self, limit: int = 1000) -> list[AuditEntry]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_AUDIT_COLUMNS} FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [AuditEntry(*row) for row in rows]

    # --- deployments ------------------------------------------------------------

    def add_deployment(self, event: DeploymentEvent) -> bool:
        """Record it; False when a deployment with the same external id exists."""
        with self._lock:
            cursor = self._db.execute(
                f"INSERT OR IGNORE INTO deployments({_DEPLOYMENT_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                astuple(event),
            )
        return cursor.rowcount == 1

    def deployments(self, limit: int = 1000) -> list[DeploymentEvent]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [DeploymentEvent(*row) for row in rows]

    # --- what a container ran before its last redeploy ------------------------------

    def set_previous_image(self, host: str, container: str, image_id: str, image_ref: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO previous_images(host, container, image_id, image_ref, at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(host, container) DO UPDATE SET"
                " image_id = excluded.image_id, image_ref = excluded.image_ref, at = excluded.at",
                (host, container, image_id, image_ref, datetime.now().astimezone().isoformat()),
            )

    def previous_image(self, host: str, container: str) -> tuple[str, str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT image_id, image_ref FROM previous_images WHERE host = ? AND container = ?",
                (host, container),
            ).fetchone()
        return (row[0], row[1]) if row else None

    def close(self) -> None:
        with self._lock:
            self._db.close()
