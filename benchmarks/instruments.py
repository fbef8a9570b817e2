"""The benchmark's instruments: clocks, CPU and memory accounting, a pty, and the
facts about the machine and the code a result is only valid for.

What measures, apart from what is measured (scenarios.py) and how it is
written up (report.py); run.py is the command line.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import platform
import re
import signal
import statistics
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from devstack.docker_engine import PrivateDockerEngine

ROOT = Path(__file__).resolve().parent.parent
COLS, ROWS = 160, 48  # the pseudo-terminal every program runs in


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def median(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def with_memory(snapshot: Any) -> int:
    return sum(1 for c in snapshot.containers if c.memory_used is not None)


def with_cpu(snapshot: Any) -> int:
    return sum(1 for c in snapshot.containers if c.cpu_percent is not None)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


# --- CPU and memory accounting ------------------------------------------------


def _cpu_seconds(proc: psutil.Process) -> float:
    """User + system time of one process and of its children already reaped."""
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


class CpuWindow:
    """CPU seconds a set of processes (chosen at the start) use until stop()."""

    def __init__(self, procs: Callable[[], list[psutil.Process]]):
        self._procs = procs
        self._start: dict[int, tuple[psutil.Process, float]] = {}
        self._t0 = 0.0
        self._sys0: Any = None

    def start(self) -> None:
        self._start = {}
        for proc in self._procs():
            with contextlib.suppress(psutil.Error):
                self._start[proc.pid] = (proc, _cpu_seconds(proc))
        self._sys0 = psutil.cpu_times()
        self._t0 = time.perf_counter()

    def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self._t0
        sys1 = psutil.cpu_times()
        used = 0.0
        # Processes started during the window (a shim, a child) count from zero.
        for proc in self._procs():
            with contextlib.suppress(psutil.Error):
                before = self._start.get(proc.pid, (proc, 0.0))[1]
                used += max(0.0, _cpu_seconds(proc) - before)
        busy0 = sum(self._sys0) - self._sys0.idle - getattr(self._sys0, "iowait", 0.0)
        busy1 = sum(sys1) - sys1.idle - getattr(sys1, "iowait", 0.0)
        return {
            "seconds": elapsed,
            "cpu_s": used,
            "percent_of_core": used / elapsed * 100.0,
            "machine_busy_cores": (busy1 - busy0) / elapsed,
        }


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def engine_processes(engine: PrivateDockerEngine, *, daemon_only: bool = False):
    """dockerd, its containerd and the shims: every process naming our base dir."""
    marker = str(engine.base_dir)

    def procs() -> list[psutil.Process]:
        found = []
        for proc in psutil.process_iter(["name", "cmdline"]):
            name = proc.info["name"] or ""
            if daemon_only and name != "dockerd":
                continue
            if marker in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        return found

    return procs


def vm_hwm(pid: int) -> int | None:
    """Peak resident set size the kernel recorded for one process, in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


# --- a program in a pseudo-terminal ---------------------------------------------


@dataclass
class PtyRun:
    """Spawn argv on a COLS x ROWS pty; a thread drains and counts its output."""

    argv: list[str]
    env: dict[str, str]
    markers: tuple[bytes, ...] = ()
    name: str = ""
    started: float = 0.0
    first_byte: float | None = None
    seen: dict[bytes, float] = field(default_factory=dict)
    total: int = 0
    peak_rss: int = 0
    cwd: Path = ROOT  # the first-frame cases run outside the checkout (no git autodetect)
    keep_chunks: bool = False  # key_latency.py replays the output, each chunk with its time

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._tail = b""
        self._output = bytearray()
        self.chunks: list[tuple[float, bytes]] = []
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self._master = master
        self._done = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _read(self) -> None:
        longest = max((len(m) for m in self.markers), default=1)
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO once the child has gone
                break
            if not data:
                break
            now = time.perf_counter() - self.started
            with self._cond:
                if self.first_byte is None:
                    self.first_byte = now
                self.total += len(data)
                if len(self._output) < 4_000_000:
                    self._output += data
                if self.keep_chunks:
                    self.chunks.append((now, data))
                window = self._tail + data
                for marker in self.markers:
                    if marker not in self.seen and marker in window:
                        self.seen[marker] = now
                self._tail = window[-longest:]
                self._cond.notify_all()
        with self._cond:
            self._done.set()
            self._cond.notify_all()

    def _sample(self) -> None:
        while not self._done.wait(0.25):
            rss = 0
            for proc in tree(self.proc.pid):
                with contextlib.suppress(psutil.Error):
                    rss += proc.memory_info().rss
            self.peak_rss = max(self.peak_rss, rss)

    def wait_for(self, marker: bytes, timeout: float) -> float | None:
        """Seconds from spawn until marker was first written; None if it never was."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while marker not in self.seen:
                left = deadline - time.monotonic()
                if left <= 0 or self._done.is_set() or self.proc.poll() is not None:
                    return None
                self._cond.wait(min(left, 0.2))
            return self.seen[marker]

    def send(self, data: bytes) -> float:
        """Write data to the pty as keystrokes; seconds from spawn, taken just before
        the write (a reader thread may read the answer before write() returns)."""
        sent = time.perf_counter() - self.started
        os.write(self._master, data)
        return sent

    def chunks_from(self, index: int) -> list[tuple[float, bytes]]:
        """The output chunks (seconds from spawn, bytes) read since chunk `index`."""
        with self._cond:
            return self.chunks[index:]

    def bytes_over(self, seconds: float) -> float:
        with self._cond:
            before = self.total
        time.sleep(seconds)
        with self._cond:
            return (self.total - before) / seconds

    def alive(self) -> bool:
        return self.proc.poll() is None

    def screen_text(self, limit: int = 600) -> str:
        """The last output without escape sequences, for error reports."""
        with self._cond:
            raw = bytes(self._output[-20000:])
        text = re.sub(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b.", b"", raw)
        return " ".join(text.decode(errors="replace").split())[-limit:]

    def crashed(self) -> bool:
        with self._cond:
            return b"Traceback" in self._output

    def peak_rss_bytes(self) -> int:
        return max(self.peak_rss, vm_hwm(self.proc.pid) or 0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._reader.join(5)
        with contextlib.suppress(OSError):
            os.close(self._master)


# --- facts about the machine and the code -----------------------------------


def opsdash_digest() -> str:
    """Of opsdash's own files, to tell whether they changed during the run."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "opsdash").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".tcss"):
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def opsdash_revision() -> str:
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "opsdash"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return metadata.version("opsdash")
    return f"{commit} (with uncommitted changes)" if dirty else commit


def machine_facts(engine: PrivateDockerEngine) -> dict[str, str]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    version = engine.cli("version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})")
    client = engine.cli("version", "--format", "{{.Client.Version}}")
    driver = engine.cli("info", "--format", "{{.Driver}}, cgroup v{{.CgroupVersion}}")
    return {
        "opsdash": opsdash_revision(),
        "CPUs": f"{len(os.sched_getaffinity(0))} ({model})" if model else str(os.cpu_count()),
        "RAM": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "Kernel": platform.release(),
        "Python": platform.python_version(),
        "Textual": metadata.version("textual"),
        "docker SDK": metadata.version("docker"),
        "dockerd": version.stdout.strip(),
        "docker CLI": client.stdout.strip(),
        "Storage": driver.stdout.strip(),
    }
