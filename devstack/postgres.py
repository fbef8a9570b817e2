"""A private PostgreSQL cluster for tests: Debian's server binaries, a data dir
and socket under its own temporary directory, listening on 127.0.0.1 only.

Stdlib only. `initdb` makes the cluster once (trust authentication, superuser
`opsdash`); `postgres` itself runs as this harness's child (not daemonized by
pg_ctl), so a kill -9 can be waited for and the cluster restarted at once.
As root, both run as the `postgres` user (they refuse root). It signals only
the postmaster it started and, on a kill, that postmaster's own backends.

    python -m devstack.postgres serve DIR     # until Ctrl-C, printing its URL
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from devstack import processes
from devstack.processes import free_port

SUPERUSER = "opsdash"


class PostgresServerError(RuntimeError):
    pass


def binaries() -> Path | None:
    """The newest installed server's bin dir (Debian keeps it off PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p)],
    )
    return Path(found[-1]).parent if found else None


def available() -> bool:
    return binaries() is not None


def _as_postgres() -> dict[str, object]:
    """Popen arguments that drop root to the postgres user; none when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresServerError("running as root but there is no postgres user") from None
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


class PostgresServer(processes.ServerUnderDir):
    """One cluster with its data, socket and log under ``base_dir``."""

    def __init__(self, base_dir: str | os.PathLike[str] | None = None, port: int | None = None):
        if base_dir is None:  # short: a Unix socket path is at most 107 bytes
            base_dir = tempfile.mkdtemp(prefix="opsdash-pg-", dir="/tmp")
        self.base_dir = Path(base_dir).expanduser().resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.data_dir = self.base_dir / "pg"
        self.log_file = self.base_dir / "postgres.log"
        self.pid_file = self.data_dir / "postmaster.pid"
        self._proc: subprocess.Popen[bytes] | None = None
        self._user = _as_postgres()
        if self._user:
            shutil.chown(self.base_dir, "postgres", "postgres")

    def __repr__(self) -> str:
        return f"PostgresServer({str(self.base_dir)!r}, port={self.port}, running={self.running})"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _is_ours(self, pid: int) -> bool:
        return str(self.data_dir) in processes.cmdline(pid)

    def _bin(self, name: str) -> str:
        found = binaries()
        if found is None:
            raise PostgresServerError("PostgreSQL not found: apt-get install postgresql")
        return str(found / name)

    def _run(self, *argv: str, timeout: float = 60) -> str:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(self.base_dir),
            **self._user,  # type: ignore[arg-type]
        )
        if done.returncode != 0:
            raise PostgresServerError(f"{Path(argv[0]).name} failed: {done.stderr.strip()}")
        return done.stdout

    def ready(self) -> bool:
        done = subprocess.run(
            [self._bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
            timeout=10,
        )
        return done.returncode == 0

    # --- process control --------------------------------------------------------

    def _server_argv(self) -> list[str]:
        return [
            self._bin("postgres"),
            *("-D", str(self.data_dir), "-k", str(self.base_dir), "-p", str(self.port)),
            *("-c", "listen_addresses=127.0.0.1"),
            *("-c", "fsync=off"),  # a test cluster: speed over durability
        ]

    def start(self, timeout: float = 60) -> None:
        """initdb on first start, then run postgres and wait until it accepts
        connections. Idempotent."""
        deadline = time.monotonic() + timeout
        if not self.data_dir.exists():
            initdb = self._bin("initdb")
            self._run(initdb, "-N", "-D", str(self.data_dir), "--auth=trust", "-U", SUPERUSER)
        if not self.running:
            with self.log_file.open("ab") as log:
                log.write(f"\n--- opsdash: starting postgres at {time.ctime()} ---\n".encode())
                log.flush()
                self._proc = subprocess.Popen(
                    self._server_argv(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=str(self.base_dir),
                    start_new_session=True,
                    **self._user,  # type: ignore[arg-type]
                )
        proc = self._proc
        if processes.wait_ready(self.ready, deadline, proc, interval=0.1):
            return
        if proc is not None and proc.poll() is not None:
            self._proc = None
            raise PostgresServerError(
                f"postgres exited with status {proc.returncode}; {self.log_file}:\n"
                f"{processes.log_tail(self.log_file)}"
            )
        self.stop()
        raise PostgresServerError(
            f"postgres not ready within {timeout}s; {self.log_file}:\n"
            f"{processes.log_tail(self.log_file)}"
        )

    def stop(self, timeout: float = 15) -> None:
        """Fast shutdown (SIGINT: clients are disconnected), SIGKILL after `timeout`."""
        pid = self.pid
        if pid is not None:
            processes.send(pid, signal.SIGINT)
            if not processes.wait_gone(pid, timeout, proc=self._proc):
                self.kill()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash would: the postmaster and its backends (each in a
        session of its own, so they are listed before the postmaster goes)."""
        pid = self.pid
        if pid is None:
            return
        children = _children(pid)  # the postmaster is ours (`pid`), so are they
        processes.kill(pid, proc=self._proc)
        for child in children:
            processes.kill(child)
        self._proc = None

    # --- databases ----------------------------------------------------------------

    def new_database(self, prefix: str = "t") -> str:
        """A fresh empty database; its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self._run(
            self._bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, name
        )
        return self.url(name)


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError, ValueError):
        raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(child) for child in raw.split()]
    return []


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "serve":
        print("usage: python -m devstack.postgres serve DIR", file=sys.stderr)
        return 2
    try:
        with PostgresServer(argv[1]) as server:
            print(server.url(), flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while server.running:
                    time.sleep(1)
    except PostgresServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
