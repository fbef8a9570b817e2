"""Airflow's JSON as opsdash's model, on replies recorded from a real Airflow
3.3.2 (tests/fixtures/airflow, each with its doc URL) and on Airflow 2 shapes
from the v1 API reference; the run window, the JWT's expiry and which
orchestrator runs are deployments."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsdash.model import PipelineJob, PipelineRun, RunStatus
from opsdash.model.lineage import link, vendor_run_id
from opsdash.model.ml import ModelVersion
from opsdash.sources import airflow_map as amap
from opsdash.sources.airflow import AirflowConfig
from opsdash.sources.airflow_auth import expiry_of
from opsdash.sources.airflow_runs import RunWindow
from opsdash.sources.orchestrator import deployment_of, reached_push

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "airflow"
WWW = "http://airflow.example:8080"
TRAINING = AirflowConfig(name="af", url=WWW, training="opsdash_tfx")


def body(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())["body"]


def runs() -> list[PipelineRun]:
    return [
        amap.run_from(r, source="airflow:af", project="af", www=WWW, flags=TRAINING.flags)
        for r in body("dag_runs")["dag_runs"]
    ]


def test_dags_with_paused_state_tags_owners_and_schedule():
    dags = {
        d.id: d
        for d in (
            amap.dag_from(raw, source="airflow:af", www=WWW, flags=TRAINING.flags)
            for raw in body("dags")["dags"]
        )
    }
    tfx = dags["opsdash_tfx"]
    assert tfx.paused is False and tfx.tags == ("opsdash", "tfx") and tfx.owners == "ml-team"
    assert tfx.schedule == "Never, external triggers only" and tfx.is_training
    assert tfx.url == f"{WWW}/dags/opsdash_tfx" and not tfx.problem


def test_runs_keep_their_dag_in_the_id_and_their_conf_as_json():
    by_dag = {r.pipeline: r for r in runs()}
    tfx = by_dag["opsdash_tfx"]
    assert tfx.id.startswith("opsdash_tfx/manual__") and vendor_run_id(tfx).startswith("manual__")
    assert tfx.status is RunStatus.SUCCESS and tfx.event == "manual" and tfx.actor == "admin"
    assert tfx.duration_s() and tfx.is_training and dict(tfx.parameters) == {"bless": "true"}
    assert dict(by_dag["opsdash_ok"].parameters) == {"model": '"[bold]x[/]"'}
    assert by_dag["opsdash_fails"].status is RunStatus.FAILED
    assert "/runs/manual__2026-12-02T16%3A05%3A05" in tfx.url  # the run id, one path segment


def test_task_instances_tries_operators_and_states():
    jobs = [amap.job_from(t) for t in body("task_instances_tfx")["task_instances"]]
    assert [j.name for j in jobs][:3] == ["CsvExampleGen", "StatisticsGen", "SchemaGen"]
    assert all(j.operator == "PythonOperator" and j.attempt == 1 for j in jobs)
    mapped = amap.job_from(
        {"task_id": "score", "map_index": 2, "state": "up_for_retry", "try_number": 3}
    )
    assert (mapped.name, mapped.id, mapped.status) == ("score [2]", "score#2", RunStatus.RUNNING)
    assert amap.task_address(mapped) == ("score", 2) and mapped.attempts == 3
    blocked = amap.job_from({"task_id": "Pusher", "state": "upstream_failed"})
    assert blocked.status is RunStatus.SKIPPED and blocked.vendor_status == "upstream_failed"
    assert amap.job_from({"task_id": "x", "state": None}).vendor_status == "no status"


def test_a_structured_log_reads_as_lines_with_the_exception():
    text = amap.log_text(body("log_failed_task"))
    assert "INFO Command exited with return code 1" in text
    assert "AirflowException: Bash command failed" in text
    assert "::endgroup::" not in text and "-- Post Execute --" in text
    assert amap.log_text({"content": "plain v1 text\n"}) == "plain v1 text\n"


def test_import_errors_make_one_note():
    errors = body("import_errors")
    note = amap.import_error_note(errors["import_errors"], errors["total_entries"])
    assert note.startswith("1 DAG file fails to import: broken_dag.py (RuntimeError")
    assert amap.import_error_note([], 0) == ""


def test_blessing_words():
    assert amap.blessing_of(body("xcom_blessing")["value"]) is True
    assert amap.blessing_of("NOT_BLESSED") is False
    assert amap.blessing_of({"blessed": 0}) is False
    assert amap.blessing_of("maybe") is None


def test_airflow_2_shapes():
    run = amap.run_from(
        {
            "dag_id": "etl",
            "dag_run_id": "scheduled__2026-12-01T00:00:00+00:00",
            "execution_date": "2026-12-01T00:00:00+00:00",
            "logical_date": "2026-12-01T00:00:00+00:00",
            "start_date": "2026-12-02T00:00:03+00:00",
            "end_date": None,
            "state": "running",
            "run_type": "scheduled",
            "external_trigger": False,
            "conf": {},
        },
        source="airflow:old",
        project="old",
        www=WWW,
    )
    assert run.status is RunStatus.RUNNING and run.finished is None and run.event == "scheduled"
    dag = amap.dag_from(
        {
            "dag_id": "etl",
            "is_paused": True,
            "tags": [{"name": "etl"}],
            "owners": ["data"],
            "schedule_interval": {"__type": "CronExpression", "value": "0 3 * * *"},
            "next_dagrun": "2026-12-03T03:00:00+00:00",
        },
        source="airflow:old",
        www=WWW,
    )
    assert dag.paused is True and dag.schedule == "0 3 * * *" and dag.next_run is not None


def test_the_window_keeps_the_newest_and_merges_deltas():
    window = RunWindow(2, full_every=3)
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert window.wants_full()

    def raw(dag, n, state="success"):
        return {"dag_id": dag, "dag_run_id": f"r{n}", "run_after": f"2026-12-0{n}", "state": state}

    window.take([raw("a", 1), raw("b", 2), raw("a", 3, "running")], now, full=True)
    assert [r["dag_run_id"] for r in window.runs] == ["r3", "r2"]
    assert not window.wants_full() and window.delta_from() == "2026-12-02T11:59:57Z"
    window.take([raw("a", 3)], now + timedelta(seconds=15), full=False)  # r3 finished
    assert window.runs[0]["state"] == "success" and len(window.runs) == 2
    window.take([], now + timedelta(seconds=30), full=False)
    assert window.wants_full()  # every third poll reads whole again


def test_a_jwt_expiry_is_read_from_its_claims():
    def jwt(claims):
        part = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return f"eyJhbGciOiJIUzUxMiJ9.{part}.sig"

    assert expiry_of(jwt({"exp": 1764700000, "sub": "1"})) == 1764700000.0
    assert expiry_of(jwt({"sub": "1"})) is None
    assert expiry_of("not a jwt") is None


def test_which_orchestrator_runs_are_deployments():
    at = datetime(2026, 12, 2, 12, tzinfo=UTC)
    run = PipelineRun(
        "airflow:af", "airflow", "af", "train", "train/manual__1", RunStatus.SUCCESS,
        started=at, finished=at, is_training=True, pushed=True,
    )  # fmt: skip
    done = deployment_of(run, "churn", reached=False)
    assert done.id == "run:train/manual__1" and done.kind == "model" and done.version == "manual__1"
    failed = PipelineRun(
        "airflow:af", "airflow", "af", "train", "train/manual__2", RunStatus.FAILED,
        started=at, finished=at, is_training=True,
    )  # fmt: skip
    assert deployment_of(failed, "churn", reached=False) is None  # failed while training
    assert deployment_of(failed, "churn", reached=True).result == "failed"
    other = PipelineRun("airflow:af", "airflow", "af", "etl", "etl/1", RunStatus.SUCCESS)
    assert deployment_of(other, "churn", reached=True) is None
    pusher = PipelineJob("Pusher", "Pusher", RunStatus.FAILED)
    assert reached_push([pusher]) and not reached_push(
        [PipelineJob("P", "Pusher", RunStatus.SKIPPED)]
    )
    assert reached_push([PipelineJob("d", "deploy_model", RunStatus.SUCCESS)])


def test_lineage_finds_an_airflow_run_by_its_own_run_id():
    run = runs()[0]
    version = ModelVersion(
        "churn",
        "4",
        lineage=(("airflow.dag_run_id", vendor_run_id(run)), ("airflow.dag_id", run.pipeline)),
    )
    assert link([run], [version]).run_for(version) == run
