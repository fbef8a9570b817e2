"""The other panels, settled: 500 runs across four CI sources, 100 model rows
and the DORA keys of 20 services, against the bare Textual app.

Run by benchmarks/run.py with --panels (`measure(bench)`, `report_lines(data)`), or
alone, with no Docker engine: `python -m benchmarks.panels [--cpu-seconds S] [--json F]`
from the checkout (the servers dir as for run.py).
The stack, all on 127.0.0.1 and all stopped at the end (on failure too):

- GitHub Actions, GitLab CI and Jenkins: replay servers answering with
  generated runs (panel_fakes.py); Kubeflow Pipelines: the devstack emulator
  with generated runs. 125 runs each, `runs = 125` in each table, so the
  Pipelines panel holds 500. (Buildbot, the fourth real CI server here, takes
  about 40 s to start and about 4 s a build with its one worker: 125 builds would
  take 8 minutes, so Kubeflow is the fourth source.)
- MLflow: the real server (devstack.mlflow_server), 50 registered models with
  two versions each; accuracy and loss shown, so 100 model rows.
- The store: 90 days of deploys of 20 services, and 20 [[service]] tables that
  gather the CI sources and the models under them (panel_seed.py).

opsdash runs in a 160x48 pty with a config naming only those (Docker and the
local host turned off), from an empty cwd with HOME and XDG in an empty temp
dir, so nothing else is autodetected. MLflow is reached through a counting
proxy (devstack.counting_proxy), so its requests per minute are reported too.
Measured: first frame, the time until each panel shows its data, then, once
settled, CPU (% of one core, the whole process tree) and bytes/s to the
terminal over --cpu-seconds (at least 30 s, so that two 15 s refreshes of the
remote sources fall in it); the bare app the same way in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from benchmarks.first_frame_cases import BARE_APP, BARE_READY, OPSDASH_READY, empty_env
from benchmarks.instruments import CpuWindow, PtyRun, log, tree
from benchmarks.panel_fakes import (
    newest_title,
    route_github,
    route_gitlab,
    route_jenkins,
    seed_kubeflow,
)
from benchmarks.panel_seed import (
    MODEL_METRICS,
    model_name,
    panels_config,
    seed_mlflow,
    seed_store,
    service_name,
)
from benchmarks.targets import KIB, get, met, mib, rate, secs

RUNS_PER_SOURCE = 125
CI_KINDS = ("github", "gitlab", "jenkins", "kubeflow")
MODELS = 50  # x 2 metrics = 100 model rows
SERVICES = 20
SETTLE_S = 5.0  # after every panel showed its data
# ...and at least this long after the newest run and the aliases were made: their
# ages read in seconds for a minute ("41s ago"), redrawn once a second as they must
# be; a settled dashboard shows ages in minutes and redraws them once a minute.
AGES_IN_MINUTES_S = 65.0
MIN_WINDOW_S = 30.0  # two of the remote sources' 15 s refreshes: the polls are in the window


def markers() -> dict[str, bytes]:
    """What shows each panel has its data: each source's newest run, the first
    model, the first service's row."""
    found = {kind: newest_title(kind).encode() for kind in CI_KINDS}
    found["models"] = model_name(0).encode()
    found["deployments"] = service_name(0).encode()
    return found


class PanelStack:
    """The servers and the seeded files; stop() ends whatever started."""

    def __init__(self, notes: list[str]):
        self.notes = notes
        self.home = Path(tempfile.mkdtemp(prefix="opsdash-bench-panels-"))
        self.work = self.home / "cwd"
        for sub in ("config", "data", "run", "cwd"):
            (self.home / sub).mkdir()
        self.config_path = self.home / "panels.toml"
        self.servers: list[Any] = []
        self.mlflow: Any = None
        self.replays: dict[str, Any] = {}
        self.seeding: dict[str, float] = {}
        self.seeded_at = 0.0  # perf_counter when the newest thing shown was made

    def start(self) -> None:
        from devstack.counting_proxy import CountingProxy
        from devstack.kubeflow.server import KubeflowServer
        from devstack.mlflow_server import MlflowServer
        from devstack.replay import ReplayServer

        now = datetime.now().astimezone()
        urls: dict[str, str] = {}
        t0 = time.perf_counter()
        for kind, route in (
            ("github", route_github),
            ("gitlab", route_gitlab),
            ("jenkins", route_jenkins),
        ):
            server = ReplayServer()
            server.start()
            self.servers.append(server)
            route(server, RUNS_PER_SOURCE, now)
            self.replays[kind] = server
            urls[kind] = server.url
        kubeflow = KubeflowServer(seeded=False)
        kubeflow.start()
        self.servers.append(kubeflow)
        seed_kubeflow(kubeflow, RUNS_PER_SOURCE, time.time())
        self.replays["kubeflow"] = kubeflow
        urls["kubeflow"] = kubeflow.url
        self.seeding["ci_s"] = time.perf_counter() - t0

        log("panels: starting MLflow")
        t0 = time.perf_counter()
        self.mlflow = MlflowServer(self.home / "mlflow")
        self.mlflow.start()
        self.seeding["mlflow_start_s"] = time.perf_counter() - t0
        log(f"panels: seeding {MODELS} models")
        self.seeding["mlflow_seed_s"] = seed_mlflow(self.mlflow.url, MODELS)
        self.seeded_at = time.perf_counter()  # the aliases just set: the newest ages
        proxy = CountingProxy(self.mlflow.url)  # opsdash's requests to MLflow, counted
        proxy.start()
        self.servers.append(proxy)
        self.replays["mlflow"] = proxy
        urls["mlflow"] = proxy.url

        t0 = time.perf_counter()
        store = self.home / "data" / "opsdash" / "opsdash.db"
        self.seeding["deploy_events"] = seed_store(store, SERVICES, now)
        self.seeding["store_s"] = time.perf_counter() - t0
        self.config_path.write_text(panels_config(urls, RUNS_PER_SOURCE, MODELS, SERVICES))

    def requests(self) -> dict[str, int]:
        return {kind: len(server.requests) for kind, server in self.replays.items()}

    def mlflow_processes(self) -> list[psutil.Process]:
        if self.mlflow is None:
            return []
        procs = []
        for pid in self.mlflow.group_pids():
            with contextlib.suppress(psutil.Error):
                procs.append(psutil.Process(pid))
        return procs

    def stop(self) -> None:
        if self.mlflow is not None:
            with contextlib.suppress(Exception):
                self.mlflow.stop()
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()
        self.servers.clear()
        shutil.rmtree(self.home, ignore_errors=True)


def _window(run: PtyRun, seconds: float, extra: dict[str, CpuWindow] | None = None) -> dict:
    """CPU of the run's process tree and bytes it wrote, over `seconds`."""
    windows = {"cpu": CpuWindow(lambda: tree(run.proc.pid)), **(extra or {})}
    for window in windows.values():
        window.start()
    before = run.total
    time.sleep(seconds)
    out: dict[str, Any] = {name: window.stop() for name, window in windows.items()}
    out["bytes_per_s"] = (run.total - before) / out["cpu"]["seconds"]
    out["peak_rss"] = run.peak_rss_bytes()
    return out


def _spawn(bench: Any, name: str, argv: list[str], env: dict, wanted: tuple, cwd: Path) -> PtyRun:
    run = PtyRun(argv, env, wanted, name, cwd=cwd)
    bench.children.append(run)  # Bench.cleanup stops it if we fail before finish()
    return run


def measure(bench: Any) -> dict[str, Any]:
    seconds = max(float(bench.args.cpu_seconds), MIN_WINDOW_S)
    stack = PanelStack(bench.notes)
    started = time.perf_counter()
    out: dict[str, Any] = {
        "setup": {
            "runs_per_source": RUNS_PER_SOURCE,
            "sources": list(CI_KINDS),
            "models": MODELS,
            "model_rows": MODELS * len(MODEL_METRICS),
            "services": SERVICES,
            "window_s": seconds,
        }
    }
    try:
        log("panels: starting the CI stand-ins")
        stack.start()
        out["setup"].update(stack.seeding)
        env = empty_env(stack.home)

        log(f"panels: bare Textual app, {seconds:g}s settled")
        bare = _spawn(
            bench, "the bare app", [sys.executable, str(BARE_APP)], env, (BARE_READY,), stack.work
        )
        try:
            out["bare"] = {"first_frame": bare.wait_for(BARE_READY, 30)}
            if out["bare"]["first_frame"] is None:
                bench.note(f"panels: the bare app never drew: {bare.screen_text()}")
            time.sleep(3)
            out["bare"].update(_window(bare, seconds))
        finally:
            bench.finish(bare)

        log(f"panels: opsdash with 500 runs, 100 model rows, 20 services; {seconds:g}s settled")
        wanted = markers()
        argv = [sys.executable, "-m", "opsdash", "--config", str(stack.config_path)]
        ops = _spawn(
            bench, "opsdash (panels)", argv, env, (OPSDASH_READY, *wanted.values()), stack.work
        )
        try:
            ops_out: dict[str, Any] = {"first_frame": ops.wait_for(OPSDASH_READY, 60)}
            shown = {name: ops.wait_for(marker, 120) for name, marker in wanted.items()}
            ops_out["shown"] = shown
            missing = [name for name, at in shown.items() if at is None]
            ops_out["all_shown"] = None if missing else max(shown.values())
            if missing:
                bench.note(f"panels: never on screen: {', '.join(missing)}; {ops.screen_text()}")
            time.sleep(max(SETTLE_S, stack.seeded_at + AGES_IN_MINUTES_S - time.perf_counter()))
            before = stack.requests()
            extra = {"mlflow_cpu": CpuWindow(stack.mlflow_processes)}
            ops_out.update(_window(ops, seconds, extra))
            after = stack.requests()
            # What it kept redrawing (the newest output, escape sequences removed).
            ops_out["settled_text"] = ops.screen_text(240)
            ops_out["requests_per_min"] = {
                kind: (after[kind] - before[kind]) * 60 / seconds for kind in after
            }
            if not ops.alive():
                bench.note(
                    f"panels: opsdash exited with {ops.proc.returncode}: {ops.screen_text()}"
                )
            out["opsdash"] = ops_out
        finally:
            bench.finish(ops)
    except Exception as exc:  # noqa: BLE001 - one scenario failing is a note, not a lost run
        bench.note(f"panels: {type(exc).__name__}: {exc}")
    finally:
        stack.stop()
    out["scenario_s"] = time.perf_counter() - started
    return out


# --- the write-up ---------------------------------------------------------------------------


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f} %"


def _cores(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def target_rows(data: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Rows shaped as targets.py's (target, opsdash, reference, budget, met?), with
    the budgets of its settled rows: CPU within +0.5 pp of the bare app, and at
    most 1 KiB/s to the terminal."""
    if not data:
        return []
    label = "panels settled (500 runs, 100 model rows, 20 services)"
    mine = get(data, "opsdash", "cpu", "percent_of_core")
    bare = get(data, "bare", "cpu", "percent_of_core")
    diff = None if mine is None or bare is None else mine - bare
    opsdash_rate = get(data, "opsdash", "bytes_per_s")
    bare_rate = get(data, "bare", "bytes_per_s")
    return [
        (
            f"CPU, {label}, vs the bare app",
            _pct(mine),
            _pct(bare),
            "n/a" if diff is None else f"{diff:+.2f} pp (≤ +0.5 pp)",
            met(None if diff is None else diff <= 0.5),
        ),
        (
            f"Bytes/s to the terminal, {label}",
            rate(opsdash_rate),
            f"bare {rate(bare_rate)}",
            f"≤ {rate(KIB)}",
            met(None if opsdash_rate is None else opsdash_rate <= KIB),
        ),
    ]


def report_lines(data: dict[str, Any]) -> list[str]:
    setup = data.get("setup", {})
    ops, bare = data.get("opsdash") or {}, data.get("bare") or {}
    lines = [
        "### The other panels, settled (benchmarks/panels.py)",
        "",
        f"{setup.get('runs_per_source', '?')} runs from each of GitHub Actions, GitLab CI and"
        " Jenkins (replay servers with generated runs) and Kubeflow Pipelines (the emulator);"
        f" a real MLflow with {setup.get('models', '?')} models, accuracy and loss shown"
        f" ({setup.get('model_rows', '?')} model rows); {setup.get('services', '?')} services"
        " with 90 days of deploys in the store. opsdash in a 160x48 pty from an empty"
        " directory, config naming only those (Docker and the local host off); the bare"
        " Textual app the same way. Window:"
        f" {setup.get('window_s', 0):g} s, from {SETTLE_S:g} s after every panel showed its data"
        f" and at least {AGES_IN_MINUTES_S:g} s after the newest run and model alias were made"
        " (until then their ages read in seconds and are redrawn once a second).",
        "",
        "| Figure | opsdash | bare Textual app |",
        "|---|---:|---:|",
        f"| First frame | {secs(ops.get('first_frame'))} | {secs(bare.get('first_frame'))} |",
        f"| Every panel shows its data | {secs(ops.get('all_shown'))} | — |",
        f"| CPU, % of one core (process tree) | {_pct(get(ops, 'cpu', 'percent_of_core'))}"
        f" | {_pct(get(bare, 'cpu', 'percent_of_core'))} |",
        f"| Bytes/s to the terminal | {rate(ops.get('bytes_per_s'))}"
        f" | {rate(bare.get('bytes_per_s'))} |",
        f"| Peak RSS | {mib(ops.get('peak_rss'))} | {mib(bare.get('peak_rss'))} |",
        f"| Machine busy during the window (cores) | {_cores(get(ops, 'cpu', 'machine_busy_cores'))}"
        f" | {_cores(get(bare, 'cpu', 'machine_busy_cores'))} |",
        "",
    ]
    shown = ops.get("shown") or {}
    if shown:
        lines.append(
            "Each panel's data on screen after: "
            + ", ".join(f"{name} {secs(at)}" for name, at in shown.items())
            + "."
        )
    per_min = ops.get("requests_per_min") or {}
    mlflow = get(ops, "mlflow_cpu", "percent_of_core")
    if per_min:
        lines.append(
            "Requests per minute while settled: "
            + ", ".join(f"{kind} {n:.0f}" for kind, n in per_min.items())
            + (f"; the MLflow server's CPU meanwhile {_pct(mlflow)} of a core." if mlflow else ".")
        )
    if ops.get("settled_text"):
        sample = ops["settled_text"].replace("`", "'").replace("|", "/")
        lines.append(f"The last text written while settled (escapes removed): `{sample}`.")
    lines.append(
        f"Setup: MLflow started in {secs(setup.get('mlflow_start_s'))}, seeded in"
        f" {secs(setup.get('mlflow_seed_s'))}; {setup.get('deploy_events', 'no')} deploy"
        f" events; the whole scenario took {secs(data.get('scenario_s'))}."
    )
    rows = target_rows(data)
    if rows:
        lines += ["", "| Target | opsdash | Reference | Ratio / budget | Met? |"]
        lines.append("|---|---:|---:|---:|---|")
        lines += [f"| {' | '.join(row)} |" for row in rows]
    return [*lines, ""]


# --- this scenario alone ------------------------------------------------------------------


class PanelsOnly:
    """What `measure` needs of run.py's Bench (args, notes, children, finish), so
    the panels scenario runs alone: no Docker engine, a few minutes."""

    def __init__(self, cpu_seconds: float):
        self.args = argparse.Namespace(cpu_seconds=cpu_seconds)
        self.notes: list[str] = []
        self.children: list[PtyRun] = []

    def note(self, text: str) -> None:
        log(f"NOTE: {text}")
        self.notes.append(text)

    def finish(self, run: PtyRun) -> None:
        run.stop()
        if run.crashed():
            self.note(f"{run.name} printed a traceback: {run.screen_text(300)}")
        with contextlib.suppress(ValueError):
            self.children.remove(run)

    def cleanup(self) -> None:
        for run in list(self.children):
            with contextlib.suppress(Exception):
                run.stop()
        self.children.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The other panels, settled, vs the bare app.")
    parser.add_argument("--cpu-seconds", type=float, default=MIN_WINDOW_S, metavar="S")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    bench = PanelsOnly(args.cpu_seconds)
    try:
        data = measure(bench)
    finally:
        bench.cleanup()
    print("\n".join(report_lines(data)))
    for note in bench.notes:
        print(f"NOTE: {note}")
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
