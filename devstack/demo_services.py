"""Pipelines and models for the demo and the screenshots, from real servers.

- Buildbot (devstack.buildbot_server): a master and worker with a few builds
  forced: successes, a failure, a deploy on main, one still running.
- GitHub Actions: a ReplayServer answering `GET /repos/acme/shop/actions/runs`
  (and jobs, logs, rerun/cancel/dispatch) with runs shaped as GitHub documents
  them (https://docs.github.com/en/rest/actions/workflow-runs), since GitHub
  cannot run here.
- MLflow (devstack.mlflow_server), seeded: churn v1..v3 with champion and
  challenger aliases.
- Prometheus (devstack.prometheus_server) scraping an exporter whose fraud
  model has dropped below its breach threshold.
- Kubernetes: two contexts on the API emulator (devstack.kube_demo).
- Kubeflow Pipelines: the KFP v2beta1 emulator (devstack.kubeflow), seeded
  with TFX runs (blessed, not blessed, push failed), one running, one failed.
- Airflow 3 (devstack.airflow_demo): TFX-shaped training runs (blessed and
  pushed, not blessed), a failed and a running run; MLflow's churn v3 is
  tagged with the blessed run, so the model screen shows where it came from.

Everything listens on 127.0.0.1 and is stopped by `close()`. Stdlib only
(plus opsdash's config records, to hand back ready-made source configs).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devstack.airflow_demo import AirflowDemo, link_model, start_demo_airflow
from devstack.buildbot_server import BuildbotServer
from devstack.buildbot_server import available as buildbot_available
from devstack.kube_demo import start_demo_clusters
from devstack.kubeflow import KubeflowServer
from devstack.mlflow_server import MlflowServer, mlflow_binary, seed
from devstack.prometheus_server import Exporter, PrometheusServer, prometheus_binary
from devstack.replay import ReplayServer, Reply
from opsdash.sources.airflow import AirflowConfig
from opsdash.sources.buildbot import BuildbotConfig
from opsdash.sources.github import GitHubConfig
from opsdash.sources.kubeflow import KubeflowConfig
from opsdash.sources.kubernetes import KubernetesConfig
from opsdash.sources.mlflow import MlflowConfig
from opsdash.sources.prometheus import PrometheusConfig

GITHUB_REPO = "acme/shop"
GITHUB_TOKEN = "demo-token-not-a-secret"  # the replay server ignores it; never shown anyway
KUBEFLOW_TOKEN = "demo-kfp-token-x3"  # the KFP emulator requires it; never shown
_HOSTILE_MESSAGE = "Fix checkout [bold red]not markup[/] \x1b]0;pwned\x07title"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def github_run(
    run_id: int,
    number: int,
    name: str,
    path: str,
    status: str,
    conclusion: str | None,
    minutes_ago: float,
    took_s: float | None,
    message: str,
    branch: str = "main",
    event: str = "push",
    actor: str = "octocat",
) -> dict[str, Any]:
    """One `workflow-run` object with the fields GitHub documents and opsdash reads."""
    started = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    updated = started + timedelta(seconds=took_s or 0)
    sha = hashlib.sha1(str(run_id).encode()).hexdigest()  # stable, looks like a commit
    return {
        "id": run_id,
        "name": name,
        "path": path,
        "display_title": message.splitlines()[0],
        "run_number": number,
        "run_attempt": 1,
        "event": event,
        "status": status,
        "conclusion": conclusion,
        "workflow_id": 100 + len(path),
        "head_branch": branch,
        "head_sha": sha,
        "head_commit": {"id": sha, "message": message, "author": {"name": actor}},
        "actor": {"login": actor},
        "triggering_actor": {"login": actor},
        "created_at": _iso(started),
        "run_started_at": _iso(started),
        "updated_at": _iso(updated),
        "html_url": f"https://github.com/{GITHUB_REPO}/actions/runs/{run_id}",
        "jobs_url": f"https://api.github.com/repos/{GITHUB_REPO}/actions/runs/{run_id}/jobs",
    }


def github_runs() -> list[dict[str, Any]]:
    ci, deploy = ".github/workflows/ci.yml", ".github/workflows/deploy.yml"
    return [
        github_run(9007, 212, "CI", ci, "in_progress", None, 3, None, "Cache the cart totals"),
        github_run(9006, 211, "CI", ci, "completed", "failure", 25, 312, _HOSTILE_MESSAGE),
        github_run(
            9005,
            58,
            "Deploy",
            deploy,
            "completed",
            "success",
            70,
            95,
            "Release 2.4.1",
            event="workflow_dispatch",
        ),
        github_run(9004, 210, "CI", ci, "completed", "success", 90, 281, "Release 2.4.1"),
        github_run(
            9003,
            209,
            "CI",
            ci,
            "completed",
            "cancelled",
            200,
            40,
            "WIP search",
            branch="feature/search",
            actor="hubot",
        ),
        *month_of_deploys(deploy),
    ]


def month_of_deploys(path: str) -> list[dict[str, Any]]:
    """Deploy runs every two days or so over a month (one failed), so the
    Deployments panel has a history to show."""
    return [
        github_run(
            8900 + n,
            57 - n,
            "Deploy",
            path,
            "completed",
            "failure" if n == 6 else "success",
            (n * 2 + 1) * 24 * 60 + 37 * n,
            80 + n,
            f"Release 2.{3 - n // 5}.{n % 5}",
            event="workflow_dispatch",
        )
        for n in range(1, 14)
    ]


def github_jobs(run_id: int) -> dict[str, Any]:
    now = datetime.now(UTC) - timedelta(minutes=25)

    def job(job_id: int, name: str, conclusion: str, seconds: int) -> dict[str, Any]:
        return {
            "id": job_id,
            "run_id": run_id,
            "name": name,
            "status": "completed",
            "conclusion": conclusion,
            "started_at": _iso(now),
            "completed_at": _iso(now + timedelta(seconds=seconds)),
            "steps": [],
            "html_url": f"https://github.com/{GITHUB_REPO}/actions/runs/{run_id}/job/{job_id}",
        }

    jobs = [job(1, "lint", "success", 31), job(2, "test (3.11)", "failure", 248)]
    return {"total_count": len(jobs), "jobs": jobs}


class DemoServices:
    """Starts what is installed; `configs()` returns the sources to point opsdash at."""

    def __init__(self, base_dir: Path | None = None, *, log=print):
        self._own_dir = base_dir is None
        self.base_dir = base_dir or Path(tempfile.mkdtemp(prefix="opsdash-demo-"))
        self.log = log
        self.buildbot: BuildbotServer | None = None
        self.github: ReplayServer | None = None
        self.mlflow: MlflowServer | None = None
        self.exporter: Exporter | None = None
        self.prometheus: PrometheusServer | None = None
        self.kube: dict[str, Any] = {}  # context -> its API emulator
        self.airflow: AirflowDemo | None = None
        self.kubeflow: KubeflowServer | None = None
        self.seeded: Any = None  # what MLflow was seeded with
        self.kubeconfig: Path | None = None
        self._stack = contextlib.ExitStack()

    def start(self) -> DemoServices:
        try:
            self.kube, self.kubeconfig = start_demo_clusters(self.base_dir, self._stack)
            self._start_github()
            self.kubeflow = self._stack.enter_context(KubeflowServer(tokens={KUBEFLOW_TOKEN: None}))
            if buildbot_available():
                self._start_buildbot()
            else:
                self.log("Buildbot is not installed (scripts/test installs it): skipped")
            if mlflow_binary() is not None:
                self.log("starting MLflow (about 10 s)")
                self.mlflow = self._stack.enter_context(MlflowServer(self.base_dir / "mlflow"))
                self.seeded = seed(self.mlflow.url)
            else:
                self.log("MLflow is not installed (scripts/test installs it): skipped")
            self.airflow = start_demo_airflow(self.base_dir, self._stack, self.log)
            if self.airflow is not None and self.mlflow is not None:
                link_model(self.airflow, self.mlflow.url, "churn", self.seeded.versions["train-v3"])
            if prometheus_binary() is not None:
                self._start_prometheus()
            else:
                self.log("prometheus is not installed (apt-get install prometheus): skipped")
        except BaseException:
            self.close()
            raise
        return self

    def _start_github(self) -> None:
        self.github = self._stack.enter_context(ReplayServer())
        base = f"/repos/{GITHUB_REPO}/actions"
        self.github.add(
            "GET",
            f"{base}/runs",
            lambda _request: Reply(
                200,
                {"total_count": len(github_runs()), "workflow_runs": github_runs()},
                {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4987"},
            ),
        )
        for run in (9003, 9004, 9005, 9006, 9007):
            self.github.add("GET", f"{base}/runs/{run}/jobs", Reply(200, github_jobs(run)))
            self.github.add("POST", f"{base}/runs/{run}/rerun", Reply(201, {}))
            self.github.add("POST", f"{base}/runs/{run}/rerun-failed-jobs", Reply(201, {}))
            self.github.add("POST", f"{base}/runs/{run}/cancel", Reply(202, {}))
        self.github.add("GET", f"{base}/jobs/2/logs", Reply(302, None, {"Location": "{url}/log/2"}))
        self.github.add(
            "GET",
            "/log/2",
            Reply(
                200, "collected 214 items\n\x1b[31mFAILED\x1b[0m tests/test_cart.py::test_totals\n"
            ),
        )
        self.github.add("POST", f"{base}/workflows/deploy.yml/dispatches", Reply(204))

    def _start_buildbot(self) -> None:
        self.log("starting Buildbot (a few seconds)")
        self.buildbot = self._stack.enter_context(BuildbotServer(self.base_dir / "buildbot"))
        bb = self.buildbot
        for scheduler, fields in (
            ("force", {}),
            ("force-fails", {}),
            ("deploy", {"branch": "main"}),
            ("force", {}),
        ):
            request = bb.force(scheduler, **fields)
            bb.wait_build(request["buildrequestid"], complete=True, timeout=60)
        bb.force("force-slow")  # still running when the screenshots are taken

    def _start_prometheus(self) -> None:
        self.exporter = self._stack.enter_context(Exporter())
        self.exporter.set(0.962, model="churn", version="2")
        self.exporter.set(0.81, model="fraud", version="7")  # below its 0.85 breach line
        self.prometheus = self._stack.enter_context(
            PrometheusServer(self.base_dir / "prometheus", targets=(self.exporter.target,))
        )
        self.log("waiting for Prometheus' first scrape (about 5 s)")
        self.prometheus.wait_for('model_accuracy{model="fraud"}')

    def configs(self) -> tuple[Any, ...]:
        """The source configs of the running services, in the order opsdash builds them."""
        pipelines: list[Any] = []
        if self.github is not None:
            pipelines.append(
                GitHubConfig(
                    name="shop",
                    url=self.github.url,
                    project=GITHUB_REPO,
                    token=GITHUB_TOKEN,
                    deploy="deploy.yml",
                    deploy_branch="main",
                    refresh=2.0,
                    timeout=5,
                )
            )
        if self.buildbot is not None:
            pipelines.append(
                BuildbotConfig(
                    name="buildbot",
                    url=self.buildbot.url,
                    deploy="deploy",
                    deploy_branch="main",
                    refresh=1.0,
                    timeout=5,
                )
            )
        if self.airflow is not None:
            pipelines.append(
                AirflowConfig(
                    name="ml",
                    url=self.airflow.server.url,
                    user=self.airflow.server.username,
                    password=self.airflow.server.password,
                    training="opsdash_tfx",
                    service="churn",
                    refresh=1.0,
                    timeout=5,
                )
            )
        if self.kubeflow is not None:
            pipelines.append(
                KubeflowConfig(
                    name="kfp",
                    url=self.kubeflow.url,
                    token=KUBEFLOW_TOKEN,
                    namespace="team-a",
                    refresh=1.0,
                    timeout=5,
                )
            )
        mlflow = (
            (
                MlflowConfig(
                    name="registry",
                    url=self.mlflow.url,
                    warning=(("accuracy", 0.9),),
                    breach=(("accuracy", 0.85),),
                    refresh=2.0,
                    timeout=5,
                ),
            )
            if self.mlflow is not None
            else ()
        )
        prometheus = (
            (
                PrometheusConfig(
                    name="prod",
                    url=self.prometheus.url,
                    query="model_accuracy",
                    warning=0.9,
                    breach=0.85,
                    trend=300,
                    refresh=1.0,
                    timeout=5,
                ),
            )
            if self.prometheus is not None
            else ()
        )
        kube = tuple(
            KubernetesConfig(
                name=context,
                context=context,
                kubeconfig=str(self.kubeconfig),
                refresh=1.0,
                timeout=5,
            )
            for context in self.kube
        )
        return (*kube, *pipelines, *mlflow, *prometheus)

    def close(self) -> None:
        self._stack.close()
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> DemoServices:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    with DemoServices() as services:
        for config in services.configs():
            print(f"{type(config).__name__}: {config.url}")
        print("running; Ctrl-C stops everything")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
