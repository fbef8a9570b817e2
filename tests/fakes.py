"""Test doubles and sample data: fixed sources (real `Source` subclasses that
return canned records), the sample rows they return, sample deployments for a
store, configs and names for the tests that run against the private engine.

Nothing here imports Textual: fakes are core-side, like the sources they stand in for.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from opsdash.config import Config
from opsdash.model import (
    Container,
    DiskUsage,
    DockerSnapshot,
    HostStats,
    PipelineJob,
    PipelineRun,
    PipelineSnapshot,
    PipelineStep,
    Port,
    RunStatus,
    Service,
)
from opsdash.model.ml import (
    MetricPoint,
    ModelRow,
    ModelsSnapshot,
    ModelVersion,
    ThresholdState,
)
from opsdash.sources.base import Source
from opsdash.sources.ci import PipelineSource
from opsdash.sources.docker import DockerHostConfig
from opsdash.sources.github import GitHubConfig
from opsdash.sources.host import HostConfig
from opsdash.sources.mlflow import MlflowConfig


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def docker_config(docker_host: str, *, refresh: float = 0.5, **extra) -> Config:
    return Config(
        path=None,
        refresh=refresh,
        sources=(
            DockerHostConfig(name="test", host=docker_host, refresh=refresh, timeout=5, pull=False),
            HostConfig(name="testhost", refresh=refresh),
        ),
        **extra,
    )


def run_isolated(engine, name: str, *args: str) -> str:
    """`docker run -d` a container named `name` with no network (loopback only)."""
    return engine.cli(
        "run", "-d", "--name", name, "--network", "none", "--stop-timeout", "1", *args
    ).stdout.strip()


# --- a fixed source, for layout snapshots and key tests that need no engine ---


def sample_containers() -> tuple[Container, ...]:
    now = datetime.now().astimezone()

    def c(name, state="running", **kw):
        base = dict(
            host="demo",
            id=f"{name:0<12}"[:12] + "f" * 52,
            name=name,
            image="local/web:1",
            state=state,
            status="",
            started_at=now - timedelta(minutes=42, seconds=20),
            cpu_percent=1.5,
            memory_used=12 * 1024 * 1024,
            memory_limit=1024**3,
        )
        base.update(kw)
        return Container(**base)

    return (
        c(
            "web",
            health="healthy",
            ports=(Port(80, "tcp", "127.0.0.1", 18080),),
            compose_project="shop",
            compose_service="web",
            labels=(("com.docker.compose.project", "shop"), ("tier", "front")),
        ),
        c(
            "worker",
            image="local/busybox:1",
            cpu_percent=87.25,
            memory_used=300 * 1024 * 1024,
            compose_project="shop",
            compose_service="worker",
        ),
        c("db", image="local/busybox:1", health="unhealthy", restart_count=3),
        c("[bold red]evil[/]\x1b]0;pwned\x07", image="local/busybox:1", cpu_percent=0.0),
        c(
            "batch-job",
            state="exited",
            image="local/busybox:1",
            exit_code=137,
            finished_at=now - timedelta(minutes=5, seconds=20),
            cpu_percent=None,
            memory_used=None,
        ),
    )


def sample_services() -> tuple[Service, ...]:
    now = datetime.now().astimezone()
    return (
        Service(
            "demo",
            "svc1" + "0" * 21,
            "api",
            "local/busybox:1",
            "replicated",
            2,
            2,
            "completed",
            updated=now - timedelta(minutes=3, seconds=20),
        ),
        Service(
            "demo",
            "svc2" + "0" * 21,
            "edge",
            "local/web:1",
            "replicated",
            1,
            3,
            "updating",
            updated=now - timedelta(minutes=1, seconds=20),
        ),
    )


class FixedDockerSource(Source):
    kind = "docker"
    feeds = DockerSnapshot
    config_class = DockerHostConfig

    def __init__(self, name="demo", services=True):
        super().__init__(name, refresh=3600, timeout=5)
        self.services = services

    def poll(self):
        return DockerSnapshot(
            host=self.name,
            containers=sample_containers(),
            services=sample_services() if self.services else (),
            swarm_manager=self.services,
            engine_version="20.10.24",
        )


class FixedHostSource(Source):
    kind = "host"
    feeds = HostStats
    config_class = HostConfig

    def __init__(self):
        super().__init__("demohost", refresh=3600, timeout=5)

    def poll(self):
        return HostStats(
            hostname="demohost",
            cpu_percent=23.5,
            cpu_count=2,
            load=(0.42, 0.30, 0.25),
            memory_total=24 * 1024**3,
            memory_used=6 * 1024**3,
            memory_percent=25.0,
            swap_total=0,
            swap_used=0,
            swap_percent=0.0,
            disks=(DiskUsage("/", 250 * 1024**3, 100 * 1024**3, 40.0),),
            boot_time=datetime.now().astimezone() - timedelta(days=3, hours=4, minutes=30),
        )


MARKUP_MESSAGE = "fix [bold red]not markup[/] \x1b]52;c;ZXZpbA==\x07and \x1b[2Jclear"


def sample_runs(source: str = "github:api") -> tuple[PipelineRun, ...]:
    now = datetime.now().astimezone()

    def run(number, status, pipeline="ci", minutes=0, took=None, **kw):
        started = now - timedelta(minutes=minutes)
        finished = started + timedelta(seconds=took) if took is not None else None
        return PipelineRun(
            source=source,
            provider=source.split(":", 1)[0],
            project="acme/api",
            pipeline=pipeline,
            id=str(1000 + number),
            status=status,
            vendor_status=kw.pop("vendor", status.value),
            number=number,
            branch=kw.pop("branch", "main"),
            sha=kw.pop("sha", f"{number:07d}abcdef1234567890"),
            message=kw.pop("message", f"Change number {number}"),
            actor=kw.pop("actor", "octocat"),
            event=kw.pop("event", "push"),
            created=started,
            started=started,
            finished=finished,
            url=f"https://github.com/acme/api/actions/runs/{1000 + number}",
            **kw,
        )

    return (
        run(45, RunStatus.RUNNING, minutes=2, vendor="in_progress"),
        run(
            44,
            RunStatus.FAILED,
            minutes=20,
            took=312,
            message=MARKUP_MESSAGE,
            vendor="completed/failure",
        ),
        run(
            43,
            RunStatus.SUCCESS,
            pipeline="deploy",
            minutes=65,
            took=95,
            is_deploy=True,
            event="workflow_dispatch",
        ),
        run(42, RunStatus.CANCELLED, minutes=130, took=40, branch="feature/x"),
        run(41, RunStatus.QUEUED, pipeline="nightly", minutes=1, event="schedule"),
    )


class FixedPipelineSource(PipelineSource):
    """A CI source with fixed runs that records what was asked of it.

    A real `PipelineSource` with no HTTP client: the blocking calls the app makes
    (poll, jobs, log_tail, rerun, cancel, deploy) are answered here directly, and
    the provider coroutines behind them return the same fixed data."""

    kind = "github"
    feeds = PipelineSnapshot
    config_class = GitHubConfig
    can_rerun_failed = True
    can_rerun_running = False  # as GitHub

    def __init__(self, name="api", *, deploy="deploy.yml", read_only=False):
        config = GitHubConfig(
            name=name,
            url="https://api.github.com",
            project="acme/api",
            deploy=deploy,
            deploy_branch="main",
            read_only=read_only,
            refresh=3600,
            timeout=5,
        )
        super().__init__(config, client=None)  # type: ignore[arg-type] - nothing is fetched
        self.calls: list[tuple] = []

    def poll(self):
        return PipelineSnapshot(
            self.label, "github", sample_runs(self.label), quota="4,990/5,000 left"
        )

    async def fetch(self):
        return self.poll()

    async def fetch_jobs(self, run):
        return self.jobs(run)

    async def fetch_log(self, run, job):
        return self.log_tail(run, job)

    def health_note(self):
        return ""

    def close(self):
        pass

    @property
    def deploy_target(self):
        return f"workflow {self.config.deploy} on acme/api" if self.config.deploy else ""

    @property
    def default_ref(self):
        return "main"

    def jobs(self, run):
        t = run.started
        return [
            PipelineJob(
                "1",
                "build",
                RunStatus.SUCCESS,
                "completed/success",
                "",
                t,
                t + timedelta(seconds=40),
                steps=(PipelineStep("checkout", RunStatus.SUCCESS),),
            ),
            PipelineJob(
                "2",
                "test [red]unit[/]",
                RunStatus.FAILED,
                "completed/failure",
                "",
                t,
                t + timedelta(seconds=90),
            ),
        ]

    def log_tail(self, run, job):
        return (
            "step 1\n\x1b[31mred error\x1b[0m [bold]not markup[/bold]\n\x1b]52;c;ZXZpbA==\x07done"
        )

    def rerun(self, run, failed_only=False):
        self.calls.append(("rerun", run.id, failed_only))
        return f"rerun of run {run.id} requested"

    def cancel(self, run):
        self.calls.append(("cancel", run.id))
        return f"cancel of run {run.id} requested"

    def deploy(self, ref):
        self.calls.append(("deploy", ref))
        return f"workflow deploy.yml dispatched on {ref}"


def sample_model_rows(source: str = "mlflow:registry") -> tuple[ModelRow, ...]:
    now = datetime.now().astimezone()
    history = tuple(
        MetricPoint(None, v, step)
        for step, v in enumerate((0.71, 0.78, 0.83, 0.86, 0.88, 0.9, 0.91, 0.915, 0.92, 0.921))
    )
    return (
        ModelRow(
            source,
            "mlflow",
            "churn",
            "accuracy",
            "2",
            0.921,
            "higher",
            ThresholdState.OK,
            0.9,
            0.85,
            history,
            alias="champion",
            challenger_alias="challenger",
            challenger_version="3",
            challenger_value=0.934,
            serving_changed_at=now - timedelta(days=2, hours=3),
            previous_version="1",
        ),
        ModelRow(
            source,
            "mlflow",
            "[red]fraud[/]",
            "accuracy",
            "7",
            0.83,
            "higher",
            ThresholdState.BREACH,
            0.9,
            0.85,
            history[::-1],
            alias="champion",
            challenger_alias="challenger",
            challenger_version="8",
            challenger_value=0.81,
            serving_changed_at=now - timedelta(hours=5),
        ),
        ModelRow(
            source,
            "mlflow",
            "eta",
            "rmse",
            "4",
            3.2,
            "lower",
            ThresholdState.WARNING,
            3.0,
            4.0,
            tuple(MetricPoint(None, v, i) for i, v in enumerate((4.1, 3.8, 3.5, 3.2))),
            alias="champion",
        ),
    )


def sample_model_versions() -> tuple[ModelVersion, ...]:
    now = datetime.now().astimezone()
    return tuple(
        ModelVersion(
            "churn",
            str(n),
            aliases,
            "None",
            "READY",
            created=now - timedelta(days=10 - n),
            run_id=f"{n:032x}",
            run_name=f"train-{n}",
            metrics=(("accuracy", value),),
        )
        for n, aliases, value in (
            (3, ("challenger",), 0.934),
            (2, ("champion",), 0.921),
            (1, (), 0.88),
        )
    )


class FixedModelsSource(Source):
    """An MLflow-like source with fixed rows that records alias moves."""

    kind = "mlflow"
    feeds = ModelsSnapshot
    config_class = MlflowConfig

    def __init__(self, name="registry", *, read_only=False):
        super().__init__(name, refresh=3600, timeout=5)
        self.read_only = read_only
        self.calls: list[tuple] = []
        self.config = type("Cfg", (), {"metrics": ("accuracy",)})()

    def poll(self):
        return ModelsSnapshot(
            self.label,
            "mlflow",
            sample_model_rows(self.label),
            sample_model_versions(),
            ("churn", "[red]fraud[/]", "eta"),
            "champion",
            "challenger",
        )

    # A ModelRegistry whose state stays fixed, as the rows do: the alias moves
    # opsdash.actions.models asks for are recorded, in the dialog's words, not applied.
    serving_alias = "champion"
    _metrics = {"3": 0.934, "2": 0.921, "1": 0.88}

    def model_state(self, model):
        return {"champion": "2", "challenger": "3"}, {"opsdash.previous.champion": "1"}

    def version_metrics(self, model, version):
        return "READY", (("accuracy", self._metrics[version]),)

    def set_alias(self, plan):
        if plan.action == "rollback":
            self.calls.append(("rollback", plan.model))
        else:
            self.calls.append(("promote", plan.model, plan.new_version))

    def set_tag(self, model, key, value):
        pass


def add_sample_deployments(store) -> None:
    """Three services' deploys over 30 days, at whole days before now (stable bars)."""
    from opsdash.store import DeploymentEvent

    now = datetime.now().astimezone()

    def deploy(service, days, hours=0, result="success", kind="app", source="github:shop"):
        at = now - timedelta(days=days, hours=hours)
        store.add_deployment(
            DeploymentEvent(
                at.isoformat(timespec="seconds"),
                service,
                "demo",
                kind,
                "",
                "",
                result,
                source,
                "production",
                f"{service[:2]}{days:02d}{hours:02d}abcdef0123",
                f"sample:{service}:{days}:{hours}",
            )
        )

    for days in (0, 1, 1, 2, 4, 5, 7, 8, 9, 12, 14, 15, 19, 21, 22, 26, 28):
        deploy("shop", days, hours=2)
    deploy("shop", 9, hours=1, result="rolled back", source="container-rollback")
    for days in (3, 10, 17, 24):
        deploy("api", days, hours=5)
    deploy("api", 17, hours=4, result="failed", source="gitlab:api")
    for days in (6, 20):
        deploy("churn", days, hours=3, kind="model", source="model-promote")
    store.open_issue(
        "shop", "docker:demo", "shop-web-1 unhealthy", now - timedelta(days=4, hours=1, minutes=50)
    )
    store.close_issue("shop", "docker:demo", now - timedelta(days=4, hours=1, minutes=20))


def midday_zone() -> str:
    """A whole-hour zone in which it is now 12:00-12:59, so the sample deploys
    (whole days and a few hours before now) fall on the same local dates
    whatever the hour the tests run: at 00:30 in the machine's zone a deploy
    "2 hours ago" would be yesterday's and shift the snapshot's bars."""
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12  # -11..+12
    # Etc/GMT signs are the other way round: Etc/GMT-3 is three hours east.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


# --- container logs, for the logs screen's key tests and snapshots ---

HOSTILE_LOG_LINE = "[bold red]X[/] \x1b]0;TITLE\x07 \x1b[31mred\x1b[0m"


class FakeLogStream:
    """Lines as the engine sends them (split from their stamps when asked for
    timestamps, as `docker_logs.LogStream` does); `fail`: raised after them;
    then open until closed (the logs screen closes it when it goes)."""

    def __init__(self, lines, *, timestamped: bool, fail: str = ""):
        import threading

        self.lines, self.timestamped, self.fail = lines, timestamped, fail
        self._closed = threading.Event()

    def __iter__(self):
        from opsdash.log_lines import split_stamp

        for line in self.lines:
            yield split_stamp(line) if self.timestamped else line.split(" ", 1)[1]
        if self.fail:
            raise RuntimeError(self.fail)
        self._closed.wait()

    def close(self):
        self._closed.set()


def sample_log(name: str) -> list[str]:
    """Stamped lines: web writes on even seconds, worker on odd ones (merged, they
    alternate); lines 1 and 4 say ERROR; the last one is hostile."""
    start = 0 if name == "web" else 1
    lines = []
    for n in range(6):
        text = f"{name} line {n}" + (" ERROR boom" if n in (1, 4) else "")
        lines.append(f"2026-12-03T12:00:{start + 2 * n:02d}.5Z {text}")
    lines.append(f"2026-12-03T12:00:{start + 12:02d}.5Z {name} {HOSTILE_LOG_LINE}")
    return lines


def fake_logs(source: FixedDockerSource, *, failing: str = "") -> list[dict]:
    """Give the fixed source a `logs()` serving `sample_log`; the calls it gets.
    The container named `failing` fails once its lines are read."""
    calls: list[dict] = []
    by_id = {c.id: c.name for c in sample_containers()}

    def logs(container_id, tail=1000, follow=True, *, since=None, timestamps=False):
        name = by_id[container_id]
        calls.append({"name": name, "tail": tail, "since": since, "timestamps": timestamps})
        fail = "No such container: gone" if name == failing else ""
        lines = sample_log(name)[-tail:] if tail else []
        return FakeLogStream(lines, timestamped=timestamps, fail=fail)

    source.logs = logs
    return calls
