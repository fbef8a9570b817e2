"""Where the store lives: what differs between the SQLite file (the default, one
person) and a PostgreSQL database (a team, `opsdash.store.postgres`).

`Store` and its tables write one SQL text for both: `?` placeholders, the
upsert and `ON CONFLICT DO NOTHING` both databases accept, timestamps made in
Python. A backend supplies the rest: the connection, how a transaction
begins, how a new row's id comes back, the schema version and migrating to
the newest one, the store's clock and a revision that changes when anyone
writes. SQLite is the reference here; nothing in this module imports a driver.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opsdash.store.schema import migration_script


class Backend:
    """The interface `Store` talks to; `SqliteBackend` and `PostgresBackend`."""

    dialect = ""  # "sqlite" or "postgresql": which text of a migration runs
    begin = "BEGIN"  # the statement that starts a write transaction
    errors: tuple[type[BaseException], ...] = ()  # what the driver raises
    where = ""  # for messages: the file, or the URL without its password

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement with `?` placeholders; a cursor with `rowcount`."""
        raise NotImplementedError

    def insert_id(self, sql: str, params: Sequence[Any]) -> int:
        """Run one INSERT into a table with an `id` column; the new row's id."""
        raise NotImplementedError

    @property
    def in_transaction(self) -> bool:
        raise NotImplementedError

    def schema_version(self) -> int:
        raise NotImplementedError

    def migrate(self, migrations: Sequence[Any]) -> None:
        """Run the migrations past the schema version, safe when several opsdash
        start on one store at once."""
        raise NotImplementedError

    def now(self) -> float:
        """Seconds since the epoch by the store's clock: what leases expire by, so
        that instances on machines whose clocks disagree still agree."""
        return time.time()

    def revision(self) -> tuple[int, int]:
        """Equal at two calls when nothing was written in between, here or by
        another connection (a change elsewhere may also change it: it is a hint)."""
        raise NotImplementedError

    def usable(self) -> bool:
        """Connected (or connected again now); False when the database is away."""
        return True

    def close(self) -> None:
        raise NotImplementedError


class SqliteBackend(Backend):
    """One SQLite file in WAL mode (or a read-only view of one, or :memory:)."""

    dialect = "sqlite"
    begin = "BEGIN IMMEDIATE"
    errors = (sqlite3.Error,)

    def __init__(self, path: Path, *, read_only: bool = False):
        self.where = str(path)
        if read_only:
            self.db = self._connect_read_only(path)
            return
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error:
            self.db.close()
            raise

    @staticmethod
    def _connect_read_only(path: Path) -> sqlite3.Connection:
        if not path.is_file():
            raise sqlite3.OperationalError(f"{path} does not exist")
        uri = path.resolve().as_uri()
        try:
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.Error:
            # A read-only directory cannot hold the WAL index: read the file as it is.
            db = sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, params)

    def insert_id(self, sql: str, params: Sequence[Any]) -> int:
        return int(self.db.execute(sql, params).lastrowid or 0)

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction

    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, migrations: Sequence[Any]) -> None:
        """SQLite's own way: each script and its version number in one transaction;
        a second opsdash starting at once waits for the file's write lock."""
        version = self.schema_version()
        for number, item in enumerate(migrations[version:], start=version + 1):
            script = migration_script(item, self.dialect)
            self.db.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")

    def revision(self) -> tuple[int, int]:
        try:
            other = self.db.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            other = -1
        return self.db.total_changes, other

    def close(self) -> None:
        self.db.close()
