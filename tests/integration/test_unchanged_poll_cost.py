"""What an unchanged poll costs per source, counted on the server side.

GitHub, GitLab and Jenkins answer from the replay server (devstack/replay.py),
which records every request; Buildbot, MLflow and Prometheus are the real
servers behind a counting proxy (devstack/counting_proxy.py). Each source is
polled once to warm its caches, then again with nothing changed: the second
poll's requests are the figure docs/benchmarks.md shows ("Unchanged poll cost
per source"). Run with -s to print the table.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devstack.counting_proxy import CountingProxy
from devstack.replay import Reply, load_fixture
from opsdash.sources.buildbot import BuildbotConfig
from opsdash.sources.github import GitHubConfig
from opsdash.sources.gitlab import GitLabConfig
from tests.integration.test_github_replay import FIXTURES as GITHUB
from tests.integration.test_github_replay import FIXTURES_NOW, REPO, RUNS
from tests.integration.test_gitlab_replay import API, SHA_B
from tests.integration.test_gitlab_replay import fixture as gitlab_fixture
from tests.integration.test_jenkins_replay import make_source as jenkins_source
from tests.integration.test_jenkins_replay import route_jobs
from tests.integration.test_mlflow_real import config as mlflow_config
from tests.integration.test_mlflow_real import mlflow  # noqa: F401 - the module's server
from tests.integration.test_prometheus_real import config as prometheus_config
from tests.integration.test_prometheus_real import exporter, prometheus  # noqa: F401

# Upper bounds of an unchanged poll; the measured figures are printed.
LIMITS = {
    "github": 2,
    "gitlab": 2,
    "jenkins": 2,
    "buildbot": 6,
    "mlflow": 8,
    "prometheus": 2,
    # DAGs, import errors, runs changed since; a run of another test finishing
    # meanwhile adds the one batch request for its tasks.
    "airflow": 4,
}
MEASURED: dict[str, tuple[int, int, str]] = {}


def unchanged_cost(name: str, source, count, setup: str) -> int:
    try:
        source.poll()
        first = count()
        source.poll()
        again = count() - first
    finally:
        source.close()
    MEASURED[name] = (first, again, setup)
    print(f"\n| {name} | {setup} | {first} | {again} |")
    assert again <= LIMITS[name]
    return again


def test_github(server):
    from opsdash.sources.github import GitHubSource

    server.add("GET", RUNS, load_fixture(GITHUB / "workflow_runs_deploy.json"))
    server.add("GET", f"{REPO}/deployments", load_fixture(GITHUB / "deployments.json"))
    for deployment, state in ((1400003, "success"), (1400002, "failure"), (1400001, "success")):
        reply = load_fixture(GITHUB / f"deployment_statuses_{state}.json")
        server.add("GET", f"{REPO}/deployments/{deployment}/statuses", reply)
    config = GitHubConfig(
        name="shop",
        url=server.url,
        project="acme/shop",
        token="t",
        deploy="deploy.yml",
        environments=("production",),
        timeout=5.0,
    )
    source = GitHubSource(config)
    source.clock = lambda: FIXTURES_NOW
    setup = "runs of all workflows, deploy workflow, 3 deployments of 1 environment"
    unchanged_cost("github", source, lambda: len(server.requests), setup)
    later = server.requests[-2:]
    assert all(r.headers.get("if-none-match") for r in later)  # 304s: free of rate limit


def test_gitlab(server):
    from opsdash.sources.gitlab import GitLabSource

    statuses = ["manual", "running", "created", "success", "failed", "canceled"]
    items = [
        {
            "id": 2000 + i,
            "iid": 500 + i,
            "status": statuses[i % len(statuses)],
            "ref": "main",
            "sha": SHA_B,
            "updated_at": "2025-11-28T09:05:50.185Z",
        }
        for i in range(30, 0, -1)
    ]
    server.add("GET", f"{API}/pipelines", Reply(200, items))
    for item in items:
        server.add("GET", f"{API}/pipelines/{item['id']}", Reply(200, item))
        server.add("GET", f"{API}/pipelines/{item['id']}/jobs", gitlab_fixture("jobs.json"))
    server.add("GET", f"{API}/repository/commits/{SHA_B}", gitlab_fixture("commit.json"))
    server.add("GET", f"{API}/deployments", gitlab_fixture("deployments.json"))
    config = GitLabConfig(
        name="shop",
        url=server.url,
        project="acme/shop",
        token="t",
        runs=30,
        deploy="deploy",
        environments=("production",),
        timeout=5.0,
    )
    setup = "30 pipelines (10 manual, running or created), deploy job, 1 environment"
    unchanged_cost("gitlab", GitLabSource(config), lambda: len(server.requests), setup)


def test_jenkins(server):
    route_jobs(server)
    setup = "1 job and the deploy job, 10 builds"
    unchanged_cost("jenkins", jenkins_source(server), lambda: len(server.requests), setup)


def test_buildbot_real(buildbot):
    from opsdash.sources.buildbot import BuildbotSource

    with CountingProxy(buildbot.url) as proxy:
        config = BuildbotConfig(name="bb", url=proxy.url, deploy="deploy", timeout=10)
        setup = "real master, its builders, deploy builder"
        unchanged_cost("buildbot", BuildbotSource(config), proxy.count, setup)


def test_mlflow_real(mlflow):  # noqa: F811
    from opsdash.sources.mlflow import MlflowSource

    with CountingProxy(mlflow.url) as proxy:
        config = mlflow_config(mlflow)
        source = MlflowSource(type(config)(**{**vars_of(config), "url": proxy.url}))
        setup = "real server, seeded model churn v1..v3, 2 metrics"
        unchanged_cost("mlflow", source, proxy.count, setup)


def test_prometheus_real(prometheus):  # noqa: F811
    from opsdash.sources.prometheus import PrometheusSource

    with CountingProxy(prometheus.url) as proxy:
        config = prometheus_config(prometheus)
        source = PrometheusSource(type(config)(**{**vars_of(config), "url": proxy.url}))
        setup = "real server, one query with a trend"
        unchanged_cost("prometheus", source, proxy.count, setup)


def test_airflow_real(airflow):
    from opsdash.sources.airflow import AirflowConfig, AirflowSource

    with CountingProxy(airflow.url) as proxy:
        config = AirflowConfig(
            name="af", url=proxy.url, user=airflow.username, password=airflow.password, timeout=10
        )
        setup = "real Airflow 3, the test DAGs and their runs, JWT login"
        unchanged_cost("airflow", AirflowSource(config), proxy.count, setup)


def vars_of(config) -> dict:
    from dataclasses import fields

    return {f.name: getattr(config, f.name) for f in fields(config)}


@pytest.fixture(autouse=True, scope="module")
def _table():
    yield
    if MEASURED:
        print(f"\nunchanged poll cost, {datetime.now(UTC):%Y-%m-%d}")
        print("| source | setup | first poll | unchanged poll |")
        for name, (first, again, setup) in MEASURED.items():
            print(f"| {name} | {setup} | {first} | {again} |")
