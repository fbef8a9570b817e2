"""kubeflow_map on bodies shaped as KFP's v2beta1 API sends them (tests/fixtures/kubeflow,
each with the doc it follows): states, tasks without KFP's own nodes, TFX order,
the blessing derived from the tasks, parameters as JSON text, hostile text kept."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from devstack.kubeflow.seed import TFX as SEEDED_TFX
from opsdash.model import RunStatus
from opsdash.sources import kubeflow_map as kmap
from opsdash.sources.tfx import TFX_COMPONENTS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kubeflow"
TFX_ORDER = list(SEEDED_TFX)  # the components of the emulator's TFX pipeline
HOSTILE = "[bold]x[/] \x1b[2J [link=http://evil]y[/link] \u202eevil"


def body(name: str) -> dict:
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert data["doc"].startswith("https://") and data["status"] in (200, 400)
    return data["body"]


def run_of(name: str, **kw):
    return kmap.run_from(body(name), source="kubeflow:kf", project="team-a", **kw)


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("RUNTIME_STATE_UNSPECIFIED", RunStatus.QUEUED),
        ("PENDING", RunStatus.QUEUED),
        ("RUNNING", RunStatus.RUNNING),
        ("CANCELING", RunStatus.RUNNING),
        ("PAUSED", RunStatus.RUNNING),
        ("SUCCEEDED", RunStatus.SUCCESS),
        ("SKIPPED", RunStatus.SKIPPED),
        ("FAILED", RunStatus.FAILED),
        ("CANCELED", RunStatus.CANCELLED),
    ],
)
def test_the_nine_runtime_states(word, status):
    run = copy.deepcopy(body("run_running.json"))
    run["state"] = word
    mapped = kmap.run_from(run, source="kubeflow:kf", project="p")
    assert mapped.status is status and mapped.vendor_status == word


def test_a_missing_or_unknown_state_is_queued_and_says_so():
    assert kmap.status_of(None) == (RunStatus.QUEUED, "RUNTIME_STATE_UNSPECIFIED")
    assert kmap.status_of("NEW_WORD") == (RunStatus.QUEUED, "NEW_WORD")


def test_a_blessed_and_pushed_tfx_run():
    names = {"p-churn": "churn-tfx"}
    run = run_of("run_blessed.json", pipeline_names=names, ui_root="https://kf.example/pipeline")
    assert run.provider == "kubeflow" and run.pipeline == "churn-tfx"
    assert run.pipeline_id == "v-churn-2" and run.pipeline_key == "v-churn-2"
    assert run.status is RunStatus.SUCCESS and run.finished is not None
    assert run.started is not None and run.created is not None
    assert run.verdict == "blessed · pushed" and run.pushed
    assert run.message == "churn retrain 12-01"
    assert run.url == f"https://kf.example/pipeline/#/runs/details/{run.id}"
    assert run.parameters == (("model", '"churn"'), ("epochs", "5"), ("learning_rate", "0.01"))


def test_a_not_blessed_run_whose_pusher_was_skipped():
    run = run_of("run_not_blessed.json")
    assert run.status is RunStatus.SUCCESS
    assert run.verdict == "not blessed · not pushed" and not run.pushed


def test_a_tfx_run_failed_in_trainer_has_no_verdict():
    run = run_of("run_tfx_failed.json")
    assert run.status is RunStatus.FAILED and run.verdict == "" and not run.pushed


def test_tasks_drop_kfps_own_nodes_and_come_in_tfx_order():
    raw = body("run_blessed.json")["run_details"]["task_details"]
    names = [t["display_name"] for t in raw]
    assert "root" in names and "root-driver" in names and "Trainer-driver" in names
    assert names != TFX_ORDER  # the API gives them in no useful order
    jobs = kmap.jobs_from(body("run_blessed.json"))
    assert [j.name for j in jobs] == TFX_ORDER
    assert {j.status for j in jobs} == {RunStatus.SUCCESS}
    assert jobs[0].operator == "ExampleGen" and jobs[4].operator == "Trainer"
    assert all(j.id.isdigit() for j in jobs)  # task ids, not names
    assert all(j.started and j.finished for j in jobs)


def test_a_skipped_pusher_is_a_skipped_job_without_pod():
    run = body("run_not_blessed.json")
    jobs = kmap.jobs_from(run)
    pusher = jobs[-1]
    assert pusher.name == "Pusher" and pusher.status is RunStatus.SKIPPED
    assert pusher.id not in kmap.pods_of(run)
    assert jobs[0].id in kmap.pods_of(run)


def test_a_running_run_and_its_tasks():
    run = run_of("run_running.json")
    assert run.status is RunStatus.RUNNING and run.finished is None and run.started
    jobs = kmap.jobs_from(body("run_running.json"))
    assert [j.name for j in jobs] == ["extract"]  # the others are not created yet
    assert jobs[0].status is RunStatus.RUNNING and jobs[0].finished is None


def test_an_epoch_finished_at_means_unfinished():
    run = copy.deepcopy(body("run_running.json"))
    run["finished_at"] = "1970-01-01T00:00:00Z"
    assert kmap.run_from(run, source="s", project="p").finished is None
    assert kmap.parse_time("not a time") is None and kmap.parse_time(None) is None


def test_tries_come_from_the_failed_main_jobs():
    run = copy.deepcopy(body("run_push_failed.json"))
    task = next(t for t in run["run_details"]["task_details"] if t["display_name"] == "train")
    task["executor_detail"]["failed_main_jobs"] = ["pod-try1", "pod-try2"]
    job = next(j for j in kmap.jobs_from(run) if j.name == "train")
    assert (job.attempt, job.attempts) == (3, 3)


def test_a_retried_run_counts_its_attempts():
    run = copy.deepcopy(body("run_push_failed.json"))
    at = run["state_history"][-1]["update_time"]
    run["state_history"] += [{"update_time": at, "state": "PENDING"}]
    run["state"] = "PENDING"
    assert kmap.run_from(run, source="s", project="p").attempt == 2


def test_flags_name_deploy_and_training_by_any_id():
    def flags(*ids):
        return "flaky-train" in ids, "v-churn-2" in ids

    names = {"p-flaky": "flaky-train", "p-churn": "churn-tfx"}
    failed = run_of("run_push_failed.json", pipeline_names=names, flags=flags)
    assert failed.is_deploy and not failed.is_training
    blessed = run_of("run_blessed.json", pipeline_names=names, flags=flags)
    assert blessed.is_training and not blessed.is_deploy


def test_a_list_page_maps_every_run():
    page = body("list_runs_page1.json")
    assert page["next_page_token"] and page["total_size"] > len(page["runs"])
    runs = [kmap.run_from(r, source="s", project="p") for r in page["runs"]]
    assert [r.id for r in runs] == [r["run_id"] for r in page["runs"]]


def test_definitions_name_the_newest_version():
    pipeline = next(p for p in body("pipelines.json")["pipelines"] if p["pipeline_id"] == "p-churn")
    version = body("pipeline_versions.json")["pipeline_versions"][0]
    definition = kmap.definition_from(
        pipeline,
        version,
        source="kubeflow:kf",
        ui_root="https://kf.example/pipeline",
        flags=lambda *ids: (False, "churn-tfx" in ids),
    )
    assert definition.id == "v-churn-2" and definition.name == "churn-tfx"
    assert definition.paused is None and definition.tags == ("v2",) and definition.is_training
    assert definition.url.endswith("/#/pipelines/details/p-churn/version/v-churn-2")
    empty = kmap.definition_from(pipeline, None, source="s")
    assert empty.id == "p-churn" and empty.problem == "no pipeline version to run"


def test_an_inline_spec_run_still_maps():
    run = copy.deepcopy(body("run_running.json"))
    del run["pipeline_version_reference"]
    run["pipeline_spec"] = {"pipelineInfo": {"name": "x"}}
    mapped = kmap.run_from(run, source="s", project="p")
    assert mapped.pipeline == "(inline pipeline spec)" and mapped.pipeline_id == ""


def test_hostile_text_survives_literally():
    run = copy.deepcopy(body("run_blessed.json"))
    run["display_name"] = HOSTILE
    run["runtime_config"]["parameters"] = {HOSTILE: HOSTILE, "n": {"nested": [1, HOSTILE]}}
    for task in run["run_details"]["task_details"]:
        if task["display_name"] == "Trainer":
            task["display_name"] = f"Trainer.{HOSTILE}"
    mapped = kmap.run_from(run, source="s", project="p", pipeline_names={"p-churn": HOSTILE})
    assert mapped.message == HOSTILE and mapped.pipeline == HOSTILE
    assert mapped.parameters[0] == (HOSTILE, json.dumps(HOSTILE, ensure_ascii=False))
    assert json.loads(mapped.parameters[1][1]) == {"nested": [1, HOSTILE]}
    jobs = kmap.jobs_from(run)
    assert f"Trainer.{HOSTILE}" in [j.name for j in jobs]
    assert mapped.verdict == "blessed · pushed"  # a second Trainer instance is still TFX


def test_garbage_does_not_crash():
    for junk in ({}, {"run_details": "x"}, {"run_details": {"task_details": [1, None, "x"]}}):
        mapped = kmap.run_from(junk, source="s", project="p")
        assert mapped.status is RunStatus.QUEUED and kmap.jobs_from(junk) == []
    assert kmap.parameters_of({"runtime_config": {"parameters": "no"}}) == ()


def test_the_error_fixture_is_grpc_gateways_status():
    error = body("error_invalid_filter.json")
    assert error["code"] == 3 and "nope" in error["message"] and error["details"]


def test_every_component_word_is_known_to_tfx():
    assert all(kmap.tfx.component_of(name) in TFX_COMPONENTS for name in TFX_ORDER)


def test_a_model_version_tagged_with_the_kfp_run_links_to_it():
    from opsdash.model.lineage import link
    from opsdash.model.ml import ModelVersion

    run = run_of("run_blessed.json", pipeline_names={"p-churn": "churn-tfx"})
    tagged = ModelVersion(
        "churn", "4", lineage=(("kfp.run_id", run.id), ("kfp.pipeline", "churn-tfx"))
    )
    other = ModelVersion("churn", "5", lineage=(("kfp.run_id", run.id), ("kfp.pipeline", "x")))
    lineage = link([run], [tagged, other])
    assert lineage.run_for(tagged) is run and lineage.run_for(other) is None
