"""KubeflowSource against the stateful KFP v2beta1 emulator (devstack/kubeflow).

The emulator is a real HTTP server on 127.0.0.1 that records every request, so
the assertions are on what opsdash sent: the namespace and experiment
parameters, the filter predicates, the page tokens, the bodies of create,
retry and terminate, the bearer token of each request. Runs progress on the
emulator's manual clock, moved by the tests: no timed assertion.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from devstack.kubeflow import seed
from devstack.kubeflow.runs import PENDING_S, STEP_S, Run
from devstack.kubeflow.seed import TFX as SEEDED_TFX
from opsdash.config_tables import schema_of
from opsdash.model import RunStatus
from opsdash.sources.base import Detection, SourceError
from opsdash.sources.capabilities import RerunsRuns, RunDetails, TriggersPipelines
from opsdash.sources.kubeflow import IN_CLUSTER_URL, KubeflowConfig, KubeflowSource
from tests.integration import kubeflow_fixtures
from tests.integration.kubeflow_fixtures import LIMITED, TOKEN, make_source, predicates

clock, kfp, source = kubeflow_fixtures.clock, kubeflow_fixtures.kfp, kubeflow_fixtures.source

ROOT = Path(__file__).resolve().parent.parent.parent
RUNS = "/apis/v2beta1/runs"
HOSTILE = "[bold]x[/] \x1b[2J [red]y"
TFX_ORDER = list(SEEDED_TFX)  # the components of the emulator's TFX pipeline


def by_id(snapshot) -> dict:
    return {run.id: run for run in snapshot.runs}


def assert_clean(message: str, *secrets: str) -> None:
    assert message and "\n" not in message
    for secret in (TOKEN, LIMITED, *secrets):
        assert secret not in message


def poll_until(source, clock, run_id, seconds=STEP_S):
    """Poll, moving the clock, until the run is final; the statuses seen."""
    seen = []
    for _ in range(40):
        run = by_id(source.poll())[run_id]
        if not seen or seen[-1] is not run.status:
            seen.append(run.status)
        if run.status.finished:
            break
        clock.advance(seconds)
    return seen


# --- reading ------------------------------------------------------------------------


def test_it_declares_what_the_ui_asks(source):
    assert isinstance(source, RunDetails) and isinstance(source, RerunsRuns)
    assert isinstance(source, TriggersPipelines)
    assert source.parameters_word == "parameters" and source.rerun_word == "Retry"
    assert not source.can_rerun_failed and not source.can_rerun_running
    assert source.training_pipeline == "churn-tfx"


def test_a_poll_follows_the_pages_and_sends_the_documented_query(kfp):
    source = make_source(kfp, page_size=3, runs=7)
    snapshot = source.poll()
    lists = kfp.calls("GET", RUNS)
    assert len(lists) == 3  # 3 + 3 + 1
    assert lists[0].arg("page_token") is None
    assert lists[1].arg("page_token") and lists[2].arg("page_token") != lists[1].arg("page_token")
    assert [r.arg("page_size") for r in lists] == ["3", "3", "1"]
    for request in lists:
        assert request.arg("namespace") == "team-a"
        assert request.arg("sort_by") == "created_at desc"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert {"operation": "NOT_EQUALS", "key": "storage_state", "string_value": "ARCHIVED"} in (
            predicates(request)
        )
    assert len(snapshot.runs) == 7
    created = [run.created for run in snapshot.runs]
    assert created == sorted(created, reverse=True)
    assert seed.RUN_OTHER_NS not in by_id(snapshot)  # another namespace
    source.close()


def test_the_last_page_ends_the_paging(kfp):
    source = make_source(kfp, page_size=50)
    snapshot = source.poll()
    assert len(kfp.calls("GET", RUNS)) == 1 and len(snapshot.runs) == 8
    source.close()


def test_one_experiment_is_a_parameter_several_a_predicate(kfp):
    one = make_source(kfp, experiments=(seed.EXP_DEV,))
    runs = one.poll().runs
    request = kfp.calls("GET", RUNS)[-1]
    assert request.arg("experiment_id") == seed.EXP_DEV
    assert runs and {r.pipeline for r in runs} <= {"etl-daily", "flaky-train"}
    two = make_source(kfp, experiments=(seed.EXP_DEV, "exp-none"))
    two.poll()
    request = kfp.calls("GET", RUNS)[-1]
    assert request.arg("experiment_id") is None
    assert {
        "operation": "IN",
        "key": "experiment_id",
        "string_values": {"values": [seed.EXP_DEV, "exp-none"]},
    } in predicates(request)
    one.close()
    two.close()


def test_pipelines_filter_by_name_or_id_server_side(kfp):
    source = make_source(kfp, pipelines=("etl-daily", "no-such"), deploy="", training="")
    snapshot = source.poll()
    request = kfp.calls("GET", RUNS)[-1]
    assert {
        "operation": "IN",
        "key": "pipeline_id",
        "string_values": {"values": ["p-etl"]},
    } in predicates(request)
    assert {r.pipeline for r in snapshot.runs} == {"etl-daily"}
    assert [p.name for p in snapshot.pipelines] == ["etl-daily"]
    assert any("no-such" in note for note in snapshot.notes)
    source.close()


def test_definitions_are_the_pipelines_newest_versions(source, kfp):
    snapshot = source.poll()
    definitions = {p.name: p for p in snapshot.pipelines}
    assert definitions["churn-tfx"].id == "v-churn-2" and definitions["churn-tfx"].is_training
    assert definitions["flaky-train"].is_deploy
    assert definitions["churn-tfx"].url.startswith(kfp.url)
    versions = kfp.calls("GET", "/apis/v2beta1/pipelines/p-churn/versions")
    assert versions[-1].arg("sort_by") == "created_at desc" and versions[-1].arg("page_size") == "1"


def test_a_tfx_run_shows_its_components_in_order_and_its_verdict(source):
    runs = by_id(source.poll())
    blessed, not_blessed = runs[seed.RUN_BLESSED], runs[seed.RUN_NOT_BLESSED]
    assert blessed.verdict == "blessed · pushed" and blessed.pushed
    assert not_blessed.verdict == "not blessed · not pushed" and not not_blessed.pushed
    assert runs[seed.RUN_TFX_FAILED].verdict == ""
    assert blessed.parameters == (
        ("model", '"churn"'),
        ("epochs", "5"),
        ("learning_rate", "0.01"),
    )
    jobs = source.jobs(blessed)
    assert [j.name for j in jobs] == TFX_ORDER
    pusher = source.jobs(not_blessed)[-1]
    assert pusher.name == "Pusher" and pusher.status is RunStatus.SKIPPED


def test_a_log_names_the_pod_to_read(source, kfp):
    run = by_id(source.poll())[seed.RUN_BLESSED]
    jobs = source.jobs(run)
    text = source.log_tail(run, jobs[0])
    assert "no logs" in text and "kubectl logs -n team-a" in text and "-c main" in text
    assert "system-container-impl" in text and "\n" not in text
    skipped = source.jobs(by_id(source.poll())[seed.RUN_NOT_BLESSED])[-1]
    assert "has no pod" in source.log_tail(by_id(source.poll())[seed.RUN_NOT_BLESSED], skipped)


# --- acting -------------------------------------------------------------------------


def test_trigger_creates_a_run_that_progresses(source, kfp, clock):
    source.poll()
    line = source.trigger("churn-tfx", {"epochs": 3, "note": HOSTILE})
    assert "created (PENDING)" in line and "\n" not in line
    (create,) = kfp.calls("POST", RUNS)
    sent = create.json
    assert sent["pipeline_version_reference"] == {
        "pipeline_id": "p-churn",
        "pipeline_version_id": "v-churn-2",
    }
    assert sent["runtime_config"] == {"parameters": {"epochs": 3, "note": HOSTILE}}
    assert "experiment_id" not in sent  # none configured: KFP's default experiment
    new_id = line.split()[1]
    seen = poll_until(source, clock, new_id)
    assert seen == [RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.SUCCESS]
    run = by_id(source.poll())[new_id]
    assert run.verdict == "blessed · pushed" and run.is_training
    assert dict(run.parameters)["note"] == f'"{HOSTILE}"'.replace("\x1b", "\\u001b")


def test_trigger_by_version_id_in_the_configured_experiment(kfp):
    source = make_source(kfp, experiments=(seed.EXP_DEV, seed.EXP_PROD))
    source.poll()
    source.trigger("v-etl-1", {})
    sent = kfp.calls("POST", RUNS)[-1].json
    assert sent["experiment_id"] == seed.EXP_DEV
    assert sent["pipeline_version_reference"]["pipeline_version_id"] == "v-etl-1"
    with pytest.raises(SourceError) as refused:
        source.trigger("nothing-like-it", {})
    assert_clean(str(refused.value))
    source.close()


def test_retry_of_a_failed_run_progresses_to_success(source, kfp, clock):
    run = by_id(source.poll())[seed.RUN_PUSH_FAILED]
    assert run.status is RunStatus.FAILED
    assert "retry" in source.rerun(run)
    assert [r.path for r in kfp.mutations()] == [f"{RUNS}/{seed.RUN_PUSH_FAILED}:retry"]
    seen = poll_until(source, clock, seed.RUN_PUSH_FAILED)
    assert seen == [RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.SUCCESS]
    after = by_id(source.poll())[seed.RUN_PUSH_FAILED]
    assert after.attempt == 2
    jobs = {j.name: j for j in source.jobs(after)}
    assert jobs["push-model"].attempts == 2 and jobs["prepare"].attempts == 1


def test_terminate_a_running_run(source, kfp, clock):
    run = by_id(source.poll())[seed.RUN_RUNNING]
    assert run.status is RunStatus.RUNNING
    assert "terminate" in source.cancel(run)
    assert kfp.mutations()[-1].path == f"{RUNS}/{seed.RUN_RUNNING}:terminate"
    assert by_id(source.poll())[seed.RUN_RUNNING].vendor_status == "CANCELING"
    clock.advance(STEP_S)
    assert by_id(source.poll())[seed.RUN_RUNNING].status is RunStatus.CANCELLED
    with pytest.raises(SourceError, match="already finished"):
        source.cancel(by_id(source.poll())[seed.RUN_RUNNING])


def test_retry_of_a_running_run_is_refused(source, kfp):
    from dataclasses import replace

    run = by_id(source.poll())[seed.RUN_RUNNING]
    with pytest.raises(SourceError) as refused:
        source.rerun(run)
    assert "only a failed or terminated run" in str(refused.value)
    assert kfp.mutations() == []  # refused before any request
    stale = replace(run, status=RunStatus.FAILED)  # the server still says no
    with pytest.raises(SourceError) as server_says:
        source.rerun(stale)
    assert "HTTP 400" in str(server_says.value) and "RUNNING" in str(server_says.value)
    assert_clean(str(server_says.value))


def test_read_only_refuses_every_mutation_without_a_request(kfp):
    source = make_source(kfp, read_only=True)
    runs = by_id(source.poll())
    for act in (
        lambda: source.trigger("churn-tfx", {}),
        lambda: source.rerun(runs[seed.RUN_PUSH_FAILED]),
        lambda: source.cancel(runs[seed.RUN_RUNNING]),
    ):
        with pytest.raises(SourceError, match="read-only"):
            act()
    assert kfp.mutations() == []
    source.close()


# --- deployments ----------------------------------------------------------------------


def test_final_runs_of_the_deploy_and_training_pipelines_are_deployments(source):
    deployments = {d.version: d for d in source.poll().deployments}
    assert deployments[seed.RUN_BLESSED].kind == "model"
    assert deployments[seed.RUN_BLESSED].result == "success"
    assert deployments[seed.RUN_NOT_BLESSED].kind == "app"  # succeeded, pushed no model
    assert deployments[seed.RUN_PUSH_FAILED].result == "failed"  # reached push-model
    assert seed.RUN_TRAIN_FAILED not in deployments  # failed while training
    assert seed.RUN_TFX_FAILED not in deployments  # failed in Trainer
    assert seed.RUN_RUNNING not in deployments and seed.RUN_ETL_OK not in deployments
    assert {d.service for d in deployments.values()} == {"kf"}


def test_a_failed_runs_tasks_are_read_once(kfp):
    kfp.list_details = False  # the list carries no task details: GET each failed run
    source = make_source(kfp)
    first = {d.version for d in source.poll().deployments}
    second = {d.version for d in source.poll().deployments}
    assert first == second and seed.RUN_PUSH_FAILED in first
    gets = [r.path for r in kfp.calls("GET") if r.path.startswith(RUNS + "/")]
    assert sorted(gets) == sorted(
        f"{RUNS}/{run_id}"
        for run_id in (seed.RUN_PUSH_FAILED, seed.RUN_TRAIN_FAILED, seed.RUN_TFX_FAILED)
    )
    source.close()


# --- errors -----------------------------------------------------------------------


def test_a_wrong_token_is_one_line(kfp):
    source = make_source(kfp, token="wrong-t0ken-0123456789abcdef")
    with pytest.raises(SourceError) as error:
        source.poll()
    assert "token refused (HTTP 401)" in str(error.value) and "kubeflow:kf" in str(error.value)
    assert_clean(str(error.value), "wrong-t0ken-0123456789abcdef")
    source.close()


def test_no_token_is_refused(kfp):
    source = make_source(kfp, token="")
    with pytest.raises(SourceError, match="token refused"):
        source.poll()
    assert "authorization" not in kfp.calls()[-1].headers
    source.close()


def test_a_namespace_without_access_is_one_line(kfp):
    source = make_source(kfp, token=LIMITED)
    with pytest.raises(SourceError) as error:
        source.poll()
    assert "no access to namespace team-a (HTTP 403)" in str(error.value)
    assert_clean(str(error.value))
    source.close()


def test_5xx_is_retried_then_one_line(source, kfp):
    kfp.fail_next(1, 503)
    assert source.poll().runs  # one 503 is retried away
    kfp.fail_next(10, 503)
    before = len(kfp.calls())
    with pytest.raises(SourceError) as error:
        source.poll()
    assert "HTTP 503" in str(error.value)
    assert len(kfp.calls()) - before == 3  # the first try and two retries
    assert_clean(str(error.value))
    kfp._faults.clear()
    assert source.poll().runs


@pytest.mark.parametrize(("kind", "words"), [("text", "not JSON"), ("shape", "unexpected")])
def test_a_malformed_body_is_one_line(source, kfp, kind, words):
    kfp.malformed_next(1, kind)
    with pytest.raises(SourceError) as error:
        source.poll()
    assert words in str(error.value)
    assert_clean(str(error.value))


def test_an_invalid_filter_is_the_servers_one_line(source, monkeypatch):
    bad = '{"predicates":[{"operation":"EQUALS","key":"bogus"}]}'
    monkeypatch.setattr("opsdash.sources.kubeflow_map.runs_filter", lambda *_: bad)
    with pytest.raises(SourceError) as error:
        source.poll()
    assert "HTTP 400" in str(error.value) and "bogus" in str(error.value)


# --- the token file -------------------------------------------------------------------


def test_a_rotated_token_file_is_read_again(kfp, tmp_path):
    first, second = "file-t0ken-one-0123456789", "file-t0ken-two-0123456789-longer"
    kfp.tokens = {first: None, second: None}
    path = tmp_path / "token"
    path.write_text(first + "\n")
    source = make_source(kfp, token="", token_file=str(path))
    source.poll()
    assert kfp.calls()[-1].headers["authorization"] == f"Bearer {first}"
    path.write_text(second)
    del kfp.tokens[first]
    before = len(kfp.calls())
    source.poll()
    assert {r.headers["authorization"] for r in kfp.calls()[before:]} == {f"Bearer {second}"}
    source.close()


def test_a_401_reads_the_token_file_once_more(kfp, tmp_path):
    old, new = "file-t0ken-aaaa-0123456789", "file-t0ken-bbbb-0123456789"
    kfp.tokens = {old: None}
    path = tmp_path / "token"
    path.write_text(old)
    source = make_source(kfp, token="", token_file=str(path))
    source.poll()
    stamp = os.stat(path)
    path.write_text(new)  # same size; the same mtime below: the stat cannot tell
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    kfp.tokens = {new: None}
    before = len(kfp.calls())
    assert source.poll().runs
    sent = [r.headers["authorization"] for r in kfp.calls()[before:]]
    assert sent[0] == f"Bearer {old}" and set(sent[1:]) == {f"Bearer {new}"}
    assert source.client.bearer.reads == 2
    kfp.tokens = {"nobody": None}
    with pytest.raises(SourceError) as error:
        source.poll()
    assert "token refused" in str(error.value) and "token_file" in str(error.value)
    assert_clean(str(error.value), old, new)
    source.close()


def test_a_missing_token_file_is_one_line(kfp, tmp_path):
    source = make_source(kfp, token="", token_file=str(tmp_path / "absent"))
    with pytest.raises(SourceError) as error:
        source.poll()
    assert "cannot read token_file" in str(error.value) and "\n" not in str(error.value)
    source.close()


# --- hostile text ---------------------------------------------------------------------


def test_hostile_names_and_parameters_survive_the_poll(source, kfp, clock):
    pipeline = kfp.pipelines["p-etl"]
    kfp.add_run(
        Run.plan(
            run_id="hostile-0000",
            display_name=HOSTILE,
            experiment_id=seed.EXP_DEV,
            pipeline=pipeline,
            version_id="v-etl-1",
            parameters={HOSTILE: HOSTILE},
            created=clock() - PENDING_S,
        )
    )
    run = by_id(source.poll())["hostile-0000"]
    assert run.message == HOSTILE  # kept literally: the UI escapes it
    ((name, value),) = run.parameters
    assert name == HOSTILE and "[bold]x[/]" in value
    assert source.jobs(run)


# --- declarations -------------------------------------------------------------------


def test_the_entry_point_and_the_schema():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    points = pyproject["project"]["entry-points"]["opsdash.sources"]
    assert points["kubeflow"] == "opsdash.sources.kubeflow:KubeflowSource"
    keys = {k.name for k in schema_of(KubeflowConfig).keys}
    assert {"url", "namespace", "experiments", "pipelines", "token", "token_file"} <= keys
    assert {"deploy", "training", "runs", "read_only"} <= keys
    assert "branch" not in keys and "deploy_inputs" not in keys and "page_size" not in keys


def test_autodetect_in_a_pod_and_by_the_sdks_variable(tmp_path, monkeypatch):
    from opsdash.sources import kubeconfig

    in_pod = Detection(environ={"KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    assert KubeflowSource.autodetect(Detection(environ={})) == ()
    assert KubeflowSource.autodetect(in_pod) == ()  # a cluster without ml-pipeline.kubeflow
    monkeypatch.setattr(kubeconfig, "service_resolves", lambda host, timeout=1.0: True)
    (pod,) = KubeflowSource.autodetect(in_pod)
    assert pod.url == IN_CLUSTER_URL
    token = tmp_path / "token"
    env = {
        "KF_PIPELINES_ENDPOINT": "https://kf.example/pipeline/",
        "KF_PIPELINES_SA_TOKEN_PATH": str(token),
    }
    (sdk,) = KubeflowSource.autodetect(Detection(environ=env))
    assert sdk.url == "https://kf.example/pipeline" and sdk.token_file == str(token)


def test_a_kubeflow_table_reads_through_the_config_reader(tmp_path, monkeypatch):
    from opsdash.config_reader import ConfigError, Reader
    from opsdash.config_tables import read_table

    monkeypatch.setenv("KFP_TOKEN", TOKEN)
    text = """
[[kubeflow]]
url = "https://kf.example/pipeline/"
namespace = "team-a"
experiments = ["exp-prod"]
token = "${KFP_TOKEN}"
training = "churn-tfx"
runs = 50
"""
    item = tomllib.loads(text)["kubeflow"][0]
    reader = Reader(tmp_path / "c.toml", text)
    config = read_table(reader, "kubeflow", 0, item, KubeflowConfig, set(), 15.0)
    assert config.url == "https://kf.example/pipeline" and config.token == TOKEN
    assert config.name == "kubeflow" and config.runs == 50
    assert TOKEN not in repr(config)
    with pytest.raises(ConfigError) as error:
        read_table(reader, "kubeflow", 0, {**item, "runs": 0}, KubeflowConfig, set(), 15.0)
    assert "runs" in str(error.value) and "from 1 to 200" in str(error.value)
    monkeypatch.delenv("KF_PIPELINES_ENDPOINT", raising=False)
    with pytest.raises(ConfigError, match="url"):
        read_table(reader, "kubeflow", 0, {"namespace": "x"}, KubeflowConfig, set(), 15.0)


def test_a_server_that_cannot_filter_by_pipeline_is_filtered_here(kfp):
    kfp.unknown_filter_keys = {"pipeline_id", "experiment_id"}  # as KFP 2.0's server
    source = make_source(kfp, pipelines=("etl-daily",), deploy="", training="", runs=2)
    snapshot = source.poll()
    assert [r.pipeline for r in snapshot.runs] == ["etl-daily", "etl-daily"]
    assert any("filters the newest" in note for note in snapshot.notes)
    first, second = kfp.calls("GET", RUNS)[:2]
    assert "pipeline_id" in first.arg("filter") and "pipeline_id" not in second.arg("filter")
    before = len(kfp.calls("GET", RUNS))
    source.poll()  # remembered: no second refused request
    assert all("pipeline_id" not in r.arg("filter") for r in kfp.calls("GET", RUNS)[before:])
    source.close()


def test_an_unchanged_poll_costs_two_requests_and_a_new_version_is_noticed(kfp, clock):
    source = make_source(kfp)
    source.poll()
    before = len(kfp.calls())
    source.poll()
    assert [r.path for r in kfp.calls()[before:]] == ["/apis/v2beta1/pipelines", RUNS]
    # a version uploaded, and a run of it: that pipeline's newest version is read again
    kfp.pipelines["p-etl"].versions.append(("v-etl-2", "v2", clock()))
    kfp.add_run(
        Run.plan(
            run_id="new-version-run",
            display_name="etl on v2",
            experiment_id=seed.EXP_DEV,
            pipeline=kfp.pipelines["p-etl"],
            version_id="v-etl-2",
            parameters={},
            created=clock(),
        )
    )
    before = len(kfp.calls())
    snapshot = source.poll()
    assert "/apis/v2beta1/pipelines/p-etl/versions" in [r.path for r in kfp.calls()[before:]]
    assert {p.name: p.id for p in snapshot.pipelines}["etl-daily"] == "v-etl-2"
    before = len(kfp.calls())
    source.poll()
    assert len(kfp.calls()) - before == 2
    source.close()
