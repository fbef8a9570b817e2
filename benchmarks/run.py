"""Measure opsdash against its references on a private Docker engine.

    python benchmarks/run.py [--counts 50 200] [--cpu-seconds 60] [--out docs/benchmarks.md]

For every container count N it starts N busybox containers on a private
dockerd (devstack.docker_engine, its own socket, never the system daemon) and
measures, in the same run, each opsdash figure beside its reference:

1. time to first frame in a pseudo-terminal: opsdash vs a bare Textual app;
2. time until all N containers are listed, and until they all have stats:
   DockerSource, the TUI (headless and in a pty) and `opsdash snapshot --json`
   vs `docker ps -a` and `docker stats --no-stream`;
3. CPU of the TUI over --cpu-seconds at the default 2 s refresh vs
   `docker stats` streaming in a pty, with the engine's own CPU (dockerd,
   containerd and the shims) in each window and with nobody polling;
4. bytes written to the terminal per second once settled: opsdash vs the
   bare app;
5. peak RSS: opsdash vs the bare app (and `docker stats`);
6. the stats design: DockerSource.poll() wall times, and passes of stats
   calls over every container on the raw API (16 threads vs all at once,
   one-shot vs two-sample).

The results are printed and written into --out between the
`<!-- results:start -->` and `<!-- results:end -->` markers (the rest of that
file is left alone); --json also keeps the raw figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.docker_engine import BUSYBOX_IMAGE, PrivateDockerEngine  # noqa: E402

BARE_APP = Path(__file__).resolve().parent / "bare_app.py"
BARE_READY = b"bare textual app ready"  # the bare app's only text: its first frame
OPSDASH_READY = b"opsdash"  # top-left of opsdash's health bar: its first frame
FIRST_NAME = "bench-000"  # sorted first: on screen once a poll has brought them all
LABEL = "opsdash.bench=1"
COLS, ROWS = 160, 48
START_MARK = "<!-- results:start -->"
END_MARK = "<!-- results:end -->"


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

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._tail = b""
        self._output = bytearray()
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=self.env,
            cwd=ROOT,
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


# --- the bench -------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="opsdash-bench-"))
        self.engine = PrivateDockerEngine()
        self.config_path = self.tmp / "config.toml"
        self.children: list[PtyRun] = []
        self.notes: list[str] = []

    # environment --------------------------------------------------------------

    def opsdash_env(self) -> dict[str, str]:
        env = self.engine.env()
        for key in ("OPSDASH_CONFIG", "OPSDASH_DATA_DIR", "NO_COLOR", "TEXTUAL"):
            env.pop(key, None)
        env["XDG_CONFIG_HOME"] = str(self.tmp / "xdg-config")
        env["XDG_DATA_HOME"] = str(self.tmp / "xdg-data")
        env["TERM"] = "xterm-256color"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        return env

    def write_config(self) -> None:
        self.config_path.write_text(
            f'[[docker]]\nname = "bench"\nhost = "{self.engine.docker_host}"\n\n'
            '[[host]]\nname = "benchhost"\n'
        )

    def scrub(self, text: str) -> str:
        """Never write a path of this machine into the report."""
        for path, name in (
            (str(self.engine.base_dir), "<engine>"),
            (str(self.tmp), "<tmp>"),
            (str(ROOT), "<repo>"),
            (sys.prefix, "<venv>"),
            (str(Path.home()), "~"),
        ):
            text = text.replace(path, name)
        return text

    def note(self, text: str) -> None:
        text = self.scrub(text)
        log(f"NOTE: {text}")
        self.notes.append(text)

    # containers -------------------------------------------------------------------

    def docker(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.engine.cli(*args, timeout=timeout)

    def ensure_containers(self, total: int) -> None:
        have = len(self.docker("ps", "-aq", "--filter", f"label={LABEL}").stdout.split())
        busy = self.args.busy

        def start(index: int) -> None:
            command = ["sh", "-c", "while :; do :; done"] if index < busy else ["sleep", "100000"]
            self.docker(
                "run",
                "-d",
                "--name",
                f"bench-{index:03d}",
                "--label",
                LABEL,
                "--network",
                "none",
                BUSYBOX_IMAGE,
                *command,
            )

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(start, range(have, total)))
        running = self.docker("ps", "-q", "--filter", "status=running").stdout.split()
        if len(running) != total:
            raise RuntimeError(f"{len(running)} of {total} containers running")
        log(
            f"{total} containers running ({total - have} started in {time.perf_counter() - t0:.1f}s)"
        )

    # 2. listing ---------------------------------------------------------------------

    def cli_wall(self, n: int, *args: str, expect: Callable[[str], int]) -> float | None:
        times = []
        for _ in range(self.args.repeats):
            took, result = timed(lambda: self.docker(*args))
            if expect(result.stdout) != n:
                self.note(f"docker {' '.join(args)} listed {expect(result.stdout)} of {n}")
                return None
            times.append(took)
        return median(times)

    def snapshot_wall(self, n: int) -> float | None:
        argv = [sys.executable, "-m", "opsdash", "--config", str(self.config_path)]
        times = []
        for _ in range(self.args.repeats):
            t0 = time.perf_counter()
            result = subprocess.run(
                [*argv, "snapshot", "--json"],
                env=self.opsdash_env(),
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            took = time.perf_counter() - t0
            try:
                sources = json.loads(result.stdout)["sources"]
                docker = next(s for s in sources if s["source"] == "docker:bench")
                count = len(docker["data"]["containers"])
            except (ValueError, KeyError, StopIteration, TypeError):
                count = -1
            if count != n:
                self.note(f"opsdash snapshot --json gave {count} of {n}: {result.stderr[-300:]}")
                return None
            times.append(took)
        return median(times)

    def source(self, **extra: Any):
        from opsdash.sources.docker import DockerHostConfig, DockerSource

        return DockerSource(
            DockerHostConfig(name="bench", host=self.engine.docker_host, timeout=30, **extra)
        )

    def source_polls(self, n: int) -> dict[str, Any]:
        """DockerSource as the TUI uses it: polls, and stats as they arrive."""
        out: dict[str, Any] = {}
        src = self.source()
        try:
            t0 = time.perf_counter()
            out["first_poll_s"], snap = timed(src.poll)
            out["first_poll_with_memory"] = with_memory(snap)
            deadline = t0 + 120
            while time.perf_counter() < deadline:
                if with_memory(snap) == n and "all_memory_s" not in out:
                    out["all_memory_s"] = time.perf_counter() - t0
                if with_cpu(snap) == n:
                    out["all_cpu_s"] = time.perf_counter() - t0
                    break
                time.sleep(0.25)  # at 200 containers a poll itself takes CPU
                snap = src.poll()
            if len(snap.containers) != n or "all_cpu_s" not in out:
                self.note(
                    f"DockerSource: {len(snap.containers)} containers, {with_memory(snap)} "
                    f"with memory, {with_cpu(snap)} with CPU %, of {n} after 120 s"
                )
            walls = [timed(src.poll)[0] for _ in range(5)]
            out["poll_median_s"] = median(walls)
            out["poll_all_s"] = walls
        finally:
            self.close_source(src)
        src = self.source()
        try:
            if hasattr(src, "blocking_stats"):  # what `opsdash snapshot` and `check` do
                src.blocking_stats = True
                out["blocking_first_poll_s"], snap = timed(src.poll)
                out["blocking_first_poll_with_memory"] = with_memory(snap)
        finally:
            self.close_source(src)
        src = self.source(stats=False)
        try:
            src.poll()
            out["poll_no_stats_s"] = median(timed(src.poll)[0] for _ in range(3))
        finally:
            self.close_source(src)
        for key, stats in (("source_cpu", True), ("source_cpu_no_stats", False)):
            out[key] = self.source_cpu(stats)
        out.update(self.stats_calls())
        return out

    def source_cpu(self, stats: bool) -> dict[str, float]:
        """CPU of DockerSource alone, polled every refresh as the TUI does, no UI.

        Measured on this process, which does nothing else meanwhile."""
        src = self.source(stats=stats)
        try:
            deadline = time.monotonic() + 10  # past the first stats passes
            while time.monotonic() < deadline:
                src.poll()
                time.sleep(src.refresh)
            window = CpuWindow(lambda: [psutil.Process()])
            window.start()
            deadline = time.monotonic() + self.args.idle_seconds
            while time.monotonic() < deadline:
                src.poll()
                time.sleep(src.refresh)
            return window.stop()
        finally:
            self.close_source(src)

    @staticmethod
    def close_source(src: Any) -> None:
        src.close()
        time.sleep(3)  # a stats pass still in flight ends before the next figure

    def stats_calls(self) -> dict[str, float | None]:
        """Stats on the raw API, to explain the poll figures and the design."""
        import docker

        client = docker.APIClient(
            base_url=self.engine.docker_host, version="auto", timeout=60, max_pool_size=20
        )
        out: dict[str, float | None] = {}
        try:
            ids = [c["Id"] for c in client.containers()]

            def one_shot(cid: str) -> Any:
                return client.stats(cid, stream=False, one_shot=True)

            idle = []
            for _ in range(3):
                time.sleep(3)  # nobody has asked for stats for a while
                idle.append(timed(lambda: one_shot(ids[0]))[0])
            out["one_shot_after_idle_s"] = median(idle)
            out["one_shot_back_to_back_s"] = median(
                timed(lambda: one_shot(ids[0]))[0] for _ in range(10)
            )
            time.sleep(3)
            with ThreadPoolExecutor(max_workers=16) as pool:
                out["one_shot_16_threads_s"] = timed(lambda: list(pool.map(one_shot, ids)))[0]
            time.sleep(3)
            out["one_shot_all_at_once_s"] = timed(
                lambda: asyncio.run(self.all_at_once(ids, client.api_version))
            )[0]
            time.sleep(3)
            with ThreadPoolExecutor(max_workers=16) as pool:
                out["two_sample_16_threads_s"] = timed(
                    lambda: list(pool.map(lambda cid: client.stats(cid, stream=False), ids))
                )[0]
        finally:
            client.close()
        return out

    async def all_at_once(self, ids: list[str], version: str) -> None:
        """One one-shot request per container, every one in flight together."""
        import httpx

        transport = httpx.AsyncHTTPTransport(
            uds=str(self.engine.socket_path),
            limits=httpx.Limits(max_connections=len(ids) + 8),
        )
        async with httpx.AsyncClient(
            transport=transport, base_url="http://docker", timeout=60
        ) as client:
            params = {"stream": "false", "one-shot": "true"}
            responses = await asyncio.gather(
                *(client.get(f"/v{version}/containers/{cid}/stats", params=params) for cid in ids)
            )
        bad = [r.status_code for r in responses if r.status_code != 200]
        if bad:
            self.note(f"{len(bad)} of {len(ids)} stats requests sent at once failed: {bad[:3]}")

    def headless_until_shown(self, n: int) -> dict[str, float | None]:
        """The real app, headless: construction until the containers table holds
        n rows, and until every row has its memory figure."""
        from opsdash.app import OpsdashApp
        from opsdash.config import load_config
        from opsdash.poller import Poller
        from opsdash.sources.registry import build_sources

        config = load_config(self.config_path, explicit=True)

        async def run() -> tuple[float | None, float | None]:
            t0 = time.perf_counter()
            rows = memory = None
            app = OpsdashApp(config, Poller(build_sources(config)))
            try:
                async with app.run_test(size=(COLS, ROWS)) as pilot:
                    deadline = time.monotonic() + 120
                    while memory is None and time.monotonic() < deadline:
                        table = app.main.query_one("#containers-table")
                        if rows is None and table.row_count == n:
                            rows = time.perf_counter() - t0
                        records = list(getattr(table, "records", {}).values())
                        if len(records) == n and all(r.memory_used is not None for r in records):
                            memory = time.perf_counter() - t0
                        await pilot.pause(0.02)
            except Exception as exc:  # noqa: BLE001 - opsdash's own failure: reported, not fatal
                when = "on exit" if memory is not None else "while running"
                cause = exc.__cause__ or exc.__context__
                self.note(
                    f"headless opsdash ({n} containers) raised {when}: "
                    f"{type(exc).__name__}: {exc}"
                    + (f" (from {type(cause).__name__} {cause})" if cause else "")
                )
            return rows, memory

        runs = [asyncio.run(run()) for _ in range(self.args.repeats)]
        return {"rows_s": median(r[0] for r in runs), "memory_s": median(r[1] for r in runs)}

    # 1, 3, 4, 5: in a pty --------------------------------------------------------------

    def spawn(
        self, name: str, argv: list[str], env: dict[str, str], markers: tuple[bytes, ...]
    ) -> PtyRun:
        run = PtyRun(argv, env, markers, name)
        self.children.append(run)
        return run

    def finish(self, run: PtyRun) -> None:
        run.stop()
        if run.crashed():
            self.note(f"{run.name} printed a traceback: {run.screen_text(300)}")
        with contextlib.suppress(ValueError):
            self.children.remove(run)

    def opsdash_argv(self) -> list[str]:
        return [sys.executable, "-m", "opsdash", "--config", str(self.config_path)]

    def bare_argv(self) -> list[str]:
        return [sys.executable, str(BARE_APP)]

    def first_frames(self) -> dict[str, Any]:
        """Spawn each a few times, alternately, after one untimed warm-up each."""
        env = self.opsdash_env()
        first = FIRST_NAME.encode()
        results: dict[str, list[float | None]] = {
            k: [] for k in ("bare_byte", "bare_frame", "ops_byte", "ops_frame", "ops_shown")
        }
        for round_ in range(self.args.repeats + 1):
            bare = self.spawn("the bare app", self.bare_argv(), env, (BARE_READY,))
            frame = bare.wait_for(BARE_READY, 30)
            self.finish(bare)
            ops = self.spawn("opsdash", self.opsdash_argv(), env, (OPSDASH_READY, first))
            ops_frame = ops.wait_for(OPSDASH_READY, 30)
            shown = ops.wait_for(first, 60)
            if ops_frame is None or shown is None:
                self.note(
                    f"opsdash in a pty: first frame {ops_frame}, containers {shown}; screen: {ops.screen_text()}"
                )
            self.finish(ops)
            if round_ == 0:
                continue
            results["bare_byte"].append(bare.first_byte)
            results["bare_frame"].append(frame)
            results["ops_byte"].append(ops.first_byte)
            results["ops_frame"].append(ops_frame)
            results["ops_shown"].append(shown)
        return {key: median(values) for key, values in results.items()}

    def steady(self, run: PtyRun, ready: bytes, settle: float, *, cpu: bool) -> dict[str, Any]:
        """Once `ready` is on screen and `settle` seconds passed: idle bytes, CPU, RSS."""
        out: dict[str, Any] = {}
        if run.wait_for(ready, 120) is None:
            self.note(f"{run.name} never showed {ready!r}; screen: {run.screen_text()}")
            return out
        time.sleep(settle)
        window = CpuWindow(lambda: tree(run.proc.pid))
        window.start()
        out["idle_bytes_per_s"] = run.bytes_over(self.args.idle_seconds)
        out["idle_cpu"] = window.stop()
        if cpu:
            out.update(self.cpu_window(lambda: tree(run.proc.pid), run))
        if not run.alive():
            self.note(f"{run.name} exited with {run.proc.returncode}: {run.screen_text()}")
        out["peak_rss"] = run.peak_rss_bytes()
        return out

    def cpu_window(
        self, procs: Callable[[], list[psutil.Process]], run: PtyRun | None
    ) -> dict[str, Any]:
        windows = {
            "cpu": CpuWindow(procs),
            "dockerd_cpu": CpuWindow(engine_processes(self.engine, daemon_only=True)),
            "engine_cpu": CpuWindow(engine_processes(self.engine)),
        }
        for w in windows.values():
            w.start()
        before = run.total if run else 0
        time.sleep(self.args.cpu_seconds)
        out: dict[str, Any] = {k: w.stop() for k, w in windows.items()}
        if run is not None:
            out["window_bytes_per_s"] = (run.total - before) / out["cpu"]["seconds"]
        return out

    def pty_runs(self, n: int) -> dict[str, Any]:
        env = self.opsdash_env()
        out: dict[str, Any] = {"startup": self.first_frames()}

        log("bare Textual app: idle output, CPU, RSS")
        bare = self.spawn("the bare app", self.bare_argv(), env, (BARE_READY,))
        try:
            out["bare"] = self.steady(bare, BARE_READY, 3, cpu=False)
        finally:
            self.finish(bare)

        log(f"opsdash TUI: idle output, then {self.args.cpu_seconds:g}s of CPU")
        ops = self.spawn("opsdash", self.opsdash_argv(), env, (OPSDASH_READY, FIRST_NAME.encode()))
        try:
            out["opsdash"] = self.steady(ops, FIRST_NAME.encode(), 5, cpu=True)
        finally:
            self.finish(ops)

        log(f"docker stats in a pty: {self.args.cpu_seconds:g}s of CPU")
        docker = shutil.which("docker") or "docker"
        stats = self.spawn(
            "docker stats", [docker, "stats"], self.engine.env(), (FIRST_NAME.encode(),)
        )
        try:
            if stats.wait_for(FIRST_NAME.encode(), 60) is None:
                self.note(f"docker stats never listed {FIRST_NAME}: {stats.screen_text()}")
            time.sleep(3)
            out["docker_stats"] = self.cpu_window(lambda: tree(stats.proc.pid), stats)
            out["docker_stats"]["peak_rss"] = stats.peak_rss_bytes()
        finally:
            self.finish(stats)

        log(f"engine with nobody polling: {self.args.cpu_seconds:g}s")
        out["engine_idle"] = self.cpu_window(lambda: [], None)
        return out

    # one count ---------------------------------------------------------------------------

    def bench_count(self, n: int) -> dict[str, Any]:
        self.ensure_containers(n)
        time.sleep(3)
        result: dict[str, Any] = {"n": n}
        log("docker ps -a / docker stats --no-stream")
        result["docker_ps_s"] = self.cli_wall(
            n, "ps", "-a", expect=lambda s: len(s.splitlines()) - 1
        )
        result["docker_stats_once_s"] = self.cli_wall(
            n,
            "stats",
            "--no-stream",
            "--format",
            "{{.ID}} {{.MemUsage}}",
            expect=lambda s: len(s.splitlines()),
        )
        log("DockerSource.poll()")
        result["source"] = self.source_polls(n)
        log("opsdash snapshot --json")
        result["snapshot_s"] = self.snapshot_wall(n)
        log("headless app until the table holds every container")
        result["headless_s"] = self.headless_until_shown(n)
        log("pty runs")
        result.update(self.pty_runs(n))
        return result

    def run(self) -> dict[str, Any]:
        log("starting a private dockerd")
        self.engine.start()
        self.engine.ensure_images()
        self.write_config()
        facts = machine_facts(self.engine)
        digest = opsdash_digest()
        log("machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()))
        results = []
        for n in sorted(set(self.args.counts)):
            log(f"=== {n} containers ===")
            results.append(self.bench_count(n))
            if opsdash_digest() != digest:
                self.note(f"opsdash's files changed while {n} containers were measured")
                digest = opsdash_digest()
        return {"facts": facts, "results": results, "notes": self.notes}

    def cleanup(self) -> None:
        log(f"cleaning up: {len(self.children)} child(ren), the engine in {self.engine.base_dir}")
        for run in list(self.children):
            with contextlib.suppress(Exception):
                run.stop()
        self.children.clear()
        with contextlib.suppress(Exception):
            self.engine.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)
        log("cleaned up")


# --- facts and the report ---------------------------------------------------------------


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


def secs(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"


def pct(window: dict[str, Any] | None) -> str:
    return "n/a" if not window else f"{window['percent_of_core']:.1f} %"


def rate(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / 1024:.1f} KiB/s" if value >= 1024 else f"{value:.0f} B/s"


def mib(value: int | None) -> str:
    return "n/a" if not value else f"{value / 2**20:.0f} MiB"


def get(d: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def report(data: dict[str, Any], command: str, cpu_seconds: float) -> str:
    results = data["results"]
    lines = [
        START_MARK,
        "<!-- written by benchmarks/run.py: edit the text around the markers, not between -->",
        "",
        f"Command: `{command}`",
        "",
        "| Setup | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in data["facts"].items()),
        "",
    ]
    rows: list[tuple[str, str, Callable[[dict[str, Any]], tuple[str, str]]]] = [
        (
            "First frame in a 160x48 pty (spawn to first row drawn)",
            "bare Textual app",
            lambda r: (secs(get(r, "startup", "ops_frame")), secs(get(r, "startup", "bare_frame"))),
        ),
        (
            "First output byte in the pty",
            "bare Textual app",
            lambda r: (secs(get(r, "startup", "ops_byte")), secs(get(r, "startup", "bare_byte"))),
        ),
        (
            "All N containers listed: first DockerSource.poll() of a new source",
            "`docker ps -a`",
            lambda r: (secs(get(r, "source", "first_poll_s")), secs(r["docker_ps_s"])),
        ),
        (
            "All N with memory: new DockerSource, polled until every container has stats",
            "`docker stats --no-stream`",
            lambda r: (secs(get(r, "source", "all_memory_s")), secs(r["docker_stats_once_s"])),
        ),
        (
            "All N with CPU % too (needs two samples)",
            "`docker stats --no-stream`",
            lambda r: (secs(get(r, "source", "all_cpu_s")), secs(r["docker_stats_once_s"])),
        ),
        (
            "All N rows in the table: TUI in a pty, spawn until the first row is drawn",
            "`docker ps -a`",
            lambda r: (secs(get(r, "startup", "ops_shown")), secs(r["docker_ps_s"])),
        ),
        (
            "All N rows in the table: headless app (`run_test`), start until row_count == N",
            "`docker ps -a`",
            lambda r: (secs(get(r, "headless_s", "rows_s")), secs(r["docker_ps_s"])),
        ),
        (
            "Every row with its memory figure: headless app, start until then",
            "`docker stats --no-stream`",
            lambda r: (secs(get(r, "headless_s", "memory_s")), secs(r["docker_stats_once_s"])),
        ),
        (
            "`opsdash snapshot --json` wall time (waits for stats; polls the host too)",
            "`docker stats --no-stream`",
            lambda r: (secs(r["snapshot_s"]), secs(r["docker_stats_once_s"])),
        ),
        (
            f"CPU of the TUI over {cpu_seconds:g} s, refresh 2 s (% of one core)",
            "`docker stats` in a pty",
            lambda r: (pct(get(r, "opsdash", "cpu")), pct(get(r, "docker_stats", "cpu"))),
        ),
        (
            "dockerd CPU during that window",
            "during `docker stats` / nobody polling",
            lambda r: (
                pct(get(r, "opsdash", "dockerd_cpu")),
                f"{pct(get(r, 'docker_stats', 'dockerd_cpu'))} / {pct(get(r, 'engine_idle', 'dockerd_cpu'))}",
            ),
        ),
        (
            "dockerd + containerd + shims CPU during that window",
            "during `docker stats` / nobody polling",
            lambda r: (
                pct(get(r, "opsdash", "engine_cpu")),
                f"{pct(get(r, 'docker_stats', 'engine_cpu'))} / {pct(get(r, 'engine_idle', 'engine_cpu'))}",
            ),
        ),
        (
            "Bytes to the terminal per second, settled",
            "bare Textual app",
            lambda r: (
                rate(get(r, "opsdash", "idle_bytes_per_s")),
                rate(get(r, "bare", "idle_bytes_per_s")),
            ),
        ),
        (
            f"Bytes to the terminal per second over the {cpu_seconds:g} s CPU window",
            "`docker stats` in a pty",
            lambda r: (
                rate(get(r, "opsdash", "window_bytes_per_s")),
                rate(get(r, "docker_stats", "window_bytes_per_s")),
            ),
        ),
        (
            "Idle CPU while settled (same window as the bytes)",
            "bare Textual app",
            lambda r: (pct(get(r, "opsdash", "idle_cpu")), pct(get(r, "bare", "idle_cpu"))),
        ),
        (
            "CPU of DockerSource alone, polled every 2 s, no UI (stats on / off)",
            "`docker stats` in a pty",
            lambda r: (
                f"{pct(get(r, 'source', 'source_cpu'))} / "
                f"{pct(get(r, 'source', 'source_cpu_no_stats'))}",
                pct(get(r, "docker_stats", "cpu")),
            ),
        ),
        (
            "Peak RSS",
            "bare Textual app",
            lambda r: (mib(get(r, "opsdash", "peak_rss")), mib(get(r, "bare", "peak_rss"))),
        ),
        (
            "Peak RSS",
            "`docker stats`",
            lambda r: (mib(get(r, "opsdash", "peak_rss")), mib(get(r, "docker_stats", "peak_rss"))),
        ),
    ]
    head = "| Measure | Reference |" + "".join(
        f" {r['n']}: opsdash | {r['n']}: reference |" for r in results
    )
    lines += [head, "|---|---|" + "---:|---:|" * len(results)]
    for label, ref, cells in rows:
        line = f"| {label} | {ref} |"
        for r in results:
            mine, theirs = cells(r)
            line += f" {mine} | {theirs} |"
        lines.append(line)
    lines += [
        "",
        "The stats design: DockerSource polls, and stats calls on the raw API (one pass each):",
        "",
        "| Call | " + " | ".join(f"{r['n']} containers" for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    polls = [
        ("DockerSource.poll(), warm (median of 5)", "poll_median_s"),
        ("first poll of a new DockerSource", "first_poll_s"),
        ("first poll with `blocking_stats` (as `snapshot` and `check`)", "blocking_first_poll_s"),
        ("poll with `stats = false` (median of 3)", "poll_no_stats_s"),
        ("one one-shot stats call, back to back (median of 10)", "one_shot_back_to_back_s"),
        ("one one-shot stats call, 3 s after the last one (median of 3)", "one_shot_after_idle_s"),
        ("one-shot stats of every container, 16 threads", "one_shot_16_threads_s"),
        ("one-shot stats of every container, all requests at once", "one_shot_all_at_once_s"),
        (
            "two-sample stats (no one-shot) of every container, 16 threads",
            "two_sample_16_threads_s",
        ),
    ]
    for label, key in polls:
        lines.append(
            f"| {label} | " + " | ".join(secs(get(r, "source", key)) for r in results) + " |"
        )
    busy = []
    for r in results:
        for name in ("opsdash", "docker_stats", "engine_idle"):
            window = get(r, name, "cpu")
            if window:
                busy.append(f"{r['n']}/{name} {window['machine_busy_cores']:.2f}")
    lines += [
        "",
        "Whole-machine CPU busy during each CPU window, in cores (other load included): "
        + ", ".join(busy)
        + ".",
    ]
    if data["notes"]:
        lines += ["", "Notes from the run:", "", *(f"- {n}" for n in data["notes"])]
    lines.append(END_MARK)
    return "\n".join(lines) + "\n"


def write_report(path: Path, block: str) -> None:
    if path.exists():
        text = path.read_text()
        if START_MARK in text and END_MARK in text:
            before, rest = text.split(START_MARK, 1)
            after = rest.split(END_MARK, 1)[1]
            path.write_text(before + block.rstrip("\n") + after)
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# opsdash benchmarks\n\n" + block)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[50, 200], metavar="N")
    parser.add_argument("--cpu-seconds", type=float, default=60.0, metavar="S")
    parser.add_argument("--idle-seconds", type=float, default=20.0, metavar="S")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (median)")
    parser.add_argument(
        "--busy", type=int, default=0, metavar="K", help="K containers spin a CPU (default 0)"
    )
    parser.add_argument("--out", type=Path, help="markdown file to write the results into")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)

    command = "python benchmarks/run.py --counts " + " ".join(map(str, args.counts))
    command += f" --cpu-seconds {args.cpu_seconds:g} --idle-seconds {args.idle_seconds:g}"
    command += f" --repeats {args.repeats}" + (f" --busy {args.busy}" if args.busy else "")
    if args.out:
        command += " --out " + (
            str(args.out.resolve().relative_to(ROOT))
            if args.out.resolve().is_relative_to(ROOT)
            else args.out.name
        )

    bench = Bench(args)
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        data = bench.run()
    finally:
        bench.cleanup()
        signal.signal(signal.SIGTERM, previous)
    block = report(data, command, args.cpu_seconds)
    print(block)
    if args.out:
        write_report(args.out, block)
        log(f"results written to {args.out}")
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
