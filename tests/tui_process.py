"""The real `opsdash` in a pseudo-terminal, as an engineer runs it over SSH: keys
are written to the pty, the screen is read back as text, and the process can be
killed or hung up on (SIGHUP is what a dropped SSH connection sends)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b."
)


class TuiProcess:
    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        *,
        columns=160,
        lines=48,
        wrapper: list[str] | None = None,
    ):
        """`wrapper`: argv that execs the rest (e.g. `unshare --uts ...`), so the
        process keeps its pid."""
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        full_env = {**os.environ, **env, "TERM": "xterm-256color", "COLUMNS": str(columns)}
        full_env["LINES"] = str(lines)
        self.proc = subprocess.Popen(
            [*(wrapper or []), sys.executable, "-m", "opsdash.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full_env,
            start_new_session=True,  # its own session: the pty is its controlling terminal
            cwd=Path(__file__).resolve().parent.parent,
        )
        os.close(slave)
        self.master = master
        self._output: list[bytes] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self._output.append(data)

    @property
    def text(self) -> str:
        """Everything drawn so far, escape sequences removed."""
        with self._lock:
            raw = b"".join(self._output).decode("utf-8", "replace")
        return _ESCAPES.sub("", raw)

    def clear(self) -> None:
        with self._lock:
            self._output.clear()

    def keys(self, *keys: str) -> None:
        for key in keys:
            os.write(self.master, key.encode())
            # A lone ESC followed at once by a key reads as alt+key: let it stand alone.
            time.sleep(0.5 if key == "\x1b" else 0.05)

    def wait_for(self, condition: Callable[[], object], what: str, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"opsdash exited ({self.proc.returncode}) waiting for {what}:"
                    f"\n{self.text[-3000:]}"
                )
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{self.text[-12000:]}")

    def wait_text(self, needle: str, timeout: float = 60.0) -> None:
        self.wait_for(lambda: needle in self.text, repr(needle), timeout)

    def signal(self, number: int) -> None:
        os.kill(self.proc.pid, number)

    def wait_exit(self, timeout: float = 120.0) -> int:
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        os.close(self.master)


def typed(tui: TuiProcess, key: str, shows: str, tries: int = 20) -> bool:
    """Press `key` until the screen shows `shows` (a key sent while the app is
    still settling can be lost); True when it did within `tries` tenths of a second."""
    tui.clear()
    tui.keys(key)
    for _ in range(tries):
        if shows in tui.text:
            return True
        time.sleep(0.1)
    return shows in tui.text


def press_redeploy(tui: TuiProcess, name: str, *, shows: str | None = None) -> None:
    """Filter the containers table to `name` and press R, until the screen shows
    `shows` (default: the redeploy dialog for `name`)."""
    shows = shows or f"Redeploy {name}?"
    for _attempt in range(5):
        tui.keys("\x1b", "\x1b")  # whatever dialog or box was open
        if typed(tui, "/", "filter: words match"):
            time.sleep(0.5)  # the box has focus a moment after it shows
            tui.keys(*name, "\r")
            time.sleep(0.5)
            if typed(tui, "R", shows, tries=50):
                return
    raise AssertionError(f"pressing R on {name} never showed {shows!r}:\n{tui.text[-3000:]}")
