"""The store in a PostgreSQL database, shared by every opsdash of a team.

psycopg 3 is an optional extra (`pip install 'opsdash[postgres]'`) and is
imported here only, when a `[store] url` names PostgreSQL. The URL is
libpq's own (`postgresql://user:${PGPASSWORD}@db.example:5432/opsdash?
sslmode=verify-full&sslrootcert=...`): TLS and every other connection option
are libpq's. The password never appears in a message (`where` has none).

Migrations run under a `pg_advisory_lock`, so several opsdash starting at
once migrate one after the other, each seeing the version the last one left.
A database that is away (at start or later) never makes a caller wait: a
statement fails at once ("the store is unreachable: ..."), reads come back
empty, and one background thread connects again with backoff (`BACKOFF_S`),
migrating if this is the first connection; `on_connected` callbacks then run
in that thread (the store flushes its spool there). No caller ever connects:
a connect to a host that drops packets waits its whole connect_timeout, and a
caller may be the UI thread.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from opsdash.redact import remember
from opsdash.store.backend import Backend
from opsdash.store.schema import migration_script

INSTALL_HINT = "pip install 'opsdash[postgres]'"
MIGRATION_LOCK = 0x6F707364  # "opsd": the advisory lock key every opsdash migrates under
CONNECT_TIMEOUT_S = 5  # unless the URL says connect_timeout
# Between reconnect attempts (the last repeats): at once, then slower.
BACKOFF_S = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
# libpq TCP keepalives unless the URL sets them: a peer that vanished without a
# reset is noticed in about 10 s + 3 x 3 s rather than the kernel's two hours, and
# a statement sent to it gives up after tcp_user_timeout (ms) unacknowledged.
KEEPALIVES = {
    "tcp_user_timeout": 10_000,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
}


class DriverMissing(Exception):
    """psycopg is not installed; the message is one line saying how to install it."""


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise DriverMissing(
            f"the [store] url names PostgreSQL but psycopg is not installed: {INSTALL_HINT}"
        ) from None
    return psycopg


def without_password(url: str) -> str:
    """`url` with no password in it, nor a password= parameter: what messages show."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}@{hostport}"
    query = "&".join(
        f"{k}={v}" for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _passwords(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [unquote(parts.password)] if parts.password else []
    return found + [v for k, v in parse_qsl(parts.query) if k == "password" and v]


@functools.lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    """`?` to psycopg's `%s` (a literal % doubled). No SQL of the store holds a `?`
    inside a string literal."""
    return sql.replace("%", "%%").replace("?", "%s")


_FINGERPRINT = """
    SELECT (SELECT coalesce(max(id), 0) FROM deployments), (SELECT count(*) FROM deployments),
           (SELECT coalesce(max(id), 0) FROM health_issues),
           (SELECT count(*) FROM health_issues WHERE "end" IS NULL),
           (SELECT count(*) FROM health_issues),
           (SELECT coalesce(max(at), '') FROM watched_versions),
           (SELECT count(*) FROM watched_versions)
"""


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class PostgresBackend(Backend):
    dialect = "postgresql"
    begin = "BEGIN"

    def __init__(self, url: str, migrations: Sequence[Any]):
        self.psycopg = _psycopg()
        self.errors = (self.psycopg.Error,)
        self.url = url
        self.where = without_password(url)
        # Masked in every message for as long as this backend lives (libpq's own
        # errors never quote it, a proxy's might).
        self._secrets = remember(_passwords(url))
        self._migrations = migrations
        self._conn: Any = None
        self._changes = 0  # rows this process changed: half of `revision`
        self.reason = ""  # why the last connection attempt failed
        self.on_connected: list[Callable[[], None]] = []  # run in the reconnect thread
        self._reconnector: threading.Thread | None = None
        self._closed = threading.Event()
        self._start_lock = threading.Lock()
        self.attempts = 0  # reconnect attempts since the connection was lost (tests, header)
        try:
            self._conn = self._connect()
        except self.psycopg.Error as exc:  # away at start: said, and tried again in the background
            self.reason = _one_line(exc)
            self._reconnect()

    # --- the connection -----------------------------------------------------------

    def _connect(self) -> Any:
        """A new migrated connection (only at start and in the reconnect thread)."""
        options: dict[str, Any] = {k: v for k, v in KEEPALIVES.items() if k not in self.url}
        if "connect_timeout" not in self.url:
            options["connect_timeout"] = CONNECT_TIMEOUT_S
        conn = self.psycopg.connect(self.url, autocommit=True, **options)
        try:
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        self.reason = ""
        return conn

    @property
    def connected(self) -> bool:
        conn = self._conn
        return conn is not None and not conn.closed and not conn.broken

    def _reconnect(self) -> None:
        """Start the one background thread that connects again (if not running)."""
        with self._start_lock:
            if self._closed.is_set():
                return
            if self._reconnector is not None and self._reconnector.is_alive():
                return
            self.attempts = 0
            self._reconnector = threading.Thread(
                target=self._reconnect_loop, name="opsdash-store-reconnect", daemon=True
            )
            self._reconnector.start()

    def _reconnect_loop(self) -> None:
        while not self._closed.is_set():
            delay = BACKOFF_S[min(self.attempts, len(BACKOFF_S) - 1)]
            if delay and self._closed.wait(delay):
                return
            self.attempts += 1
            try:
                conn = self._connect()
            except self.psycopg.Error as exc:
                self.reason = _one_line(exc)
                continue
            if self._closed.is_set():
                conn.close()
                return
            self._conn = conn
            for callback in list(self.on_connected):
                with contextlib.suppress(Exception):  # a callback's failure is its own
                    callback()
            return

    def _connection(self) -> Any:
        """The live connection; a driver error at once when there is none (the
        reconnect thread is then trying)."""
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        if conn is not None:
            self._conn = None
            conn.close()
        self._reconnect()
        raise self.psycopg.OperationalError(
            f"the store is unreachable: {self.reason or 'the connection was lost'}"
        )

    def usable(self) -> bool:
        try:
            self._connection()
        except self.psycopg.Error:
            return False
        return True

    # --- statements ---------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """One statement. One that meets a connection lost since the last one (a
        restarted or killed server) fails; the reconnect thread starts."""
        conn = self._connection()
        query = _placeholders(sql) if params else sql
        try:
            cursor = conn.execute(query, list(params) or None)
        except self.psycopg.Error as exc:
            if conn.broken:
                self.reason = _one_line(exc)
                self._reconnect()
            raise
        if cursor.rowcount > 0 and not sql.lstrip().upper().startswith("SELECT"):
            self._changes += cursor.rowcount  # rows written (a SELECT counts those it read)
        return cursor

    def insert_id(self, sql: str, params: Sequence[Any]) -> int:
        row = self.execute(f"{sql} RETURNING id", params).fetchone()
        return int(row[0]) if row else 0

    @property
    def in_transaction(self) -> bool:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            return False
        idle = self.psycopg.pq.TransactionStatus.IDLE
        return conn.info.transaction_status != idle

    def now(self) -> float:
        try:
            row = self.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
            return float(row[0])
        except self.psycopg.Error:
            return time.time()

    def revision(self) -> tuple[int, int]:
        """Own changes, and a fingerprint of what the keys are computed from (the
        deployments, the health issues, the watched versions): it moves when any
        opsdash on this database adds, closes, swaps or prunes one. (The server's
        transaction counter would move for every database and for autovacuum.)"""
        try:
            row = self.execute(_FINGERPRINT).fetchone()
            other = hash(tuple(row)) & 0x7FFF_FFFF_FFFF_FFFF
        except self.psycopg.Error:
            other = -1
        return self._changes, other

    # --- the schema -----------------------------------------------------------------

    def schema_version(self) -> int:
        rows = self.execute("SELECT version FROM opsdash_schema").fetchall()
        return int(rows[0][0]) if rows else 0

    def migrate(self, migrations: Sequence[Any]) -> None:
        self._migrate(self._connection(), migrations)

    def _migrate(self, conn: Any, migrations: Sequence[Any] | None = None) -> None:
        """Under the advisory lock: read the version, run each newer migration in
        a transaction of its own with the version it reaches."""
        migrations = self._migrations if migrations is None else migrations
        conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS opsdash_schema (version INTEGER NOT NULL)")
            rows = conn.execute("SELECT version FROM opsdash_schema").fetchall()
            version = int(rows[0][0]) if rows else 0
            for number, item in enumerate(migrations[version:], start=version + 1):
                with conn.transaction():
                    conn.execute(migration_script(item, self.dialect))
                    conn.execute("DELETE FROM opsdash_schema")
                    conn.execute("INSERT INTO opsdash_schema(version) VALUES (%s)", [number])
        finally:
            if not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])

    def close(self) -> None:
        self._closed.set()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
