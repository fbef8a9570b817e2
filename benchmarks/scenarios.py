"""The benchmark's scenarios: N containers on a private dockerd, and each opsdash
figure measured beside its reference in the same run (run.py's docstring lists
them). The instruments are instruments.py; the write-up is report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from benchmarks.containers import Containers, container_name
from benchmarks.docker_polls import DockerPolls
from benchmarks.glances_peer import GLANCES_MAX, measure_glances
from benchmarks.instruments import (
    COLS,
    ROOT,
    ROWS,
    CpuWindow,
    PtyRun,
    engine_processes,
    log,
    machine_facts,
    median,
    opsdash_digest,
    timed,
    tree,
)
from benchmarks.key_latency import measure_key_latency
from benchmarks.stats_off import measure_stats_off
from devstack.docker_engine import PrivateDockerEngine

BARE_APP = Path(__file__).resolve().parent / "bare_app.py"
BARE_READY = b"bare textual app ready"  # the bare app's only text: its first frame
OPSDASH_READY = b"opsdash"  # top-left of opsdash's health bar: its first frame
FIRST_NAME = "bench-000"  # sorted first: on screen once a poll has brought them all
# (Bench widens it to the largest index's digits: bench-000 up to 1,000 containers)


class Bench(Containers, DockerPolls):
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="opsdash-bench-"))
        self.engine = PrivateDockerEngine()
        self.config_path = self.tmp / "config.toml"
        self.children: list[PtyRun] = []
        self.notes: list[str] = []
        self.name_width = max(3, len(str(max(args.counts) - 1)))
        global FIRST_NAME
        FIRST_NAME = container_name(0, self.name_width)

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

    def headless_until_shown(self, n: int) -> dict[str, float | None]:
        """The real app, headless: construction until the containers table holds
        n rows, and until every row has its memory figure."""
        from opsdash.app import OpsdashApp
        from opsdash.config import load_config
        from opsdash.poller import Poller
        from opsdash.sources.build import build_sources

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
        self, name: str, argv: list[str], env: dict[str, str], markers: tuple[bytes, ...], **kw
    ) -> PtyRun:
        run = PtyRun(argv, env, markers, name, **kw)
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

        log("opsdash TUI with stats = false, nothing else configured: settled output and CPU")
        out["opsdash_no_stats"] = measure_stats_off(self, FIRST_NAME.encode(), OPSDASH_READY)

        log("key latency: `j` in the bare table, then in opsdash with its stats flowing")
        out["key_latency"] = measure_key_latency(self, n, FIRST_NAME.encode(), OPSDASH_READY)

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

        if n <= GLANCES_MAX:
            log(f"glances in a pty: {self.args.cpu_seconds:g}s of CPU")
            out["glances"] = measure_glances(self, n, b"bench-")

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
