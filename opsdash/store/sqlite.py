"""The embedded SQLite store: created on first run in the XDG data dir.

It holds the history later features need (deployment events, the audit log and
the journal of running actions, metric samples) and a log of source health
changes. Schema changes go through numbered migrations (`schema.py`).

A store that cannot be written (a full disk, a read-only data dir) never stops
opsdash: it opens read-only, or in memory, says why in `problem`, and the
history writes become no-ops. Audit and journal writes raise `StoreError`
instead, so that no action runs without its audit row.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import astuple
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from opsdash.model import SourceHealth
from opsdash.redact import redact
from opsdash.safetext import strip_unsafe
from opsdash.store.audit import AuditTables
from opsdash.store.backend import Backend, SqliteBackend
from opsdash.store.leases import LEASE_TIMEOUT_S, LeaseTables
from opsdash.store.outage import OutageWrites
from opsdash.store.rows import DeploymentEvent, HealthIssueRow
from opsdash.store.schema import _MIGRATIONS

DB_NAME = "opsdash.db"

_DEPLOYMENT_COLUMNS = (
    "at, service, host, kind, image, digest, result, source, environment, version, external_id"
)


class StoreError(Exception):
    """The store could not be written; the message is one line naming the file."""


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _clean(value: object) -> object:
    """Text is kept without secrets and without escape sequences (it may come from
    anyone: names, log tails, error bodies); other values as they are."""
    return strip_unsafe(redact(value)) if isinstance(value, str) else value


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class Store(AuditTables, LeaseTables, OutageWrites):
    """A thin, thread-safe wrapper around one backend: an SQLite file in WAL mode
    (`Store(path)`) or a PostgreSQL database (`Store.open_url`)."""

    def __init__(
        self, path: Path | None = None, *, read_only: bool = False, backend: Backend | None = None
    ):
        self.writable = not read_only
        self.problem: str | None = None  # why history is not being saved, with the path
        self._reason = ""  # the same, short: "database or disk is full"
        self._lock = threading.Lock()
        self.recorded_changes = 0  # rows the recorder wrote or pruned: not in `revision`
        self.lease_timeout = LEASE_TIMEOUT_S  # [store] lease_timeout
        if backend is None:
            assert path is not None, "a store needs a path or a backend"
            backend = SqliteBackend(path, read_only=read_only)
            try:
                if not read_only:
                    backend.migrate(_MIGRATIONS)
            except sqlite3.Error:
                backend.close()
                raise
        self._backend = backend
        self.path: Path | str = path if path is not None else backend.where
        if isinstance(backend, SqliteBackend):
            self._db = backend.db  # the raw connection, for tests that break the file

    @property
    def dialect(self) -> str:
        return self._backend.dialect

    @classmethod
    def open_default(cls) -> Store:
        from opsdash.locations import data_dir

        return cls.open_at(data_dir() / DB_NAME)

    @classmethod
    def open_at(cls, path: Path) -> Store:
        """The store at `path`; if it cannot be written, a read-only (or empty,
        in-memory) one whose `problem` says why. Never raises."""
        try:
            return cls(path)
        except (sqlite3.Error, OSError) as exc:
            reason = _one_line(exc) if not isinstance(exc, OSError) else exc.strerror or str(exc)
        try:
            store = cls(path, read_only=True)
            kept = "its history is shown, nothing new is saved"
        except (sqlite3.Error, OSError):
            store = cls(Path(":memory:"))
            store.writable = False
            kept = "nothing is saved"
        store.problem = (
            f"data store {path} cannot be written ({reason}): {kept}; actions are refused"
        )
        return store

    @classmethod
    def open_url(cls, url: str) -> Store:
        """The PostgreSQL store at `url` (libpq's URL, password expanded), migrated.
        Never raises: a database that cannot be reached yet is said in `problem`
        and connected to again later; without psycopg, an empty in-memory store
        that saves nothing says how to install it."""
        from opsdash.store.postgres import DriverMissing, PostgresBackend, without_password

        try:
            backend = PostgresBackend(url, _MIGRATIONS)
        except DriverMissing as exc:
            store = cls(Path(":memory:"))
            store.writable = False
            store.path = without_password(url)
            store.problem = f"data store {store.path} cannot be used ({exc}); actions are refused"
            return store
        from opsdash.store.spool import Spool, spool_path

        store = cls(backend=backend)
        # No state dir: an outage loses its writes, as before the spool.
        with contextlib.suppress(sqlite3.Error, OSError):
            store.attach_spool(Spool(spool_path(backend.where)))
        if not backend.connected:
            store._reason = "unreachable"
            store._say_unreachable()
        return store

    @property
    def schema_version(self) -> int:
        with self._lock:
            try:
                return self._backend.schema_version()
            except self._backend.errors:
                return 0

    # --- the two ways in: writes that may fail, reads that never do ----------------

    def _write(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement (callers hold the lock); StoreError if it cannot be."""
        if not self.writable:
            raise StoreError(self.problem or f"data store {self.path} is read-only")
        backend = self._backend
        try:
            cursor = backend.execute(sql, [_clean(p) for p in params])
        except backend.errors as exc:
            self._failed(exc)
        if cursor.rowcount > 0 or sql == "COMMIT":
            # Something reached the file (a statement that changed nothing proves nothing).
            self.problem = None
            self._reason = ""
        return cursor

    def _insert(self, sql: str, params: Sequence[Any]) -> int:
        """One INSERT into a table with an id; the new id (callers hold the lock)."""
        if not self.writable:
            raise StoreError(self.problem or f"data store {self.path} is read-only")
        try:
            row_id = self._backend.insert_id(sql, [_clean(p) for p in params])
        except self._backend.errors as exc:
            self._failed(exc)
        self.problem = None
        self._reason = ""
        return row_id

    def _failed(self, exc: BaseException) -> NoReturn:
        """A write failed: roll back what it began, say why, raise StoreError."""
        backend = self._backend
        if backend.in_transaction:
            with contextlib.suppress(*backend.errors):
                backend.execute("ROLLBACK")
        self._reason = redact(_one_line(exc))
        self.problem = (
            f"data store {self.path} cannot be written ({self._reason}):"
            " nothing new is saved; actions are refused"
        )
        raise StoreError(self.problem) from None

    def _history(self, sql: str, params: Sequence[Any] = ()) -> int:
        """A history write: lost (and said in `problem`) rather than raised; while a
        shared store is away, queued in the spool (`OutageWrites`)."""
        with self._lock:
            if self._away():
                return self._queue(sql, self._cleaned(params))
            try:
                return self._write(sql, params).rowcount
            except StoreError:
                if self._unreachable():
                    return self._queue(sql, self._cleaned(params))
                return 0

    @staticmethod
    def _cleaned(params: Sequence[Any]) -> list[Any]:
        return [_clean(p) for p in params]

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._read_locked(sql, params)

    def _read_locked(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        try:
            return [tuple(row) for row in self._backend.execute(sql, params).fetchall()]
        except self._backend.errors:  # an old read-only file may lack a table; a lost server
            return []

    def revision(self) -> tuple[int, int]:
        """Equal at two calls when nothing was written in between, by this
        connection (its changed rows so far) or by another one (SQLite's
        data_version, PostgreSQL's next transaction id): what is computed from
        the store is then still current."""
        with self._lock:
            changes, other = self._backend.revision()
            # Recorded polls (opsdash.store.recording) change nothing computed from the store.
            return changes - self.recorded_changes, other

    @property
    def notice(self) -> str | None:
        """The problem in few words, for the header (the path is in `problem`)."""
        outage = self.outage_notice()
        if outage is not None:
            return outage
        if self.problem is None:
            return None
        return f"store not writable ({self._reason or 'read-only'}): actions refused"

    def writes_work(self) -> bool:
        """After a failed write: try one real (small) write, so a disk that has room
        again is noticed at once. True if the store can be written now."""
        if not self.writable:
            return False
        if self._unreachable():
            self._say_unreachable()
            return False
        if self.problem is None:
            return self._backend.usable()
        with self._lock:
            try:
                self._write(
                    "INSERT INTO source_events(at, source, state, message) VALUES (?, ?, ?, ?)",
                    (_now(), "opsdash:store", "ok", "the data store can be written again"),
                )
            except StoreError:
                return False
        return True

    # --- source health history --------------------------------------------------

    def record_health(self, health: SourceHealth, at: datetime | None = None) -> None:
        """Keep health transitions, so an outage can be read back later."""
        when = (at or datetime.now().astimezone()).isoformat()
        self._history(
            "INSERT INTO source_events(at, source, state, message) VALUES (?, ?, ?, ?)",
            (when, health.label, health.state.value, health.message),
        )

    def health_events(self, limit: int = 100) -> list[tuple[str, str, str, str]]:
        return self._read(
            "SELECT at, source, state, message FROM source_events ORDER BY id DESC LIMIT ?",
            (limit,),
        )

    # --- deployments ------------------------------------------------------------

    def add_deployment(self, event: DeploymentEvent) -> bool:
        """Record it; False when a deployment with the same external id exists (or
        the store cannot be written)."""
        return (
            self._history(
                f"INSERT INTO deployments({_DEPLOYMENT_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                astuple(event),
            )
            == 1
        )

    def deployments(self, limit: int = 1000) -> list[DeploymentEvent]:
        rows = self._read(
            f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [DeploymentEvent(*row) for row in rows]

    def deployments_since(self, since: datetime) -> list[DeploymentEvent]:
        """Oldest first; `at` strings are ISO 8601 with an offset."""
        rows = self._read(f"SELECT {_DEPLOYMENT_COLUMNS} FROM deployments ORDER BY at")
        events = [DeploymentEvent(*row) for row in rows]
        return [e for e in events if datetime.fromisoformat(e.at) >= since]

    # --- health issues (DORA failures and recovery) -------------------------------

    def open_issue(self, service: str, source: str, reason: str, start: datetime) -> bool:
        """Start a spell of trouble; False if one is already open for (service, source)."""
        return (
            self._history(
                "INSERT INTO health_issues(service, source, reason, start)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (service, source, reason, start.isoformat(timespec="seconds")),
            )
            == 1
        )

    def close_issue(self, service: str, source: str, end: datetime) -> bool:
        return (
            self._history(
                'UPDATE health_issues SET "end" = ?'
                ' WHERE service = ? AND source = ? AND "end" IS NULL',
                (end.isoformat(timespec="seconds"), service, source),
            )
            > 0
        )

    def health_issues(self) -> list[HealthIssueRow]:
        rows = self._read(
            'SELECT service, source, reason, start, "end" FROM health_issues ORDER BY start, id'
        )
        return [HealthIssueRow(*row) for row in rows]

    # --- the version each watched container, service or alias ran last ------------

    def watched_version(self, key: str) -> str | None:
        rows = self._read("SELECT version FROM watched_versions WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def watched_versions_of(self, service: str, kind: str) -> list[tuple[str, str]]:
        """(version, at) of the `kind` things ("container") watched for `service`, newest first."""
        rows = self._read(
            "SELECT version, at FROM watched_versions WHERE service = ? AND key LIKE ?"
            " ORDER BY at DESC",
            (service, f"{kind}:%"),
        )
        return [(row[0], row[1]) for row in rows]

    def set_watched_version(self, key: str, service: str, version: str, at: datetime) -> None:
        self._history(
            "INSERT INTO watched_versions(key, service, version, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET version = excluded.version, at = excluded.at",
            (key, service, version, at.isoformat(timespec="seconds")),
        )

    def swap_watched_version(
        self, key: str, service: str, before: str | None, version: str, at: datetime
    ) -> bool:
        """Replace `before` by `version`; True only for the one opsdash (of all on
        this store) whose write replaced it, so a change that several see is
        recorded once. On first sight (`before` None) it is kept, and False."""
        when = at.isoformat(timespec="seconds")
        if before is None:
            self._history(
                "INSERT INTO watched_versions(key, service, version, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(key) DO NOTHING",
                (key, service, version, when),
            )
            return False
        return (
            self._history(
                "UPDATE watched_versions SET version = ?, at = ?, service = ?"
                " WHERE key = ? AND version = ?",
                (version, when, service, key, before),
            )
            == 1
        )

    def prune(self, retention_days: int, now: datetime | None = None) -> int:
        """Drop deployments and closed health issues older than the retention."""
        now = now or datetime.now().astimezone()
        cutoff = now - timedelta(days=retention_days)
        old = [
            e for e in self.deployments(limit=1_000_000) if datetime.fromisoformat(e.at) < cutoff
        ]
        removed = 0
        for event in old:
            removed += self._history(
                "DELETE FROM deployments WHERE at = ? AND service = ? AND source = ?",
                (event.at, event.service, event.source),
            )
        closed = self._read('SELECT id, "end" FROM health_issues WHERE "end" IS NOT NULL')
        for row_id, end in closed:
            if datetime.fromisoformat(end) < cutoff:
                removed += self._history("DELETE FROM health_issues WHERE id = ?", (row_id,))
        return removed

    # --- what a container ran before its last redeploy ------------------------------

    def set_previous_image(self, host: str, container: str, image_id: str, image_ref: str) -> None:
        self._history(
            "INSERT INTO previous_images(host, container, image_id, image_ref, at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT(host, container) DO UPDATE SET"
            " image_id = excluded.image_id, image_ref = excluded.image_ref, at = excluded.at",
            (host, container, image_id, image_ref, datetime.now().astimezone().isoformat()),
        )

    def previous_image(self, host: str, container: str) -> tuple[str, str] | None:
        rows = self._read(
            "SELECT image_id, image_ref FROM previous_images WHERE host = ? AND container = ?",
            (host, container),
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def close(self) -> None:
        with self._lock:
            self._backend.close()
            if self._spool is not None:
                self._spool.close()
