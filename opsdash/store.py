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
    # 4: what the DORA keys need besides deployments: spells of trouble per
    # service (unhealthy containers, model-metric breaches) and the version each
    # watched thing ran last, so a change while opsdash was away is still seen
    """
    CREATE TABLE health_issues (
        id INTEGER PRIMARY KEY,
        service TEXT NOT NULL,
        source TEXT NOT NULL,
        reason TEXT NOT NULL,
        start TEXT NOT NULL,
        end TEXT
    );
    CREATE INDEX health_issues_start ON health_issues(start);
    CREATE UNIQUE INDEX health_issues_open ON health_issues(service, source) WHERE end IS NULL;
    CREATE TABLE watched_versions (
        key TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        version TEXT NOT NULL,
        at TEXT NOT NULL
    );
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


@dataclass(frozen=True, slots=True)
class HealthIssueRow:
    service: str
    source: str  # what saw it: docker:local, mlflow:registry, ...
    reason: str  # one line: "shop-web-1 unhealthy", "churn accuracy breach"
    start: str  # ISO 8601
    end: str | None  # None while it lasts


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

    def deployments_since(self, since: datetime) -> list[DeploymentEvent]:
        """Oldest first; `at` strings are ISO 8601 with an offset."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments ORDER BY at",
            ).fetchall()
        events = [DeploymentEvent(*row) for row in rows]
        return [e for e in events if datetime.fromisoformat(e.at) >= since]

    # --- health issues (DORA failures and recovery) -------------------------------

    def open_issue(self, service: str, source: str, reason: str, start: datetime) -> bool:
        """Start a spell of trouble; False if one is already open for (service, source)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO health_issues(service, source, reason, start)"
                " VALUES (?, ?, ?, ?)",
                (service, source, reason, start.isoformat(timespec="seconds")),
            )
        return cursor.rowcount == 1

    def close_issue(self, service: str, source: str, end: datetime) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE health_issues SET end = ? WHERE service = ? AND source = ? AND end IS NULL",
                (end.isoformat(timespec="seconds"), service, source),
            )
        return cursor.rowcount > 0

    def health_issues(self) -> list[HealthIssueRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT service, source, reason, start, end FROM health_issues ORDER BY start"
            ).fetchall()
        return [HealthIssueRow(*row) for row in rows]

    # --- the version each watched container, service or alias ran last ------------

    def watched_version(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT version FROM watched_versions WHERE key = ?", (key,)
            ).fetchone()
        return row[0] if row else None

    def watched_versions_of(self, service: str, kind: str) -> list[tuple[str, str]]:
        """(version, at) of the `kind` things ("container") watched for `service`, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT version, at FROM watched_versions WHERE service = ? AND key LIKE ?"
                " ORDER BY at DESC",
                (service, f"{kind}:%"),
            ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def set_watched_version(self, key: str, service: str, version: str, at: datetime) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO watched_versions(key, service, version, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET version = excluded.version, at = excluded.at",
                (key, service, version, at.isoformat(timespec="seconds")),
            )

    def prune(self, retention_days: int, now: datetime | None = None) -> int:
        """Drop deployments and closed health issues older than the retention."""
        from datetime import timedelta

        now = now or datetime.now().astimezone()
        cutoff = now - timedelta(days=retention_days)
        old = [
            e for e in self.deployments(limit=1_000_000) if datetime.fromisoformat(e.at) < cutoff
        ]
        with self._lock:
            for event in old:
                self._db.execute(
                    "DELETE FROM deployments WHERE at = ? AND service = ? AND source = ?",
                    (event.at, event.service, event.source),
                )
            closed = [
                (row_id, end)
                for row_id, end in self._db.execute(
                    "SELECT id, end FROM health_issues WHERE end IS NOT NULL"
                ).fetchall()
                if datetime.fromisoformat(end) < cutoff
            ]
            for row_id, _end in closed:
                self._db.execute("DELETE FROM health_issues WHERE id = ?", (row_id,))
        return len(old) + len(closed)

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
