"""The Airflow 3 harness itself (devstack/airflow_server.py) against a real Airflow.

The other Airflow tests and the screenshots trust it: its DAGs behave as their
docstrings say, it binds loopback only, an api-server outage can be staged,
and tokens can be made to expire. One server for the session (conftest's
`airflow`); the runs are triggered once, together, so they overlap. The
api-server restart test runs last and leaves the server as it found it.
"""

from __future__ import annotations

import base64
import json
import time

import pytest

from devstack.airflow_client import AirflowError, request
from devstack.airflow_server import (
    BROKEN_DAG_FILE,
    ESCAPES,
    MARKUP_LINE,
    TEST_DAGS,
    TFX_COMPONENTS,
    AirflowServer,
)

DEADLINE = 120.0  # generous: the TFX-shaped run is 8 tasks one after another


@pytest.fixture(scope="module")
def runs(airflow: AirflowServer) -> dict[str, dict]:
    """One run of each kind, triggered at once; each test waits for its own."""
    client = airflow.client
    return {
        "ok": client.trigger("opsdash_ok", {"source": "test", "tricky": "[red]x"}, note="by test"),
        "fails": client.trigger("opsdash_fails"),
        "not_blessed": client.trigger("opsdash_tfx", {"bless": False}),
    }


def finished(airflow: AirflowServer, run: dict) -> dict:
    return airflow.client.wait_run(run["dag_id"], run["dag_run_id"], timeout=DEADLINE)


def states(airflow: AirflowServer, run: dict) -> dict[str, str]:
    tis = airflow.client.task_instances(run["dag_id"], run["dag_run_id"])
    return {ti["task_id"]: ti["state"] for ti in tis}


def test_every_component_is_healthy_and_only_loopback_listens(airflow):
    health = airflow.client.health()
    for key in ("metadatabase", "scheduler", "dag_processor"):
        assert health[key]["status"] == "healthy", health
    addresses = airflow.listening()
    assert ("127.0.0.1", airflow.port) in addresses
    assert {host for host, _ in addresses} == {"127.0.0.1"}, addresses


def test_the_test_dags_are_listed_and_the_broken_file_is_an_import_error(airflow):
    assert set(TEST_DAGS) <= airflow.client.dag_ids()
    tfx = airflow.api("GET", "/dags/opsdash_tfx")
    assert not tfx["is_paused"]
    assert {t["name"] for t in tfx["tags"]} == {"opsdash", "tfx"}
    errors = airflow.client.import_errors()
    assert [e["filename"] for e in errors] == [BROKEN_DAG_FILE]
    assert "fails on import" in errors[0]["stack_trace"]


def test_a_triggered_run_succeeds_and_its_log_is_read_as_json(airflow, runs):
    run = finished(airflow, runs["ok"])
    assert run["state"] == "success"
    assert run["conf"] == {"source": "test", "tricky": "[red]x"}
    assert run["note"] == "by test"
    assert states(airflow, run) == {"say_hi": "success", "tricky_output": "success"}
    say_hi = airflow.client.task_log("opsdash_ok", run["dag_run_id"], "say_hi")
    assert 'conf: {"source": "test", "tricky": "[red]x"}' in say_hi
    events = airflow.client.task_log("opsdash_ok", run["dag_run_id"], "tricky_output")
    assert MARKUP_LINE in events
    printed = ESCAPES.encode().decode("unicode_escape").rstrip("\n")
    assert printed in events  # the escape sequences arrive as they were printed


def test_the_failing_dag_fails_at_its_second_task(airflow, runs):
    run = finished(airflow, runs["fails"])
    assert run["state"] == "failed"
    assert states(airflow, run) == {"prepare": "success", "fail": "failed"}


def test_the_tfx_dag_skips_the_pusher_when_the_model_is_not_blessed(airflow, runs):
    run = finished(airflow, runs["not_blessed"])
    assert run["state"] == "success"
    found = states(airflow, run)
    assert set(found) == set(TFX_COMPONENTS)
    assert found.pop("Pusher") == "skipped"
    assert set(found.values()) == {"success"}
    blessing = airflow.client.xcom("opsdash_tfx", run["dag_run_id"], "Evaluator", "blessing")
    assert blessing == "NOT_BLESSED"


def _lifetime(token: str) -> int:
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return int(claims["exp"]) - int(claims["iat"])


def _refused(url: str, token: str) -> bool:
    try:
        request(url, "GET", "/api/v2/dags?limit=1", token=token)
    except AirflowError as exc:
        return exc.status == 401
    return False


def test_the_api_server_can_be_killed_and_started_again_with_short_lived_tokens(airflow):
    scheduler = airflow.pid("scheduler")
    old_token = airflow.token()
    airflow.kill_api_server()
    with pytest.raises(AirflowError):
        airflow.client.health()
    try:
        airflow.start_api_server(jwt_expiration=2)
        assert airflow.healthy()
        assert airflow.pid("scheduler") == scheduler  # the outage was the api-server's only
        assert airflow.api("GET", "/dags/opsdash_ok")["dag_id"] == "opsdash_ok"
        assert not _refused(airflow.url, old_token)  # same signing key across restarts
        token = airflow.token()
        assert _lifetime(token) == 2
        deadline = time.monotonic() + 30
        while not _refused(airflow.url, token):
            assert time.monotonic() < deadline, "a 2 s token was still accepted after 30 s"
            time.sleep(0.5)
        assert airflow.api("GET", "/dags", limit=1)["total_entries"] >= 1  # api() logs in again
    finally:
        airflow.kill_api_server()
        airflow.start_api_server(jwt_expiration=None)
    assert _lifetime(airflow.token()) == 86400  # Airflow's default again
