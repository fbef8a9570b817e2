"""MlflowSource against a real MLflow tracking server (devstack.mlflow_server).

One server for the module (~10 s to start, ~500 MB), seeded with churn v1..v3
(champion -> v2, challenger -> v3). Expected values are read from MLflow's own
REST API, not restated. The kill test runs last: it restarts the server.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from devstack.mlflow_server import (
    MARKUP_MODEL,
    MlflowServer,
    mlflow_binary,
    rest,
    seed,
    servers_dir,
)
from devstack.replay import ReplayServer, Reply
from opsdash.actions import models
from opsdash.model.lineage import link, link_tags
from opsdash.model.ml import ThresholdState
from opsdash.model.pipelines import PipelineRun, RunStatus
from opsdash.sources.base import SourceError
from opsdash.sources.http import HttpError
from opsdash.sources.mlflow import MlflowConfig, MlflowSource
from tests.missing import missing
from tests.pilot import sync_wait


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory):
    if mlflow_binary() is None:
        reason = f"MLflow is not installed in {servers_dir() / 'mlflow'} (run scripts/test)"
        missing(reason)
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    with server:
        server.seeded = seed(server.url)
        yield server


def config(server: MlflowServer, **overrides) -> MlflowConfig:
    values = {
        "name": "test",
        "url": server.url,
        "metrics": ("accuracy", "loss"),
        "lower_is_better": ("loss",),
        "warning": (("accuracy", 0.92), ("loss", 0.08)),
        "breach": (("accuracy", 0.85), ("loss", 0.15)),
        "timeout": 5.0,
    }
    values.update(overrides)
    return MlflowConfig(**values)


@pytest.fixture
def source(mlflow):
    src = MlflowSource(config(mlflow))
    yield src
    src.close()


def alias_version(server: MlflowServer, model: str, alias: str) -> str:
    body = rest(
        server.url, "GET", "registered-models/alias", params={"name": model, "alias": alias}
    )
    return body["model_version"]["version"]


def run_metric(server: MlflowServer, model: str, version: str, metric: str) -> float:
    """The latest value MLflow itself reports for the run behind `model` `version`."""
    mv = rest(server.url, "GET", "model-versions/get", params={"name": model, "version": version})[
        "model_version"
    ]
    run = rest(server.url, "GET", "runs/get", params={"run_id": mv["run_id"]})["run"]
    return next(m["value"] for m in run["data"]["metrics"] if m["key"] == metric)


def row(snapshot, model: str, metric: str):
    return next(r for r in snapshot.rows if r.model == model and r.metric == metric)


def new_model(server: MlflowServer) -> str:
    """A fresh registered model with one version per seeded run, champion -> v1."""
    name = f"promo-{uuid.uuid4().hex[:6]}"
    rest(server.url, "POST", "registered-models/create", {"name": name})
    for run_id in server.seeded.runs.values():
        rest(
            server.url,
            "POST",
            "model-versions/create",
            {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id},
        )
    rest(
        server.url,
        "POST",
        "registered-models/alias",
        {"name": name, "alias": "champion", "version": "1"},
    )
    return name


# --- reading --------------------------------------------------------------------------


def test_poll_shows_champion_and_challenger_as_mlflow_reports_them(mlflow, source):
    snap = source.poll()
    assert snap.kind == "mlflow" and snap.source == "mlflow:test"
    assert {"churn", MARKUP_MODEL} <= set(snap.models)
    champion = alias_version(mlflow, "churn", "champion")
    challenger = alias_version(mlflow, "churn", "challenger")
    assert (champion, challenger) == (mlflow.seeded.versions["train-v2"], "3")

    acc = row(snap, "churn", "accuracy")
    assert acc.version == champion and acc.alias == "champion"
    assert acc.value == run_metric(mlflow, "churn", champion, "accuracy")
    assert acc.challenger_alias == "challenger" and acc.challenger_version == challenger
    assert acc.challenger_value == run_metric(mlflow, "churn", challenger, "accuracy")
    assert acc.difference == pytest.approx(acc.challenger_value - acc.value)
    assert acc.challenger_better is True
    assert acc.state is ThresholdState.WARNING  # 0.91: below warning 0.92, above breach 0.85

    loss = row(snap, "churn", "loss")  # lower is better: 0.09 is above warning 0.08
    assert loss.direction == "lower" and loss.state is ThresholdState.WARNING
    assert loss.value == run_metric(mlflow, "churn", champion, "loss")
    assert loss.challenger_better is True  # 0.07 < 0.09

    # The model named in Rich markup comes through as plain text, untouched.
    markup = row(snap, MARKUP_MODEL, "accuracy")
    assert markup.model == "[red]churn" and markup.challenger_version == ""
    assert markup.state is ThresholdState.BREACH  # v1's run ended at 0.80

    versions = snap.versions_of("churn")
    assert [v.version for v in versions] == ["3", "2", "1"]
    by_version = {v.version: v for v in versions}
    assert by_version["2"].aliases == ("champion",)
    assert by_version["3"].aliases == ("challenger",)
    assert by_version["2"].run_id == mlflow.seeded.runs["train-v2"]
    assert by_version["2"].run_name == "train-v2" and by_version["2"].run_status == "FINISHED"
    assert by_version["1"].metric("accuracy") == run_metric(mlflow, "churn", "1", "accuracy")
    assert by_version["2"].status == "READY" and by_version["2"].created is not None


def test_trend_is_the_serving_runs_history(mlflow, source):
    acc = row(source.poll(), "churn", "accuracy")
    history = rest(
        mlflow.url,
        "GET",
        "metrics/get-history",
        params={"run_id": acc.run_id, "metric_key": "accuracy"},
    )["metrics"]
    assert [(p.step, p.value) for p in acc.trend] == [(m["step"], m["value"]) for m in history]
    assert [p.value for p in acc.trend] == mlflow.seeded.histories["train-v2"]
    assert all(p.at is not None for p in acc.trend)


def test_finished_runs_are_read_once(source):
    assert len(source.poll().models) > 1
    before = source.client.stats["requests"]
    source.poll()
    # one models search, one search of all versions; runs and histories come from the cache
    assert source.client.stats["requests"] - before == 2


def test_a_large_registry_is_searched_model_by_model(mlflow, source, monkeypatch):
    """Past ALL_VERSIONS versions the one search would read more than is shown."""
    whole = source.poll()
    monkeypatch.setattr(MlflowSource, "ALL_VERSIONS", 1)
    source.poll()
    before = source.client.stats["requests"]
    again = source.poll()
    assert source.client.stats["requests"] - before == 1 + 1 + len(whole.models)
    assert again.rows == whole.rows and again.versions == whole.versions


def test_pages_are_followed(mlflow, source):
    paged = MlflowSource(config(mlflow))
    paged.PAGE_SIZE = 1
    try:
        one_by_one = paged.poll()
    finally:
        paged.close()
    full = source.poll()
    assert one_by_one.models == full.models
    assert [(v.model, v.version) for v in one_by_one.versions] == [
        (v.model, v.version) for v in full.versions
    ]
    assert one_by_one.rows == full.rows


def test_configured_models_only_and_a_missing_name_is_a_note(mlflow):
    src = MlflowSource(config(mlflow, models=("churn", "no-such-model"), metrics=("accuracy",)))
    try:
        snap = src.poll()
    finally:
        src.close()
    assert snap.models == ("churn",)
    assert [(r.model, r.metric) for r in snap.rows] == [("churn", "accuracy")]
    assert any("no-such-model" in note for note in snap.notes)


def test_without_the_serving_alias_the_newest_version_is_shown(mlflow):
    src = MlflowSource(config(mlflow, models=("churn",), alias="production"))
    try:
        acc = row(src.poll(), "churn", "accuracy")
    finally:
        src.close()
    assert acc.version == "3" and acc.alias == ""
    assert "no production alias" in acc.note


def tagged_version(server: MlflowServer, run_tags: dict[str, str], version_tags=()) -> str:
    """A fresh model whose one version comes from a finished run carrying `run_tags`."""
    name = f"lineage-{uuid.uuid4().hex[:6]}"
    run = rest(
        server.url,
        "POST",
        "runs/create",
        {
            "experiment_id": server.seeded.experiment_id,
            "run_name": f"{name}-train",
            "tags": [{"key": k, "value": v} for k, v in run_tags.items()],
        },
    )["run"]["info"]
    rest(server.url, "POST", "runs/log-batch", {"run_id": run["run_id"], "metrics": [
        {"key": "accuracy", "value": 0.9, "timestamp": 1, "step": 0}
    ]})  # fmt: skip
    rest(server.url, "POST", "runs/update", {"run_id": run["run_id"], "status": "FINISHED"})
    rest(server.url, "POST", "registered-models/create", {"name": name})
    rest(
        server.url,
        "POST",
        "model-versions/create",
        {
            "name": name,
            "source": f"runs:/{run['run_id']}/model",
            "run_id": run["run_id"],
            "tags": [{"key": k, "value": v} for k, v in version_tags],
        },
    )
    return name


def airflow_run(dag: str, run_id: str) -> PipelineRun:
    return PipelineRun(
        source="airflow:ml",
        provider="airflow",
        project="ml",
        pipeline=dag,
        id=run_id,
        status=RunStatus.SUCCESS,
        is_training=True,
    )


def test_a_version_trained_by_an_airflow_run_is_linked_to_it(mlflow):
    run_id = "manual__2026-03-01T10:00:00+00:00"
    name = tagged_version(
        mlflow, {"airflow.dag_id": "train_churn", "airflow.dag_run_id": run_id, "team": "ml"}
    )
    src = MlflowSource(config(mlflow, models=(name,), metrics=("accuracy",)))
    try:
        snap = src.poll()
        before = src.client.stats["requests"]
        again = src.poll()
        requests = src.client.stats["requests"] - before
    finally:
        src.close()
    (version,) = snap.versions
    assert version.lineage == (("airflow.dag_id", "train_churn"), ("airflow.dag_run_id", run_id))
    assert again.versions == snap.versions
    assert requests == 2  # the model and its versions: the run's tags came with its metrics
    produced = airflow_run("train_churn", run_id)
    same_id_other_dag = airflow_run("other_dag", run_id)
    lineage = link([same_id_other_dag, produced], snap.versions)
    assert lineage.run_for(version) is produced
    assert lineage.versions_for(produced) == (version,)


def test_a_configured_tag_on_the_version_links_it(mlflow):
    name = tagged_version(mlflow, {"team": "ml"}, version_tags=[("train_run", "nightly-42")])
    src = MlflowSource(
        config(mlflow, models=(name,), metrics=("accuracy",), run_tags=("train_run",))
    )
    try:
        (version,) = src.poll().versions
    finally:
        src.close()
    assert version.lineage == (("train_run", "nightly-42"),)
    run = airflow_run("nightly", "nightly-42")
    assert link([run], [version]).run_for(version) is None  # not a default tag
    assert link([run], [version], link_tags(("train_run",))).run_for(version) is run


# --- acting ---------------------------------------------------------------------------


def test_promote_moves_the_alias_and_rollback_moves_it_back(mlflow, source):
    model = new_model(mlflow)
    plan = models.plan_promote(source, model, "v3")
    assert (plan.alias, plan.old_version, plan.new_version) == ("champion", "1", "3")
    assert dict(plan.new_metrics)["accuracy"] == run_metric(mlflow, model, "3", "accuracy")
    assert dict(plan.old_metrics)["accuracy"] == run_metric(mlflow, model, "1", "accuracy")
    assert alias_version(mlflow, model, "champion") == "1"  # a plan changes nothing

    change = models.promote(source, model, 3)
    assert (change.old_version, change.new_version, change.action) == ("1", "3", "promote")
    assert alias_version(mlflow, model, "champion") == "3"
    tags = {
        t["key"]: t["value"]
        for t in rest(mlflow.url, "GET", "registered-models/get", params={"name": model})[
            "registered_model"
        ]["tags"]
    }
    assert tags["opsdash.previous.champion"] == "1"
    assert tags["opsdash.set.champion"] == "3"

    acc = row(source.poll(), model, "accuracy")
    assert acc.version == "3" and acc.previous_version == "1"
    assert abs(acc.serving_changed_at - datetime.now(UTC)) < timedelta(minutes=5)

    # Another opsdash (a fresh source) can roll back from the recorded tags.
    other = MlflowSource(config(mlflow))
    try:
        back = models.plan_rollback(other, model)
        assert (back.old_version, back.new_version) == ("3", "1")
        change = models.rollback(other, model)
    finally:
        other.close()
    assert (change.old_version, change.new_version, change.action) == ("3", "1", "rollback")
    assert alias_version(mlflow, model, "champion") == "1"


def test_an_opsdash_killed_between_the_alias_move_and_its_record_is_put_right(
    mlflow, source, tmp_path
):
    """Its journal says what it was moving; the next start records the previous
    version (so u can roll back) only if the alias still points where it was put."""
    from opsdash.actions.base import ActionPlan
    from opsdash.actions.journal import ActionJournal
    from opsdash.actions.recovery import FINISH_MOVE, find_interrupted
    from opsdash.actions.runner import ActionRunner
    from opsdash.store import Store

    model = new_model(mlflow)
    store = Store(tmp_path / "opsdash.db")
    plan = ActionPlan(action="promote", kind="model", target=model, target_id=model,
                      host=source.label)  # fmt: skip
    entry = ActionRunner(store)._entry(plan, "running", None, "")
    audit_id = store.begin_action(entry, model, {})
    journal = ActionJournal(store, audit_id)
    journal.facts(model=model, alias="champion", old_version="1", new_version="3")

    def dies_before_the_record(step, detail):
        journal(step, detail)
        if step == "tags":
            raise RuntimeError("killed")  # the process ends here, as with SIGKILL

    with pytest.raises(RuntimeError, match="killed"):
        models.promote(source, model, 3, progress=dies_before_the_record)
    assert alias_version(mlflow, model, "champion") == "3"
    with pytest.raises(SourceError):
        models.plan_rollback(source, model)  # nothing recorded: u could not roll back
    # As if its opsdash were gone: a pid that is not alive.
    store._db.execute("UPDATE action_journal SET pid = 2147483646")

    [item] = find_interrupted(store, {})
    assert item.repair == FINISH_MOVE and item.last_step == "tags"
    done = models.finish_move(source, model, "champion", "1", "3")
    assert "recorded v1 as the version before" in done
    back = models.plan_rollback(source, model)
    assert (back.old_version, back.new_version) == ("3", "1")
    assert "nothing to do" in models.finish_move(source, model, "champion", "3", "2")
    store.close()


def test_promote_to_another_alias(mlflow, source):
    model = new_model(mlflow)
    change = models.promote(source, model, 2, alias="challenger")
    assert (change.alias, change.old_version, change.new_version) == ("challenger", "", "2")
    assert alias_version(mlflow, model, "challenger") == "2"
    assert alias_version(mlflow, model, "champion") == "1"


def test_refusals_are_one_clear_line(mlflow, source):
    model = new_model(mlflow)
    cases = [
        (lambda: models.rollback(source, model), "no earlier champion version recorded"),
        (lambda: models.promote(source, model, 1), "already is champion"),
        (lambda: models.promote(source, model, 9), "has no version 9"),
        (lambda: models.promote(source, "no-such-model", 1), "not found"),
        (lambda: models.plan_promote(source, model, "latest"), "not a model version number"),
    ]
    for action, words in cases:
        with pytest.raises(SourceError, match=words) as info:
            action()
        assert "\n" not in str(info.value)
    read_only = MlflowSource(config(mlflow, read_only=True))
    try:
        assert models.plan_promote(read_only, model, 2).new_version == "2"  # planning is allowed
        with pytest.raises(SourceError, match="read-only"):
            models.promote(read_only, model, 2)
    finally:
        read_only.close()
    assert alias_version(mlflow, model, "champion") == "1"


def test_rollback_refuses_after_a_move_outside_opsdash(mlflow, source):
    model = new_model(mlflow)
    models.promote(source, model, 3)
    rest(
        mlflow.url,
        "POST",
        "registered-models/alias",
        {"name": model, "alias": "champion", "version": "2"},
    )
    with pytest.raises(SourceError, match="moved outside opsdash"):
        models.rollback(source, model)
    assert alias_version(mlflow, model, "champion") == "2"
    acc = row(source.poll(), model, "accuracy")
    assert acc.version == "2" and acc.previous_version == ""  # the record is stale


# --- failures -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (Reply(200, "<html>maintenance</html>"), "malformed response: not JSON"),
        (Reply(200, None), "malformed response: an empty body"),
        (Reply(200, [1, 2]), "malformed response: JSON list"),
        (Reply(200, {"registered_models": "nope"}), "unexpected response shape"),
        (Reply(200, {"registered_models": [{"no_name": 1}]}), "unexpected response shape"),
        (Reply(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": "No API"}), "HTTP 404"),
    ],
)
def test_malformed_answers_are_one_line_errors(reply, words):
    with ReplayServer() as fake:
        fake.add("GET", "/api/2.0/mlflow/registered-models/search", reply)
        src = MlflowSource(MlflowConfig(name="fake", url=fake.url, token="s3cret-token"))
        try:
            with pytest.raises(HttpError, match=words) as info:
                src.poll()
        finally:
            src.close()
        assert "\n" not in str(info.value) and "s3cret-token" not in str(info.value)
        assert fake.calls()[0].headers["authorization"] == "Bearer s3cret-token"


def test_a_malformed_run_is_a_clear_error():
    with ReplayServer() as fake:
        model = {"name": "m", "aliases": [{"alias": "champion", "version": "1"}]}
        fake.add("GET", "/api/2.0/mlflow/registered-models/search", Reply(body={
            "registered_models": [model]}))  # fmt: skip
        fake.add("GET", "/api/2.0/mlflow/model-versions/search", Reply(body={
            "model_versions": [{"name": "m", "version": "1", "run_id": "r1"}]}))  # fmt: skip
        fake.add("GET", "/api/2.0/mlflow/runs/get", Reply(body={"run": {"data": {
            "metrics": [{"key": "accuracy", "value": "high"}]}}}))  # fmt: skip
        src = MlflowSource(MlflowConfig(name="fake", url=fake.url, user="u", password="pw-123"))
        try:
            with pytest.raises(HttpError, match=r"runs/get: unexpected response shape"):
                src.poll()
        finally:
            src.close()
        assert fake.calls()[0].headers["authorization"].startswith("Basic ")


def test_killed_server_is_a_clear_error_and_a_restart_recovers(mlflow, source):
    assert source.poll().rows
    mlflow.kill()
    with pytest.raises(HttpError) as info:
        source.poll()
    message = str(info.value)
    assert "\n" not in message and "cannot connect" in message
    assert "registered-models/search" in message
    with pytest.raises(HttpError):
        models.promote(source, "churn", 3)
    mlflow.start()
    snap = sync_wait(lambda: _poll_or_none(source), timeout=60)
    assert row(snap, "churn", "accuracy").version == mlflow.seeded.versions["train-v2"]


def _poll_or_none(source):
    try:
        return source.poll()
    except HttpError:
        return None
