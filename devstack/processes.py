"""Process handling shared by the devstack harnesses (stdlib only, Linux /proc).

Each harness starts its own daemon and must never signal a process it did not
start. These helpers only look at, signal or wait for the pid they are given;
deciding that a pid is the harness's own (its pid file in the harness's
directory, a command line or working directory naming that directory) stays
with the harness, through the `is_ours` predicates it passes in.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

_Popen = subprocess.Popen[bytes]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid: int) -> bool:
    """Alive and not a zombie: a zombie still has a pid but can neither serve nor
    be stopped, so waiting on it would never end."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes().decode(errors="replace")
    except OSError:
        return False
    # The command name in parentheses may hold spaces and ")": the state follows the last ")".
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def cmdline(pid: int) -> list[str]:
    """The process's argv ([] when it is gone or unreadable), decoded as paths are,
    so that an argument compares equal to str() of the path it names."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [os.fsdecode(a) for a in raw.split(b"\0") if a]


def cwd(pid: int) -> Path | None:
    """The process's working directory, or None when it is gone or unreadable."""
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def pid_from_file(pid_file: Path, is_ours: Callable[[int], bool]) -> int | None:
    """The pid written in `pid_file` if that process is alive and `is_ours(pid)`:
    a pid file outlives its process, and the pid may since belong to another one."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) and is_ours(pid) else None


def group_members(pgid: int) -> list[int]:
    """Every live process of process group `pgid` (a daemon's workers share its group)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getpgid(int(entry.name)) == pgid and pid_alive(int(entry.name)):
                    found.append(int(entry.name))
    return found


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (VmRSS), 0 when it is gone."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def log_tail(log_file: Path, lines: int = 20) -> str:
    """The last lines of a daemon's log, for error messages."""
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def http_ok(url: str, timeout: float = 2) -> bool:
    """GET `url` answers 200: the daemon is up (any error, refused or not, is no)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


# --- starting -------------------------------------------------------------------------


def launch(
    argv: list[str], log_file: Path, name: str, *, cwd: Path, env: dict[str, str] | None = None
) -> _Popen:
    """Start `argv` with its output appended to `log_file` (after a header line, so that
    the runs of a restarted daemon can be told apart), in a session and process group of
    its own: the terminal's Ctrl-C does not reach it, and a harness can signal just it."""
    with log_file.open("ab") as log:
        log.write(f"\n--- opsdash: starting {name} at {time.ctime()} ---\n".encode())
        log.flush()
        return subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=str(cwd),
            start_new_session=True,
        )


def wait_ready(
    ready: Callable[[], bool], deadline: float, proc: _Popen | None = None, interval: float = 0.05
) -> bool:
    """Poll `ready()` until it holds (True) or the monotonic `deadline` passes (False).
    Gives up early (False) when `proc` exits: a daemon that died never gets ready."""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if ready():
            return True
        time.sleep(interval)
    return False


# --- stopping ---------------------------------------------------------------------------


def send(pid: int, sig: int, *, group: bool = False) -> None:
    """Signal `pid` (with `group`, its whole process group); one already gone is no error."""
    if group:
        # EPERM: only zombies are left in the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def wait_gone(pid: int, timeout: float, *, proc: _Popen | None = None, group: bool = False) -> bool:
    """Wait until `pid` has exited (with `group`, every process of its group too); False
    after `timeout`. When `proc` is that process, poll it: a child of ours stays a zombie,
    alive to /proc, until it is reaped."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.pid == pid:
            exited = proc.poll() is not None  # also reaps it
        else:
            exited = not pid_alive(pid)
        if exited and not (group and group_members(pid)):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def terminate(
    pid: int,
    timeout: float,
    *,
    proc: _Popen | None = None,
    group: bool = False,
    is_ours: Callable[[int], bool] | None = None,
) -> None:
    """SIGTERM, so the daemon can shut down cleanly; SIGKILL what is left after `timeout`,
    and wait up to 5 s more. With `is_ours`, SIGKILL only while it still holds."""
    send(pid, signal.SIGTERM, group=group)
    if wait_gone(pid, timeout, proc=proc, group=group):
        return
    if is_ours is None or is_ours(pid):
        send(pid, signal.SIGKILL, group=group)
        wait_gone(pid, 5, proc=proc, group=group)


def kill(pid: int, timeout: float = 10, *, proc: _Popen | None = None, group: bool = False) -> None:
    """SIGKILL, as a crash would, and wait until it is gone (tests restart right after)."""
    send(pid, signal.SIGKILL, group=group)
    wait_gone(pid, timeout, proc=proc, group=group)


# --- command line -----------------------------------------------------------------------


def cli(
    argv: list[str],
    prog: str,
    make: Callable[[str], Any],
    commands: Mapping[str, Callable[[Any], str | None]],
    error: type[Exception],
) -> int:
    """``python -m PROG COMMAND DIR``: run ``commands[COMMAND](make(DIR))`` and print what
    it returns. Exit status 2 on bad usage, 1 with the message on `error`, else 0."""
    if len(argv) != 2 or argv[0] not in commands:
        print(f"usage: python -m {prog} {'|'.join(commands)} DIR", file=sys.stderr)
        return 2
    command, directory = argv
    try:
        out = commands[command](make(directory))
    except error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if out is not None:
        print(out)
    return 0


class ServerUnderDir:
    """restart, cleanup, `with` and the server's pid for a harness whose server
    and data live in `base_dir`; the harness provides start(timeout), stop(),
    its `pid_file`, the process it launched (`_proc`) and `_is_ours(pid)`."""

    base_dir: Path
    pid_file: Path
    _proc: _Popen | None

    def _is_ours(self, pid: int) -> bool:
        """Whether `pid` (read from pid_file) is this harness's server, not a reused pid."""
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        """pid of this harness's server: the process it launched while it runs,
        else the one its pid file names if that is still ours; None if neither."""
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        self._proc = None
        return pid_from_file(self.pid_file, self._is_ours)

    @property
    def running(self) -> bool:
        return self.pid is not None

    def start(self, timeout: float) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def restart(self, timeout: float | None = None) -> None:
        """stop() if running, then start() on the same port and data."""
        self.stop()
        if timeout is None:
            self.start()  # type: ignore[call-arg]  # the harness's own default
        else:
            self.start(timeout=timeout)

    def cleanup(self) -> None:
        """Stop the server and delete base_dir."""
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self):
        try:
            self.start()  # type: ignore[call-arg]
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
