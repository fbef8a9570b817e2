"""The KFP emulator itself (devstack/kubeflow), over HTTP: the other Kubeflow tests
trust it, so its filter predicates, sorting, page tokens, errors, state
machine, auth and faults behave as KFP's v2beta1 API documents them."""

from __future__ import annotations

import json

import httpx
import pytest

from devstack.kubeflow import KubeflowServer, seed
from devstack.kubeflow.runs import CANCEL_S, PENDING_S, STEP_S
from tests.integration import kubeflow_fixtures
from tests.integration.kubeflow_fixtures import LIMITED, TOKEN

clock, kfp = kubeflow_fixtures.clock, kubeflow_fixtures.kfp
RUNS = "/apis/v2beta1/runs"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def get(server, path, **params):
    return httpx.get(server.url + path, params=params, headers=AUTH, timeout=5)


def post(server, path, body=None):
    return httpx.post(server.url + path, json=body or {}, headers=AUTH, timeout=5)


def listed(server, *predicates, **params) -> list[str]:
    if predicates:
        params["filter"] = json.dumps({"predicates": list(predicates)})
    response = get(server, RUNS, **params)
    assert response.status_code == 200, response.text
    return [r["run_id"] for r in response.json()["runs"]]


def test_filter_operations(kfp):
    failed = listed(kfp, {"operation": "EQUALS", "key": "state", "string_value": "FAILED"})
    assert set(failed) == {seed.RUN_PUSH_FAILED, seed.RUN_TRAIN_FAILED, seed.RUN_TFX_FAILED}
    not_failed = listed(kfp, {"operation": "NOT_EQUALS", "key": "state", "string_value": "FAILED"})
    assert not set(failed) & set(not_failed) and len(not_failed) == 6
    by_in = listed(
        kfp,
        {"operation": "IN", "key": "experiment_id", "string_values": {"values": [seed.EXP_DEV]}},
    )
    assert seed.RUN_RUNNING in by_in and seed.RUN_BLESSED not in by_in
    sub = listed(kfp, {"operation": "IS_SUBSTRING", "key": "display_name", "string_value": "churn"})
    assert len(sub) == 3
    # created_at as RFC 3339 and as epoch seconds: the last 4 hours (blessed 2h, failed 3h ago)
    since = kfp.clock() - 4 * 3600
    recent = listed(
        kfp,
        {
            "operation": "GREATER_THAN",
            "key": "created_at",
            "timestamp_value": "2025-12-01T20:00:00Z",
        },
        {"operation": "NOT_EQUALS", "key": "namespace", "string_value": seed.OTHER_NAMESPACE},
    )
    assert set(recent) == set(
        listed(kfp, {"operation": "GREATER_THAN_EQUALS", "key": "created_at", "long_value": since})
    ) - {seed.RUN_OTHER_NS}
    assert set(recent) == {seed.RUN_BLESSED, seed.RUN_PUSH_FAILED, seed.RUN_RUNNING}
    old = listed(kfp, {"operation": "LESS_THAN", "key": "created_at", "long_value": since})
    assert seed.RUN_CANCELED in old and seed.RUN_BLESSED not in old


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        json.dumps({"predicates": [{"operation": "EQUALS", "key": "colour", "string_value": "x"}]}),
        json.dumps({"predicates": [{"op": "EQUALS", "key": "state", "string_value": "x"}]}),
        json.dumps({"predicates": [{"operation": "ROUGHLY", "key": "state"}]}),
    ],
)
def test_a_bad_filter_is_a_400_status(kfp, bad):
    response = get(kfp, RUNS, filter=bad)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3 and body["message"] == body["error"] and body["details"]


def test_sorting_and_page_tokens(kfp):
    first = get(kfp, RUNS, page_size=5, sort_by="created_at desc", namespace="team-a").json()
    assert first["total_size"] == 8 and len(first["runs"]) == 5 and first["next_page_token"]
    rest = get(
        kfp,
        RUNS,
        page_size=5,
        sort_by="created_at desc",
        namespace="team-a",
        page_token=first["next_page_token"],
    ).json()
    assert len(rest["runs"]) == 3 and rest["next_page_token"] == ""
    created = [r["created_at"] for r in first["runs"] + rest["runs"]]
    assert created == sorted(created, reverse=True)
    ascending = get(kfp, RUNS, sort_by="created_at", namespace="team-a").json()["runs"]
    assert [r["created_at"] for r in ascending] == sorted(created)
    assert get(kfp, RUNS, page_token="garbage").status_code == 400
    assert get(kfp, RUNS, page_token=first["next_page_token"]).status_code == 400  # other query
    assert get(kfp, RUNS, sort_by="colour desc").status_code == 400


def test_a_created_run_progresses_task_by_task(kfp, clock):
    body = {
        "display_name": "by hand",
        "pipeline_version_reference": {"pipeline_id": "p-etl", "pipeline_version_id": "v-etl-1"},
        "runtime_config": {"parameters": {"day": "x"}},
        "experiment_id": seed.EXP_DEV,
    }
    created = post(kfp, RUNS, body).json()
    run_id = created["run_id"]
    assert created["state"] == "PENDING" and created["runtime_config"]["parameters"] == {"day": "x"}
    clock.advance(PENDING_S + 1)
    run = get(kfp, f"{RUNS}/{run_id}").json()
    names = {t["display_name"]: t["state"] for t in run["run_details"]["task_details"]}
    assert run["state"] == "RUNNING" and names["extract"] == "RUNNING" and "clean" not in names
    clock.advance(3 * STEP_S)
    run = get(kfp, f"{RUNS}/{run_id}").json()
    assert run["state"] == "SUCCEEDED" and run["finished_at"]
    assert [h["state"] for h in run["state_history"]] == ["PENDING", "RUNNING", "SUCCEEDED"]
    missing = post(kfp, RUNS, {**body, "pipeline_version_reference": {"pipeline_id": "p-etl"}})
    assert missing.status_code == 404
    assert post(kfp, RUNS, {**body, "display_name": ""}).status_code == 400


def test_terminate_and_retry_follow_the_state_machine(kfp, clock):
    assert post(kfp, f"{RUNS}/{seed.RUN_RUNNING}:retry").status_code == 400
    assert post(kfp, f"{RUNS}/{seed.RUN_RUNNING}:terminate").status_code == 200
    assert kfp.state(seed.RUN_RUNNING) == "CANCELING"
    clock.advance(CANCEL_S)
    assert kfp.state(seed.RUN_RUNNING) == "CANCELED"
    assert post(kfp, f"{RUNS}/{seed.RUN_RUNNING}:terminate").status_code == 400
    assert post(kfp, f"{RUNS}/{seed.RUN_RUNNING}:retry").status_code == 200
    assert kfp.state(seed.RUN_RUNNING) == "PENDING"
    assert post(kfp, f"{RUNS}/no-such:retry").status_code == 404


def test_auth_and_namespaces(kfp):
    assert httpx.get(kfp.url + RUNS).status_code == 401
    assert httpx.get(kfp.url + RUNS, headers={"Authorization": "Bearer nope"}).status_code == 401
    limited = {"Authorization": f"Bearer {LIMITED}"}
    mine = httpx.get(kfp.url + RUNS, params={"namespace": "team-b"}, headers=limited)
    assert mine.status_code == 200 and [r["run_id"] for r in mine.json()["runs"]] == [
        seed.RUN_OTHER_NS
    ]
    theirs = httpx.get(kfp.url + RUNS, params={"namespace": "team-a"}, headers=limited)
    assert theirs.status_code == 403 and theirs.json()["code"] == 7
    other = httpx.get(f"{kfp.url}{RUNS}/{seed.RUN_BLESSED}", headers=limited)
    assert other.status_code == 403


def test_faults_and_the_request_log(kfp):
    kfp.fail_next(1, 503)
    kfp.malformed_next(1, "text")
    assert get(kfp, RUNS).status_code == 503
    assert get(kfp, RUNS).headers["content-type"] == "text/html"
    kfp.delay_next(1, 0.5)
    with pytest.raises(httpx.TimeoutException):
        httpx.get(kfp.url + RUNS, headers=AUTH, timeout=0.1)
    assert get(kfp, RUNS).status_code == 200
    recorded = kfp.calls("GET", RUNS)
    assert len(recorded) == 4 and recorded[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_no_auth_when_no_tokens():
    with KubeflowServer(seeded=False) as server:
        response = httpx.get(server.url + RUNS)
        assert response.status_code == 200 and response.json()["runs"] == []
