"""The Airflow source on an Airflow 2 (REST API v1), replayed by a real local
HTTP server as the v1 reference documents it (Airflow 2 is not started here:
its pins clash with Airflow 3's, and the v1 shapes are few).

Docs: https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html
It checks that `api = "auto"` finds v1, that Basic auth is sent (and never a
JWT login), and what the mutating calls send, on the server side.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from devstack.replay import ReplayServer, Reply
from opsdash.model import RunStatus
from opsdash.sources.airflow import AirflowConfig, AirflowSource

DOC = "https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html"
RUN_ID = "scheduled__2026-12-01T03:00:00+00:00"
RUN_PATH = f"/api/v1/dags/etl/dagRuns/{quote(RUN_ID, safe='')}"
PASSWORD = "v1-secret-pw-0001"

DAG = {  # DAG (v1): #operation/get_dags
    "dag_id": "etl",
    "is_paused": False,
    "is_active": True,
    "owners": ["data"],
    "tags": [{"name": "etl"}],
    "schedule_interval": {"__type": "CronExpression", "value": "0 3 * * *"},
    "next_dagrun": "2026-12-03T03:00:00+00:00",
    "has_import_errors": False,
}
RUN = {  # DAGRun (v1): #operation/get_dag_runs
    "dag_id": "etl",
    "dag_run_id": RUN_ID,
    "execution_date": "2026-12-01T03:00:00+00:00",
    "logical_date": "2026-12-01T03:00:00+00:00",
    "start_date": "2026-12-02T03:00:02+00:00",
    "end_date": "2026-12-02T03:04:10+00:00",
    "state": "failed",
    "run_type": "scheduled",
    "external_trigger": False,
    "conf": {},
    "note": None,
}
TASK = {  # TaskInstance (v1): #operation/get_task_instances_batch
    "task_id": "load",
    "dag_id": "etl",
    "dag_run_id": RUN_ID,
    "execution_date": "2026-12-01T03:00:00+00:00",
    "start_date": "2026-12-02T03:01:00+00:00",
    "end_date": "2026-12-02T03:04:09+00:00",
    "state": "failed",
    "try_number": 2,
    "map_index": -1,
    "operator": "PythonOperator",
    "priority_weight": 1,
}


@pytest.fixture
def server():
    with ReplayServer() as replay:
        replay.add("GET", "/api/v2/monitor/health", Reply(404, {"detail": "Not Found"}))
        replay.add("GET", "/api/v1/health", Reply(200, {"metadatabase": {"status": "healthy"}}))
        replay.add("GET", "/api/v1/dags", Reply(200, {"dags": [DAG], "total_entries": 1}))
        replay.add(
            "GET", "/api/v1/importErrors", Reply(200, {"import_errors": [], "total_entries": 0})
        )
        replay.add(
            "GET", "/api/v1/dags/~/dagRuns", Reply(200, {"dag_runs": [RUN], "total_entries": 1})
        )
        replay.add(
            "POST",
            "/api/v1/dags/~/dagRuns/~/taskInstances/list",
            Reply(200, {"task_instances": [TASK], "total_entries": 1}),
        )
        replay.add(
            "GET",
            f"{RUN_PATH}/taskInstances",
            Reply(200, {"task_instances": [TASK], "total_entries": 1}),
        )
        replay.add(
            "GET",
            f"{RUN_PATH}/taskInstances/load/logs/2",
            # With Accept: text/plain; its JSON form is a Python repr of (host, text) pairs.
            Reply(200, "*** Found local files\n[2026-12-02] try 2 failed\n"),
        )
        replay.add(
            "POST",
            "/api/v1/dags/etl/dagRuns",
            Reply(200, {**RUN, "dag_run_id": "manual__new", "state": "queued"}),
        )
        replay.add("POST", f"{RUN_PATH}/clear", Reply(200, {"task_instances": []}))
        replay.add(
            "POST", "/api/v1/dags/etl/clearTaskInstances", Reply(200, {"task_instances": []})
        )
        replay.add("PATCH", RUN_PATH, Reply(200, {**RUN, "state": "success"}))
        yield replay


def source(server) -> AirflowSource:
    config = AirflowConfig(name="old", url=server.url, user="ops", password=PASSWORD, timeout=3)
    return AirflowSource(config)


def test_api_v1_is_detected_and_read_with_basic_auth(server):
    af = source(server)
    snapshot = af.poll()
    assert af.api == "v1"
    (run,) = snapshot.runs
    assert run.id == f"etl/{RUN_ID}" and run.status is RunStatus.FAILED
    (dag,) = snapshot.pipelines
    assert dag.schedule == "0 3 * * *" and dag.next_run is not None
    basic = "Basic " + base64.b64encode(f"ops:{PASSWORD}".encode()).decode()
    api_calls = [c for c in server.calls() if "/health" not in c.path]
    assert api_calls and all(c.headers.get("authorization") == basic for c in api_calls)
    assert not server.calls("POST", "/auth/token")  # no JWT login on Airflow 2
    runs_call = server.calls("GET", "/api/v1/dags/~/dagRuns")[0]
    assert runs_call.arg("order_by") == "-execution_date"
    (job,) = af.jobs(run)
    assert (job.attempt, job.operator) == (2, "PythonOperator")
    assert af.log_tail(run, job) == "*** Found local files\n[2026-12-02] try 2 failed\n"
    (log,) = server.calls("GET", f"{RUN_PATH}/taskInstances/load/logs/2")
    assert log.headers["accept"] == "text/plain"
    af.close()


def test_api_v1_actions_send_what_the_reference_says(server):
    af = source(server)
    (run,) = af.poll().runs
    assert "manual__new" in af.trigger("etl", {"day": "2026-12-01"})
    trigger = server.calls("POST", "/api/v1/dags/etl/dagRuns")[0].json
    assert trigger["conf"] == {"day": "2026-12-01"} and "logical_date" not in trigger
    af.rerun(run)
    assert server.calls("POST", f"{RUN_PATH}/clear")[0].json == {"dry_run": False}
    af.rerun(run, failed_only=True)
    clear = server.calls("POST", "/api/v1/dags/etl/clearTaskInstances")[0].json
    assert clear["only_failed"] is True and clear["dry_run"] is False
    assert clear["dag_run_id"] == RUN_ID
    af.mark(run, RunStatus.SUCCESS)
    assert server.calls("POST", "/api/v1/dags/~/dagRuns/~/taskInstances/list")[0].json["page_limit"]
    patch = server.calls("PATCH", RUN_PATH)[0]
    assert patch.json == {"state": "success"} and patch.arg("update_mask") is None
    assert all(PASSWORD not in str(c.headers) for c in server.calls())  # only its base64
    af.close()


def test_api_v1_with_a_dag_filter_reads_the_runs_of_those_dags(server):
    """v1's run list has no DAG filter: the batch list with dag_ids is asked."""
    server.add(
        "POST", "/api/v1/dags/~/dagRuns/list", Reply(200, {"dag_runs": [RUN], "total_entries": 1})
    )
    config = AirflowConfig(
        name="old", url=server.url, user="ops", password=PASSWORD, jobs=("etl",), timeout=3
    )
    af = AirflowSource(config)
    (run,) = af.poll().runs
    assert run.pipeline == "etl"
    (batch,) = server.calls("POST", "/api/v1/dags/~/dagRuns/list")
    assert batch.json["dag_ids"] == ["etl"] and batch.json["order_by"] == "-execution_date"
    assert not server.calls("GET", "/api/v1/dags/~/dagRuns")
    (dags,) = server.calls("GET", "/api/v1/dags")
    assert dags.arg("dag_id_pattern") is None  # v1 reads it as one substring, not "a|b"
    af.close()
