"""The Airflow source against a real Airflow 3 (api-server, scheduler and
dag-processor on 127.0.0.1, started by the session fixture).

What the server says is checked through its own API (devstack.airflow_client),
not through opsdash: a trigger made a run with that conf, a clear cleared it,
a mark set its state, a pause paused the DAG.
"""

from __future__ import annotations

import pytest

from devstack.airflow_server import ESCAPES, MARKUP_LINE, TFX_COMPONENTS
from opsdash.model import RunStatus
from opsdash.redact import MASK
from opsdash.sources.airflow import AirflowConfig, AirflowSource
from opsdash.sources.base import SourceError
from opsdash.sources.http import HttpError
from tests.pilot import sync_wait

DEADLINE = 120.0


def source(airflow, **extra) -> AirflowSource:
    values = {
        "name": "af",
        "url": airflow.url,
        "user": airflow.username,
        "password": airflow.password,
        "timeout": 10,
    }
    return AirflowSource(AirflowConfig(**(values | extra)))


def finished_run(airflow, dag_id: str, conf=None) -> dict:
    run = airflow.client.trigger(dag_id, conf)
    return airflow.client.wait_run(dag_id, run["dag_run_id"], timeout=DEADLINE)


def run_in(snapshot, dag_id: str, run_id: str):
    return next((r for r in snapshot.runs if r.id == f"{dag_id}/{run_id}"), None)


def test_dags_runs_conf_and_import_errors(airflow):
    made = finished_run(airflow, "opsdash_ok", {"model": "[bold]x[/]", "epochs": 3})
    af = source(airflow)
    snapshot = af.poll()
    dags = {d.id: d for d in snapshot.pipelines}
    assert {"opsdash_ok", "opsdash_fails", "opsdash_tfx"} <= set(dags)
    assert dags["opsdash_tfx"].tags == ("opsdash", "tfx") and dags["opsdash_tfx"].paused is False
    assert any("broken_dag.py" in note for note in snapshot.notes)
    run = run_in(snapshot, "opsdash_ok", made["dag_run_id"])
    assert run is not None and run.status is RunStatus.SUCCESS and run.event == "manual"
    assert dict(run.parameters) == {"epochs": "3", "model": '"[bold]x[/]"'}  # literal
    assert run.actor == airflow.username and run.duration_s() is not None
    assert af.api == "v2"
    af.close()


def test_tfx_run_shows_components_in_order_with_the_blessing(airflow):
    blessed = finished_run(airflow, "opsdash_tfx")
    refused = finished_run(airflow, "opsdash_tfx", {"bless": False})
    af = source(airflow, training="opsdash_tfx")
    snapshot = af.poll()
    good = run_in(snapshot, "opsdash_tfx", blessed["dag_run_id"])
    bad = run_in(snapshot, "opsdash_tfx", refused["dag_run_id"])
    assert good.verdict == "blessed · pushed" and good.pushed and good.is_training
    assert bad.verdict == "not blessed · not pushed" and not bad.pushed
    jobs = af.jobs(bad)
    assert [j.name for j in jobs] == list(TFX_COMPONENTS)
    assert jobs[-1].status is RunStatus.SKIPPED and jobs[0].operator == "PythonOperator"
    # The pushed run is a model deployment of the table's service; the other is none.
    deployed = {d.id: d for d in snapshot.deployments}
    key = f"run:opsdash_tfx/{blessed['dag_run_id']}"
    assert deployed[key].kind == "model" and deployed[key].result == "success"
    assert f"run:opsdash_tfx/{refused['dag_run_id']}" in deployed  # a success all the same
    af.close()


def test_an_unchanged_airflow_is_not_read_whole_again(airflow):
    af = source(airflow)
    af.poll()
    before = af.client.stats["requests"]
    af.poll()
    # DAGs (one page), import errors and the runs changed since: three requests.
    assert af.client.stats["requests"] - before == 3
    assert af.window.since is not None
    af.close()


def test_trigger_is_queued_then_runs_then_succeeds(airflow):
    af = source(airflow)
    af.poll()
    line = af.trigger("opsdash_slow", {"why": "test"})
    run_id = line.split()[1]
    assert "queued" in line
    seen = set()

    def state():
        run = run_in(af.poll(), "opsdash_slow", run_id)
        if run is not None:
            seen.add(run.status)
        return run is not None and run.status.finished and run

    run = sync_wait(state, timeout=DEADLINE, step=1.0)
    assert run.status is RunStatus.SUCCESS
    assert RunStatus.RUNNING in seen  # the slow task was caught running
    assert airflow.client.run("opsdash_slow", run_id)["conf"] == {"why": "test"}
    af.close()


def test_clear_a_failed_run_and_read_each_try(airflow):
    made = finished_run(airflow, "opsdash_flaky")
    assert made["state"] == "failed"
    af = source(airflow)
    run = run_in(af.poll(), "opsdash_flaky", made["dag_run_id"])
    assert run.status is RunStatus.FAILED
    assert "cleared" in af.rerun(run, failed_only=True)
    done = airflow.client.wait_run("opsdash_flaky", made["dag_run_id"], timeout=DEADLINE)
    assert done["state"] == "success"
    run = sync_wait(
        lambda: (
            (r := run_in(af.poll(), "opsdash_flaky", made["dag_run_id"]))
            and r.status is RunStatus.SUCCESS
            and r
        ),
        timeout=DEADLINE,
    )
    (job,) = af.jobs(run)
    assert (job.attempt, job.attempts) == (2, 2)
    from dataclasses import replace

    assert "try 2 succeeds" in af.log_tail(run, job)
    assert "try 1 fails" in af.log_tail(run, replace(job, attempt=1))
    af.close()


def test_a_log_keeps_markup_and_escapes_as_text(airflow):
    made = finished_run(airflow, "opsdash_ok")
    af = source(airflow)
    run = run_in(af.poll(), "opsdash_ok", made["dag_run_id"])
    job = next(j for j in af.jobs(run) if j.name == "tricky_output")
    text = af.log_tail(run, job)
    assert MARKUP_LINE in text  # not interpreted here; the UI renders it literally
    assert "\x1b[31m" in text or "\\033[31m" in text or ESCAPES[:5] in text
    af.close()


def test_mark_and_pause_change_the_server(airflow):
    slow = airflow.client.trigger("opsdash_slow")
    af = source(airflow)
    run = sync_wait(lambda: run_in(af.poll(), "opsdash_slow", slow["dag_run_id"]), timeout=30)
    assert "marked failed" in af.mark(run, RunStatus.FAILED)
    assert airflow.client.run("opsdash_slow", slow["dag_run_id"])["state"] == "failed"
    try:
        assert af.set_paused("opsdash_slow", True) == "opsdash_slow paused"
        assert airflow.api("GET", "/dags/opsdash_slow")["is_paused"] is True
        assert next(d for d in af.poll().pipelines if d.id == "opsdash_slow").paused is True
    finally:
        af.set_paused("opsdash_slow", False)
    with pytest.raises(SourceError, match="cannot cancel"):
        af.cancel(run)
    af.close()


def test_read_only_sends_no_mutation(airflow):
    af = source(airflow, read_only=True)
    run = next(iter(af.poll().runs))
    before = af.client.stats["requests"]
    for call in (
        lambda: af.trigger("opsdash_ok", {}),
        lambda: af.rerun(run),
        lambda: af.set_paused("opsdash_ok", True),
        lambda: af.mark(run, RunStatus.SUCCESS),
    ):
        with pytest.raises(SourceError, match="read-only"):
            call()
    assert af.client.stats["requests"] == before
    af.close()


def test_a_wrong_password_is_one_line_without_the_password(airflow):
    af = source(airflow, password="wrong-password-xyz")
    with pytest.raises(SourceError) as caught:
        af.poll()
    message = str(caught.value)
    assert "refused" in message and "wrong-password-xyz" not in message
    assert "\n" not in message
    af.close()


def test_a_viewer_reads_but_may_not_trigger(airflow):
    from devstack.airflow_server import USERS

    af = source(airflow, user="viewer", password=USERS["viewer"][1])
    assert af.poll().pipelines
    with pytest.raises(HttpError) as caught:
        af.trigger("opsdash_ok", {})
    assert caught.value.status == 403 and USERS["viewer"][1] not in str(caught.value)
    assert MASK not in af.label
    af.close()


def test_a_tag_filter_reads_only_the_runs_of_tagged_dags(airflow):
    made = finished_run(airflow, "opsdash_tfx")
    finished_run(airflow, "opsdash_ok")  # newer, and not tagged tfx
    af = source(airflow, tags=("tfx",), runs=1)
    snapshot = af.poll()
    assert {d.id for d in snapshot.pipelines} == {"opsdash_tfx"}
    assert [r.id for r in snapshot.runs] == [f"opsdash_tfx/{made['dag_run_id']}"]
    af.close()
