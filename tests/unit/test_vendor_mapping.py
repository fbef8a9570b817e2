"""Vendor JSON to records, without a server: the pure `*_map` functions on the
bodies the replay tests serve (tests/fixtures/<vendor>/*.json), and on bodies
shaped as Buildbot and MLflow document them (their tests run real servers, so
there are no recordings)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsdash.model import PipelineRun, RunStatus
from opsdash.sources import buildbot_map, github_map, gitlab_map, jenkins_map, mlflow_map
from opsdash.sources.base import SourceError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def body(name: str):
    return json.loads((FIXTURES / name).read_text())["body"]


# --- GitHub -------------------------------------------------------------------


def test_github_runs_map_status_conclusion_and_attempt():
    raws = body("github/runs_page1.json")["workflow_runs"]
    runs = [
        github_map.run_from(
            raw,
            source="github:shop",
            project="acme/shop",
            is_deploy=lambda path, _id, branch: path.endswith("deploy.yml") and branch == "main",
        )
        for raw in raws
    ]
    assert [(r.id, r.pipeline, r.status) for r in runs] == [
        ("30433642", "CI", RunStatus.RUNNING),
        ("30433641", "Deploy", RunStatus.SUCCESS),
        ("30433640", "CI", RunStatus.FAILED),
    ]
    running, deploy, timed_out = runs
    assert running.finished is None and running.vendor_status == "in_progress"
    assert "\n" not in running.message and running.number == 412
    assert deploy.is_deploy and not running.is_deploy
    assert timed_out.vendor_status == "completed/timed_out" and timed_out.attempt == 2
    assert running.created == datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    assert all(r.provider == "github" and r.project == "acme/shop" for r in runs)


def test_github_jobs_keep_their_steps():
    jobs = [github_map.job_from(raw) for raw in body("github/jobs.json")["jobs"]]
    assert [(j.id, j.status) for j in jobs] == [
        ("399444496", RunStatus.SUCCESS),
        ("399444497", RunStatus.FAILED),
        ("399444498", RunStatus.QUEUED),
    ]
    assert len(jobs[0].steps) == 4 and jobs[2].steps == () and jobs[2].started is None


def test_github_deployment_settles_with_its_status():
    deployment = body("github/deployments.json")[0]
    success = body("github/deployment_statuses_success.json")[0]
    running = body("github/deployment_statuses_in_progress.json")[0]
    done = github_map.deployment_from(deployment, success, source="github:shop", service="shop")
    assert done is not None
    assert done.id == f"deployment:{deployment['id']}" and done.result == "success"
    assert done.at == datetime(2026, 3, 1, 9, 47, 30, tzinfo=UTC)
    assert github_map.deployment_from(deployment, running, source="s", service="shop") is None
    assert github_map.deployment_from(deployment, None, source="s", service="shop") is None
    inactive = {**success, "state": "inactive"}
    superseded = github_map.deployment_from(deployment, inactive, source="s", service="shop")
    assert superseded is not None and superseded.result == "success"
    assert superseded.at == github_map.parse_time(deployment["created_at"])


def test_github_run_deployment_is_dated_when_the_run_finished():
    raw = body("github/runs_page1.json")["workflow_runs"][1]
    run = github_map.run_from(raw, source="github:shop", project="acme/shop")
    deployment = github_map.run_deployment(run, "shop", "production")
    assert deployment.id == "run:30433641" and deployment.at == run.finished
    assert deployment.version == run.sha and deployment.source == "github:shop"


def test_github_bad_shapes_raise_what_the_source_turns_into_one_line():
    with pytest.raises(KeyError):
        github_map.run_from({"id": 1}, source="s", project="p")
    with pytest.raises(ValueError, match="bad timestamp"):
        github_map.parse_time("yesterday")


# --- GitLab -------------------------------------------------------------------


def test_gitlab_listed_pipeline_with_its_details():
    listed = {p["id"]: p for p in body("gitlab/pipelines_page1.json")}
    detail = body("gitlab/pipeline.json")
    run = gitlab_map.run_from(
        listed[1003],
        detail,
        source="gitlab:shop",
        project="group/shop",
        web="https://gitlab.example.com",
        title="Fix it",
        is_deploy=True,
    )
    assert (run.id, run.number, run.status, run.actor) == ("1003", 143, RunStatus.SUCCESS, "root")
    assert run.message == "Fix it" and run.is_deploy and run.finished is not None
    thin = gitlab_map.run_from(
        listed[1004], {}, source="s", project="group/shop", web="https://gitlab.example.com"
    )
    assert thin.status is RunStatus.RUNNING and thin.actor == ""
    assert thin.url.startswith("http")


def test_gitlab_jobs_in_creation_order_with_allowed_failures():
    jobs = gitlab_map.jobs_from(body("gitlab/jobs.json"))
    assert [j.id for j in jobs] == ["7001", "7002", "7003"]
    assert jobs[1].vendor_status == "failed (allowed)" and jobs[1].status is RunStatus.FAILED


def test_gitlab_only_finished_deployments_count():
    deployments = gitlab_map.deployments_from(
        body("gitlab/deployments.json"), source="s", service="shop", environment="production"
    )
    assert [(d.id, d.result, d.environment) for d in deployments] == [
        ("deployment:41", "success", "production")
    ]


# --- Jenkins ------------------------------------------------------------------


def test_jenkins_builds_map_results_revisions_and_causes():
    builds = body("jenkins/job_app.json")["builds"]
    runs = {
        b["number"]: jenkins_map.run_from(
            "shop/app", b, source="jenkins:ci", root="https://jenkins.example.com"
        )
        for b in builds
    }
    assert {n: r.status for n, r in runs.items()} == {
        45: RunStatus.RUNNING,
        44: RunStatus.FAILED,
        43: RunStatus.CANCELLED,
        42: RunStatus.SUCCESS,
        41: RunStatus.FAILED,
    }
    ok = runs[42]
    assert ok.id == "shop/app#42" and ok.sha == "2" * 40 and ok.branch == "main"
    assert ok.event == "push" and ok.finished is not None and runs[45].finished is None


def test_jenkins_stages_and_a_build_without_them():
    run = jenkins_map.run_from(
        "shop/app", body("jenkins/job_app.json")["builds"][3], source="s", root="https://j"
    )
    stages = jenkins_map.jobs_from(body("jenkins/wfapi_describe.json"), run)
    assert [(j.name.split(" ")[0], j.status) for j in stages] == [
        ("Build", RunStatus.SUCCESS),
        ("Test", RunStatus.FAILED),
        ("Deploy", RunStatus.SKIPPED),
    ]
    (whole,) = jenkins_map.jobs_from(None, run)
    assert whole.id == "build" and whole.status is run.status


# --- Buildbot (bodies shaped as /api/v2 sends them) -----------------------------


def test_buildbot_build_request_and_steps():
    build = {
        "buildid": 7,
        "builderid": 1,
        "number": 3,
        "results": 2,
        "complete": True,
        "started_at": 1764320000,
        "complete_at": 1764320060,
        "state_string": "failed test",
        "properties": {
            "branch": ["main", "Build"],
            "revision": ["abc123", "Build"],
            "scheduler": ["force-deploy", "Scheduler"],
        },
    }
    run = buildbot_map.run_from(
        build,
        source="buildbot:ci",
        project="master",
        builders={1: "app"},
        forced={"force-deploy"},
        www="http://bb",
    )
    assert (run.id, run.pipeline, run.status, run.vendor_status) == (
        "7",
        "app",
        RunStatus.FAILED,
        "failure",
    )
    assert (
        run.event == "force"
        and run.sha == "abc123"
        and run.url == "http://bb/#/builders/1/builds/3"
    )
    queued = buildbot_map.queued_from(
        {"buildrequestid": 9, "builderid": 2, "submitted_at": 1764320000},
        {"reason": "because", "sourcestamps": [{"branch": "dev", "revision": "def"}]},
        source="s",
        project="master",
        builders={},
        www="http://bb",
    )
    assert (queued.id, queued.pipeline, queued.status, queued.branch) == (
        "req-9",
        "builder 2",
        RunStatus.QUEUED,
        "dev",
    )
    steps = [
        {"stepid": 1, "number": 0, "name": "checkout", "complete": True, "results": 0,
         "started_at": 1764320000, "complete_at": 1764320010},
        {"stepid": 2, "number": 1, "name": "hidden", "hidden": True},
        {"stepid": 3, "number": 2, "name": "test", "complete": False},
    ]  # fmt: skip
    jobs = buildbot_map.jobs_from(steps, run)
    assert [(j.id, j.status) for j in jobs] == [("1", RunStatus.SUCCESS), ("3", RunStatus.QUEUED)]


# --- MLflow (bodies shaped as /api/2.0/mlflow sends them) -------------------------


def test_mlflow_run_history_and_version():
    run = mlflow_map.run_from(
        {
            "run": {
                "info": {"run_name": "r1", "status": "FINISHED"},
                "data": {"metrics": [{"key": "accuracy", "value": 0.93, "step": 4}]},
            }
        }
    )
    assert run == {
        "run_name": "r1",
        "status": "FINISHED",
        "metrics": {"accuracy": 0.93},
        "tags": {},
    }
    history = mlflow_map.history_from(
        {
            "metrics": [
                {"key": "accuracy", "value": 0.9, "step": 2, "timestamp": 1764320002000},
                {"key": "accuracy", "value": 0.8, "step": 1, "timestamp": 1764320001000},
            ]
        }
    )
    assert [p.value for p in history] == [0.8, 0.9]
    version = mlflow_map.version_from(
        "churn",
        {"version": "3", "status": "READY", "run_id": "r", "tags": [{"key": "k", "value": "v"}]},
        {"3": ["challenger"]},
        run,
        ("accuracy", "rmse"),
    )
    assert version.aliases == ("challenger",) and version.tags == (("k", "v"),)
    assert version.metrics == (("accuracy", 0.93),) and version.run_name == "r1"


def test_mlflow_lineage_tags_come_from_the_version_or_its_run():
    run = mlflow_map.run_from(
        {
            "run": {
                "info": {"run_name": "r1", "status": "FINISHED"},
                "data": {
                    "tags": [
                        {"key": "airflow.dag_id", "value": "train_churn"},
                        {"key": "airflow.dag_run_id", "value": "manual__2026-03-01"},
                        {"key": "mlflow.user", "value": "ci"},
                        {"key": "train_run", "value": "from-run"},
                    ]
                },
            }
        }
    )
    raw = {"version": "4", "tags": [{"key": "train_run", "value": "from-version"}]}
    version = mlflow_map.version_from(
        "churn", raw, {}, run, ("accuracy",), ("airflow.dag_run_id", "airflow.dag_id", "train_run")
    )
    assert version.lineage == (
        ("airflow.dag_id", "train_churn"),
        ("airflow.dag_run_id", "manual__2026-03-01"),
        ("train_run", "from-version"),  # the version's own tag wins
    )
    unread = mlflow_map.version_from("churn", raw, {}, None, (), ("train_run", "kfp.run_id"))
    assert unread.lineage == (("train_run", "from-version"),)
    assert mlflow_map.configured_run_tags([version, unread]) == ("train_run",)


def test_mlflow_rollback_record_is_read_from_tags():
    model = {
        "name": "churn",
        "aliases": [{"alias": "champion", "version": "3"}],
        "tags": [
            {"key": "opsdash.previous.champion", "value": "2"},
            {"key": "opsdash.set.champion", "value": "3"},
            {"key": "opsdash.changed.champion", "value": "2026-03-01T10:00:00+00:00"},
        ],
    }
    aliases, tags = mlflow_map.aliases_and_tags(model)
    assert aliases == {"champion": "3"}
    assert mlflow_map.recorded(tags, "champion", "3") == (
        datetime(2026, 3, 1, 10, tzinfo=UTC),
        "2",
    )
    assert mlflow_map.recorded(tags, "champion", "4") == (None, "")  # moved outside opsdash
    with pytest.raises(SourceError):
        mlflow_map.normalize_version("latest")


def test_records_are_the_model_types():
    raw = body("github/runs_page1.json")["workflow_runs"][0]
    assert isinstance(github_map.run_from(raw, source="s", project="p"), PipelineRun)


def test_mlflow_rows_compare_serving_with_challenger_against_thresholds():
    from opsdash.model.ml import ThresholdState
    from opsdash.sources.mlflow import MlflowConfig

    config = MlflowConfig(
        name="registry",
        url="http://mlflow",
        metrics=("accuracy", "rmse"),
        lower_is_better=("rmse",),
        warning=(("accuracy", 0.9),),
        breach=(("accuracy", 0.85),),
    )
    run = {"run_name": "r", "status": "FINISHED", "metrics": {"accuracy": 0.88}}
    better = {**run, "metrics": {"accuracy": 0.95}}
    versions = [
        mlflow_map.version_from(
            "churn", {"version": "3", "run_id": "b"}, {}, better, ("accuracy",)
        ),
        mlflow_map.version_from("churn", {"version": "2", "run_id": "a"}, {}, run, ("accuracy",)),
    ]
    rows = mlflow_map.model_rows_from(
        source="mlflow:registry",
        name="churn",
        config=config,
        alias_of={"champion": "2", "challenger": "3"},
        tags={"opsdash.previous.champion": "1"},
        versions=versions,
        serving="2",
        trends={},
    )
    accuracy, rmse = rows
    assert (accuracy.version, accuracy.value, accuracy.state) == ("2", 0.88, ThresholdState.WARNING)
    assert accuracy.challenger_version == "3" and accuracy.challenger_value == 0.95
    assert accuracy.previous_version == "1" and accuracy.kind == "mlflow"
    assert rmse.direction == "lower" and rmse.note == "v2 logged no rmse"
