"""Regenerate the SVG screenshots in screenshots/ from a real (private) Docker engine.

Usage (from anywhere, with opsdash and its dependencies installed)::

    python scripts/screenshots.py                  # every screenshot
    python scripts/screenshots.py logs details     # only these
    python scripts/screenshots.py --out some/dir   # somewhere else

Needs root (or whatever lets you run dockerd), Debian's docker.io and
busybox-static, like the integration tests, and what `scripts/test` installs
for the pipelines and models (Buildbot and MLflow in .servers/, Debian's
prometheus). It starts its own dockerd in a temp dir
(devstack.docker_engine.PrivateDockerEngine), fills it with the demo stack
(devstack.sample_stack), starts Buildbot, MLflow, Prometheus and a GitHub
replay server (devstack.demo_services), waits until everything is in its demo
state, then drives the real app headless with the real sources, one fresh app
per screenshot. Every screenshot is checked for the demo secret, the demo
token and raw escape characters before it counts. Everything is stopped at the
end, also on errors and Ctrl-C. Takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.demo_services import GITHUB_TOKEN, KUBEFLOW_TOKEN, DemoServices  # noqa: E402
from devstack.docker_engine import BUSYBOX_IMAGE, PrivateDockerEngine  # noqa: E402
from devstack.interrupted import leave_interrupted_redeploy  # noqa: E402
from devstack.kube_demo import KUBE_TOKENS  # noqa: E402
from devstack.sample_stack import (  # noqa: E402
    BACKUP,
    CONTAINERS,
    DEMO_SECRET,
    FLAKY,
    NOISY,
    PROJECT,
    SERVICE,
    SERVICE_REPLICAS,
    WEB,
    WORKER,
    start_sample_stack,
    wait_for_sample_stack,
)
from opsdash.app import OpsdashApp  # noqa: E402
from opsdash.config import Config  # noqa: E402
from opsdash.model import HealthState  # noqa: E402
from opsdash.model.deployments import DeploymentsSnapshot  # noqa: E402
from opsdash.poller import Poller  # noqa: E402
from opsdash.screens.actions import AuditScreen, ConfirmScreen, ProgressScreen  # noqa: E402
from opsdash.screens.details import DetailsScreen  # noqa: E402
from opsdash.screens.help import HelpScreen  # noqa: E402
from opsdash.screens.kube import WorkloadScreen  # noqa: E402
from opsdash.screens.logs import LogsScreen  # noqa: E402
from opsdash.screens.models import ModelScreen  # noqa: E402
from opsdash.screens.pipeline import JobLogScreen, RunScreen  # noqa: E402
from opsdash.sources.build import build_sources  # noqa: E402
from opsdash.sources.ci import CiConfig  # noqa: E402
from opsdash.sources.docker import DockerHostConfig  # noqa: E402
from opsdash.sources.host import HostConfig  # noqa: E402
from opsdash.store import Store  # noqa: E402
from opsdash.widgets.panels import HostPanel  # noqa: E402
from opsdash.widgets.resource_table import ResourceTable  # noqa: E402

WIDE = (160, 48)
NARROW = (80, 24)
TIMEOUT = 60.0


def log(message: str) -> None:
    print(f"[screenshots] {message}", flush=True)


def make_config(docker_host: str, services: DemoServices | None = None) -> Config:
    return Config(
        path=None,
        refresh=1.0,
        sources=(
            DockerHostConfig(name="demo", host=docker_host, refresh=1.0, timeout=5, pull=False),
            HostConfig(name="demo-host", refresh=1.0),
            *(services.configs() if services else ()),
        ),
    )


_STORE: list[Store] = []  # one store for the run, so the audit screenshot has history


def make_app(config: Config) -> OpsdashApp:
    """The real app with the real sources, as `opsdash` builds it."""
    if not _STORE:
        _STORE.append(Store(Path(tempfile.mkdtemp(prefix="opsdash-shots-")) / "opsdash.db"))
    sources = build_sources(config, _STORE[0])
    return OpsdashApp(config, Poller(sources, max_backoff=2.0), store=_STORE[0])


async def wait_for(pilot, condition: Callable[[], object], what: str, timeout: float = TIMEOUT):
    """Let the app run until `condition()` is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(0.1)
    raise TimeoutError(f"not within {timeout:g}s: {what}")


async def settle(pilot) -> None:
    """Let pending messages and repaints run before a screenshot."""
    for _ in range(3):
        await pilot.pause(0.05)
    await pilot.wait_for_scheduled_animations()


def screen_text(app: OpsdashApp) -> str:
    return svg_text(app.export_screenshot())


def svg_text(svg: str) -> str:
    return html.unescape(svg).replace("\xa0", " ")


# --- conditions -------------------------------------------------------------------


def table(app: OpsdashApp, table_id: str) -> ResourceTable:
    return app.main.query_one(f"#{table_id}", ResourceTable)


def containers(app: OpsdashApp) -> dict:
    return {c.name: c for c in table(app, "containers-table").records.values()}


def dashboard_missing(app: OpsdashApp) -> list[str]:
    """Why the dashboard does not show the full demo yet (empty once it does)."""
    missing = [
        label
        for label in app.poller.sources
        if app.poller.health(label).state is not HealthState.OK
    ]
    shown = containers(app)
    missing += [name for name in CONTAINERS if name not in shown]
    if shown.get(WEB) and shown[WEB].health != "healthy":
        missing.append(f"{WEB} healthy")
    if shown.get(BACKUP) and shown[BACKUP].exit_code != 1:
        missing.append(f"{BACKUP} exit 1")
    if shown.get(FLAKY) and shown[FLAKY].restart_count < 1:
        missing.append(f"{FLAKY} restarts")
    # CPU needs two samples; wait for them so the CPU column has numbers.
    missing += [
        f"{c.name} cpu"
        for c in shown.values()
        if c.running and c.name != FLAKY and c.cpu_percent is None
    ]
    services = {s.name: s for s in table(app, "services-table").records.values()}
    api = services.get(SERVICE)
    if api is None or api.replicas_running != SERVICE_REPLICAS:
        missing.append(f"service {SERVICE} {SERVICE_REPLICAS}/{SERVICE_REPLICAS}")
    if "Waiting for the first poll" in screen_text(app):
        missing.append("host panel")
    # What was polled, not what a table holds: at 80x24 only one panel is in view,
    # and a panel out of view draws when it is shown.
    runs = app.feed.pipeline_runs()
    pipelines = [c for c in app.config.sources if isinstance(c, CiConfig)]
    for provider in {p.kind for p in pipelines}:
        if not any(r.provider == provider for r in runs):
            missing.append(f"{provider} runs")
    if pipelines and not any(not r.status.finished for r in runs):
        missing.append("a running pipeline")
    models = {(r.kind, r.model) for s in app.feed.model_snapshots() for r in s.rows}
    if app.config.of_kind("mlflow") and ("mlflow", "churn") not in models:
        missing.append("MLflow churn")
    if app.config.of_kind("prometheus") and ("prometheus", "fraud") not in models:
        missing.append("Prometheus fraud")
    deployments = [app.poller.data(label) for label in app.feed.labels(DeploymentsSnapshot)]
    if pipelines and not any(d is not None and d.services for d in deployments):
        missing.append("deployments")
    return missing


async def dashboard_ready(app: OpsdashApp, pilot) -> None:
    try:
        await wait_for(pilot, lambda: not dashboard_missing(app), "the dashboard shows the stack")
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; still missing: {', '.join(dashboard_missing(app))}") from None
    await settle(pilot)


async def select(app: OpsdashApp, pilot, name: str) -> None:
    containers_table = table(app, "containers-table")
    key = next(k for k, c in containers_table.records.items() if c.name == name)
    containers_table.focus()
    containers_table.move_cursor(row=containers_table.get_row_index(key))
    await wait_for(
        pilot,
        lambda: containers_table.selected is not None and containers_table.selected.name == name,
        f"{name} selected",
    )


# --- the screenshots ------------------------------------------------------------------


async def dashboard(app: OpsdashApp, pilot) -> None:
    await dashboard_ready(app, pilot)


async def host(app: OpsdashApp, pilot) -> None:
    await dashboard_ready(app, pilot)
    await pilot.press("2")
    panel = app.main.query_one(HostPanel)
    await wait_for(pilot, lambda: panel.region.area and panel.has_focus, "host panel focused")
    await settle(pilot)


async def filter_shop(app: OpsdashApp, pilot) -> None:
    await dashboard_ready(app, pilot)
    await pilot.press("slash", *PROJECT)
    containers_table = table(app, "containers-table")
    await wait_for(
        pilot,
        lambda: (
            {containers_table.records[k.value].name for k in containers_table.rows} == {WEB, WORKER}
        ),
        f"filter '{PROJECT}' leaves {WEB} and {WORKER}",
    )
    await settle(pilot)


async def details(app: OpsdashApp, pilot) -> None:
    await dashboard_ready(app, pilot)
    await select(app, pilot, WEB)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen), "details screen")
    await wait_for(pilot, lambda: "DB_PASSWORD" in screen_text(app), "details loaded")
    await settle(pilot)


async def logs(app: OpsdashApp, pilot) -> None:
    await dashboard_ready(app, pilot)
    await select(app, pilot, NOISY)
    await pilot.press("l")
    await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen), "logs screen")
    screen = app.screen
    assert isinstance(screen, LogsScreen)
    await wait_for(
        pilot,
        lambda: len(screen.lines) >= 8 and "following" in screen_text(app),
        "the first log lines",
    )
    await settle(pilot)


async def logs_search(app: OpsdashApp, pilot) -> None:
    """`s` searches the log (matches highlighted, `n`/`N` between them) and `C`
    shows five lines of context around each match, as grep -C 5 does."""
    await logs(app, pilot)
    await pilot.press("s", *"ALERT", "enter")
    await pilot.press("C", "C", "C")  # off -> 0 -> 2 -> 5 lines
    await wait_for(pilot, lambda: "match " in screen_text(app), "the search's matches")
    await settle(pilot)


async def project_logs(app: OpsdashApp, pilot) -> None:
    """`L` on a compose container: its whole project's logs, in time order."""
    await dashboard_ready(app, pilot)
    await select(app, pilot, WEB)
    await pilot.press("L")
    await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen), "project logs screen")
    screen = app.screen
    assert isinstance(screen, LogsScreen)
    await wait_for(pilot, lambda: len(screen.lines) >= 4, "the merged lines")
    await pilot.press("t")  # the engine's timestamps: the order the lines are merged in
    await settle(pilot)


async def dashboard_ansi(app: OpsdashApp, pilot) -> None:
    """The `ansi` theme: the terminal's 16 colours only."""
    app.theme = "ansi"
    await dashboard_ready(app, pilot)


async def help_screen(app: OpsdashApp, pilot) -> None:
    await dashboard_ready(app, pilot)
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help screen")
    await settle(pilot)


async def redeploy_confirm(app: OpsdashApp, pilot) -> None:
    await dashboard_ready(app, pilot)
    await select(app, pilot, WEB)
    await pilot.press("R")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm dialog")
    await settle(pilot)


async def redeploy_progress(app: OpsdashApp, pilot) -> None:
    await redeploy_confirm(app, pilot)
    await pilot.press("y")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ProgressScreen) and app.screen.done,
        "redeploy finished",
        timeout=90,
    )
    await settle(pilot)


async def audit(app: OpsdashApp, pilot) -> None:
    await dashboard_ready(app, pilot)
    await pilot.press("a")
    await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), "audit screen")
    await settle(pilot)


async def pipelines(app: OpsdashApp, pilot) -> None:
    await dashboard_ready(app, pilot)
    await pilot.press("3")
    await wait_for(pilot, lambda: table(app, "pipelines-table").has_focus, "pipelines focused")
    await settle(pilot)


async def select_row(
    app: OpsdashApp, pilot, table_id: str, match: Callable[[object], bool]
) -> None:
    rows = table(app, table_id)
    key = next(k for k, r in rows.records.items() if match(r))
    rows.focus()
    rows.move_cursor(row=rows.get_row_index(key))
    await wait_for(
        pilot, lambda: rows.selected is not None and match(rows.selected), "row selected"
    )


async def pipeline_run(app: OpsdashApp, pilot) -> None:
    await pipelines(app, pilot)
    await select_row(
        app, pilot, "pipelines-table", lambda r: r.provider == "github" and r.number == 211
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), "run screen")
    jobs = app.screen.query_one("#jobs-table", ResourceTable)
    await wait_for(pilot, lambda: jobs.row_count == 2, "the run's jobs")
    await settle(pilot)


async def tfx_run(app: OpsdashApp, pilot) -> None:
    """A TFX-shaped training run on the real Airflow: its components, its verdict."""
    await pipelines(app, pilot)
    await select_row(
        app,
        pilot,
        "pipelines-table",
        lambda r: r.provider == "airflow" and r.verdict == "blessed · pushed",
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), "run screen")
    jobs = app.screen.query_one("#jobs-table", ResourceTable)
    await wait_for(pilot, lambda: jobs.row_count == 8, "the run's components")
    await settle(pilot)


async def kubeflow_run(app: OpsdashApp, pilot) -> None:
    """A TFX run on Kubeflow Pipelines (the KFP emulator): its components, its verdict."""
    await pipelines(app, pilot)
    await select_row(
        app,
        pilot,
        "pipelines-table",
        lambda r: r.provider == "kubeflow" and r.verdict.startswith("not blessed"),
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), "run screen")
    jobs = app.screen.query_one("#jobs-table", ResourceTable)
    await wait_for(pilot, lambda: jobs.row_count >= 5, "the run's components")
    await settle(pilot)


async def pipeline_list(app: OpsdashApp, pilot) -> None:
    """P: the DAGs that can be started, paused or not, with the import error."""
    await pipelines(app, pilot)
    await select_row(app, pilot, "pipelines-table", lambda r: r.provider == "airflow")
    await pilot.press("P")
    await wait_for(pilot, lambda: "opsdash_tfx" in screen_text(app), "the pipelines screen")
    await settle(pilot)


async def job_log(app: OpsdashApp, pilot) -> None:
    await pipeline_run(app, pilot)
    jobs = app.screen.query_one("#jobs-table", ResourceTable)
    jobs.move_cursor(row=jobs.get_row_index("2"))
    await pilot.press("l")
    await wait_for(pilot, lambda: isinstance(app.screen, JobLogScreen), "job log screen")
    await wait_for(pilot, lambda: "FAILED" in screen_text(app), "the log tail")
    await settle(pilot)


async def kubernetes(app: OpsdashApp, pilot) -> None:
    await dashboard_ready(app, pilot)
    await pilot.press("6")
    rows = table(app, "kube-workloads-table")
    await wait_for(pilot, lambda: rows.has_focus, "Kubernetes focused")
    await wait_for(
        pilot,
        lambda: (
            {w.context for w in rows.records.values()} == {"prod", "staging"}
            and any(w.rollout.value == "failed" for w in rows.records.values())
        ),
        "both contexts, with the stuck staging rollout",
    )
    await settle(pilot)


async def kubernetes_pods(app: OpsdashApp, pilot) -> None:
    await kubernetes(app, pilot)
    await pilot.press("colon", *"pods", "enter")
    pods = table(app, "kube-pods-table")
    await wait_for(
        pilot,
        lambda: any(p.trouble == "CrashLoopBackOff" for p in pods.records.values()),
        "a crash-looping pod",
    )
    await settle(pilot)


async def workload(app: OpsdashApp, pilot) -> None:
    await kubernetes(app, pilot)
    await select_row(
        app,
        pilot,
        "kube-workloads-table",
        lambda w: w.context == "prod" and w.namespace == "shop" and w.name == "web",
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, WorkloadScreen), "workload screen")
    revisions = app.screen.query_one("#workload-revisions", ResourceTable)
    await wait_for(pilot, lambda: revisions.row_count == 3, "three revisions")
    await settle(pilot)


async def kube_restart(app: OpsdashApp, pilot) -> None:
    await workload(app, pilot)
    await pilot.press("R")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm dialog")
    await pilot.press("y")
    await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen), "progress")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ProgressScreen) and app.screen.outcome,
        "the rollout followed to its end",
    )
    await settle(pilot)


async def models(app: OpsdashApp, pilot) -> None:
    await dashboard_ready(app, pilot)
    await pilot.press("5")
    await wait_for(pilot, lambda: table(app, "models-table").has_focus, "models focused")
    await settle(pilot)


async def model_details(app: OpsdashApp, pilot) -> None:
    await models(app, pilot)
    await select_row(
        app, pilot, "models-table", lambda r: r.kind == "mlflow" and r.model == "churn"
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen), "model screen")
    await settle(pilot)


async def promote_confirm(app: OpsdashApp, pilot) -> None:
    await models(app, pilot)
    await select_row(
        app, pilot, "models-table", lambda r: r.kind == "mlflow" and r.model == "churn"
    )
    await pilot.press("P")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "promote dialog")
    await settle(pilot)


async def deployments(app: OpsdashApp, pilot) -> None:
    await dashboard_ready(app, pilot)
    await pilot.press("4")
    rows = table(app, "deployments-table")
    await wait_for(pilot, lambda: rows.has_focus and rows.row_count >= 2, "deployments shown")
    await pilot.press("z")
    await settle(pilot)


async def service_timeline(app: OpsdashApp, pilot) -> None:
    await deployments(app, pilot)
    await select_row(app, pilot, "deployments-table", lambda r: r.service == "acme/shop")
    await pilot.press("enter")
    await wait_for(pilot, lambda: "Timeline, newest first" in screen_text(app), "timeline")
    await settle(pilot)


Shot = Callable[[OpsdashApp, object], Awaitable[None]]

# name -> (file, terminal size, steps, text that must be visible)
INTERRUPTED = "acc-web"  # the container whose redeploy a killed opsdash left half done


def _docker(host: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "--host", host, *args], capture_output=True, text=True)


def _interrupt(host: str) -> None:
    _docker(host, "run", "-d", "--name", INTERRUPTED, "--network", "none", "--stop-timeout", "1",
            "-v", f"{INTERRUPTED}-data:/data", BUSYBOX_IMAGE, "sleep", "100000")  # fmt: skip
    leave_interrupted_redeploy(host, "demo", INTERRUPTED)


def _clear_interrupted(host: str) -> None:
    names = _docker(host, "ps", "-a", "--format", "{{.Names}}").stdout.split()
    mine = [n for n in names if n == INTERRUPTED or n.startswith(f"{INTERRUPTED}-opsdash-")]
    if mine:
        _docker(host, "rm", "-f", *mine)
    _docker(host, "volume", "rm", f"{INTERRUPTED}-data")


async def recovery(app: OpsdashApp, pilot) -> None:
    """A real redeploy killed before it created the new container: any opsdash
    watching the engine shows it at once."""
    from opsdash.screens.recovery import RecoveryScreen

    await dashboard_ready(app, pilot)
    await asyncio.to_thread(_interrupt, app.config.of_kind("docker")[0].host)
    await wait_for(pilot, lambda: isinstance(app.screen, RecoveryScreen), "recovery dialog", 60)
    await settle(pilot)


AFTER: dict[str, Callable[[str], None]] = {"recovery": _clear_interrupted}

SHOTS: dict[str, tuple[str, tuple[int, int], Shot, tuple[str, ...]]] = {
    "dashboard": ("dashboard-160x48.svg", WIDE, dashboard, (WEB, SERVICE, "1 Containers")),
    "narrow": ("dashboard-80x24.svg", NARROW, dashboard, (WEB, "1 Containers")),
    "host": ("host-80x24.svg", NARROW, host, ("CPU", "Mem")),
    "filter": ("filter-160x48.svg", WIDE, filter_shop, (WEB, WORKER)),
    "details": ("details-160x48.svg", WIDE, details, ("Details: " + WEB, "DB_PASSWORD")),
    "logs": ("logs-160x48.svg", WIDE, logs, ("Logs: " + NOISY, "[bold red]ALERT[/]")),
    "help": ("help-160x48.svg", WIDE, help_screen, ("Keys", "Binding id")),
    "logs-search": (
        "logs-search-160x48.svg",
        WIDE,
        logs_search,
        ("Logs: " + NOISY, "ALERT", "match "),
    ),
    "project-logs": (
        "project-logs-160x48.svg",
        WIDE,
        project_logs,
        ("Logs: " + PROJECT, WORKER, "stamps on"),
    ),
    "ansi-narrow": ("dashboard-ansi-80x24.svg", NARROW, dashboard_ansi, (WEB, "1 Containers")),
    "redeploy-confirm": (
        "redeploy-confirm-160x48.svg",
        WIDE,
        redeploy_confirm,
        ("What will happen", WEB),
    ),
    "redeploy-progress": ("redeploy-progress-160x48.svg", WIDE, redeploy_progress, ("done:",)),
    "audit": ("audit-160x48.svg", WIDE, audit, ("Audit log", WEB)),
    "pipelines-models": (
        "pipelines-models-160x48.svg",
        WIDE,
        pipelines,
        ("3 Pipelines", "running", "failed", "5 Models", "breach", "champion"),
    ),
    "pipelines-narrow": ("pipelines-80x24.svg", NARROW, pipelines, ("3 Pipelines", "success")),
    "pipeline-run": (
        "pipeline-run-160x48.svg",
        WIDE,
        pipeline_run,
        ("Run: CI #211", "test (3.11)"),
    ),
    "tfx-run": (
        "tfx-run-160x48.svg",
        WIDE,
        tfx_run,
        ("CsvExampleGen", "Evaluator", "Pusher", "blessed · pushed"),
    ),
    "kubeflow-run": (
        "kubeflow-run-160x48.svg",
        WIDE,
        kubeflow_run,
        ("Trainer", "Evaluator", "Pusher", "not blessed"),
    ),
    "pipeline-list": ("pipeline-list-160x48.svg", WIDE, pipeline_list, ("opsdash_tfx", "tfx")),
    "job-log": ("job-log-160x48.svg", WIDE, job_log, ("tests/test_cart.py::test_totals",)),
    "models-narrow": ("models-80x24.svg", NARROW, models, ("5 Models", "churn")),
    "kubernetes": (
        "kubernetes-160x48.svg",
        WIDE,
        kubernetes,
        ("6 Kubernetes", "prod", "staging", "ledger-db", "failed"),
    ),
    "kubernetes-pods-narrow": (
        "kubernetes-pods-80x24.svg",
        NARROW,
        kubernetes_pods,
        ("6 Kubernetes · pods", "CrashLoopBackOff"),
    ),
    "workload": (
        "kubernetes-workload-160x48.svg",
        WIDE,
        workload,
        ("Revisions (newest first)", "acme/web:1.4.0", "Events (newest first)"),
    ),
    "kube-restart": (
        "kubernetes-restart-160x48.svg",
        WIDE,
        kube_restart,
        ("successfully rolled out", "fieldManager=kubectl-rollout", "revision 4"),
    ),
    "deployments": (
        "deployments-160x48.svg",
        WIDE,
        deployments,
        ("4 Deployments", "acme/shop", "LEAD TIME"),
    ),
    "service-timeline": (
        "service-timeline-160x48.svg",
        WIDE,
        service_timeline,
        ("Deployments: acme/shop", "Timeline"),
    ),
    "model-details": (
        "model-details-160x48.svg",
        WIDE,
        model_details,
        ("Model: churn", "Versions"),
    ),
    "promote-confirm": (
        "promote-confirm-160x48.svg",
        WIDE,
        promote_confirm,
        ("Promote churn?", "champion v2 -> v3"),
    ),
    "recovery": (
        "recovery-160x48.svg",
        WIDE,
        recovery,
        ("interrupted action", "acc-web-opsdash-old-", "fix:"),
    ),
}


def check_svg(path: Path, must_show: tuple[str, ...]) -> None:
    text = svg_text(path.read_text(encoding="utf-8"))
    secrets = (DEMO_SECRET, GITHUB_TOKEN, KUBEFLOW_TOKEN, *KUBE_TOKENS)
    problems = [f"shows the secret {s!r}" for s in secrets if s in text]
    problems += [
        f"contains raw {name}" for name, ch in (("ESC", "\x1b"), ("BEL", "\x07")) if ch in text
    ]
    problems += [f"does not show {word!r}" for word in must_show if word not in text]
    if problems:
        raise AssertionError(f"{path.name}: {'; '.join(problems)}")


async def take(config: Config, out_dir: Path, name: str) -> Path:
    filename, size, steps, must_show = SHOTS[name]
    app = make_app(config)
    try:
        async with app.run_test(size=size) as pilot:
            await steps(app, pilot)
            path = Path(app.save_screenshot(filename, path=str(out_dir)))
    finally:
        if name in AFTER:
            AFTER[name](config.of_kind("docker")[0].host)
    check_svg(path, must_show)
    return path


async def take_all(config: Config, out_dir: Path, names: list[str]) -> None:
    for name in names:
        started = time.monotonic()
        path = await take(config, out_dir, name)
        log(f"{path.name} ({time.monotonic() - started:.1f}s)")


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "shots", nargs="*", metavar="SHOT", help=f"which to take (default all): {', '.join(SHOTS)}"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="output directory")
    args = parser.parse_args(argv)
    unknown = [name for name in args.shots if name not in SHOTS]
    if unknown:
        parser.error(f"unknown screenshot {', '.join(unknown)} (choose from {', '.join(SHOTS)})")
    names = args.shots or list(SHOTS)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.pop("NO_COLOR", None)  # the screenshots are in colour whatever the shell says
    signal.signal(signal.SIGTERM, _terminate)

    started = time.monotonic()
    engine = PrivateDockerEngine()
    services = DemoServices(log=log)
    try:
        log(f"starting a private dockerd in {engine.base_dir}")
        engine.start()
        engine.ensure_images()
        log("starting the sample stack")
        start_sample_stack(engine)
        services.start()
        wait_for_sample_stack(engine)
        log(f"stack ready after {time.monotonic() - started:.1f}s")
        asyncio.run(take_all(make_config(engine.docker_host, services), args.out, names))
    finally:
        log("stopping Buildbot, MLflow, Prometheus and the replay server")
        services.close()
        log("removing the private dockerd")
        engine.cleanup()
    log(f"done in {time.monotonic() - started:.1f}s: {len(names)} screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
