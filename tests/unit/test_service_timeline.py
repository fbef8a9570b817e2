"""The service timeline: pipeline run -> model version -> alias move -> metric."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsdash.config import Config, DoraConfig, ServiceConfig
from opsdash.dora.source import DoraSource
from opsdash.model import PipelineRun, RunStatus
from opsdash.model.ml import ModelRow, ModelsSnapshot, ModelVersion, ThresholdState
from opsdash.store import DeploymentEvent

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
CONFIG = Config(
    path=None,
    services=(
        ServiceConfig(name="churn-svc", models=("churn",), pipelines=("ml",)),
        ServiceConfig(name="shop", pipelines=("api",)),
    ),
    dora=DoraConfig(timezone="UTC"),
)


def run(source, pipeline, run_id, at, **kw) -> PipelineRun:
    return PipelineRun(
        source=source,
        provider=source.split(":")[0],
        project="server",
        pipeline=pipeline,
        id=run_id,
        status=kw.pop("status", RunStatus.SUCCESS),
        started=at,
        **kw,
    )


def version(n: str, at, lineage=()) -> ModelVersion:
    return ModelVersion("churn", n, status="READY", created=at, lineage=lineage)


def models(*versions, value=0.83) -> ModelsSnapshot:
    row = ModelRow(
        "mlflow:reg",
        "mlflow",
        "churn",
        "accuracy",
        "4",
        value,
        state=ThresholdState.BREACH,
        warning=0.9,
        breach=0.85,
        alias="champion",
    )
    return ModelsSnapshot("mlflow:reg", "mlflow", (row,), tuple(versions), ("churn",), "champion")


def event(store, service, version, at, kind="model", source="mlflow"):
    store.add_deployment(
        DeploymentEvent(
            at.isoformat(), service, "h", kind, "", "", "success", source, "", version,
            f"{source}:{service}:{version}:{at.isoformat()}",
        )
    )  # fmt: skip


def test_run_version_alias_move_and_metric_read_in_order(new_store, tmp_path):
    store = new_store()
    event(store, "churn-svc", "4", T0 + timedelta(minutes=40))  # champion -> v4
    event(store, "shop", "a" * 40, T0 + timedelta(minutes=50), kind="app", source="github:api")
    training = run(
        "airflow:ml", "train_churn", "manual__1", T0, is_training=True, verdict="blessed · pushed"
    )
    other_ci = run("github:api", "ci.yml", "77", T0 + timedelta(minutes=5), number=77)
    v4 = version(
        "4",
        T0 + timedelta(minutes=20),
        (("airflow.dag_id", "train_churn"), ("airflow.dag_run_id", "manual__1")),
    )
    old = version("3", T0 - timedelta(days=1))  # no lineage tags
    source = DoraSource(CONFIG, store)

    timeline = source.timeline("churn-svc", [training, other_ci], models=[models(v4, old)])

    assert [(e.what, e.detail) for e in timeline] == [
        ("metric", "churn champion v4 accuracy 0.83 (breach < 0.85)"),
        ("alias move", "churn champion -> v4"),
        ("registered", "churn v4 produced by train_churn manual__1"),
        ("pipeline", "training train_churn manual__1 -> churn v4"),
        ("registered", "churn v3"),
    ]
    assert timeline[0].result == "breach"
    assert timeline[3].result == "success · blessed · pushed"
    assert timeline[3].source == "airflow:ml"
    # The overall row takes everything; the shop's line stays the shop's.
    shop = source.timeline("shop", [training, other_ci], models=[models(v4, old)])
    assert [e.what for e in shop] == ["deploy", "pipeline"]
    assert len(source.timeline(None, [training, other_ci], models=[models(v4, old)])) == 7


def test_a_run_belongs_to_the_service_whose_model_it_produced(new_store, tmp_path):
    """A Kubeflow source no [[service]] lists: its run is the model's service's
    because it registered a version of that model (kfp tags on the version's run)."""
    kfp = run("kubeflow:kfp", "churn-pipeline", "4f1c", T0)
    unrelated = run("kubeflow:kfp", "other", "9e2d", T0)
    v5 = version("5", T0 + timedelta(minutes=9), (("kfp.run_id", "4f1c"),))
    timeline = DoraSource(CONFIG, new_store()).timeline(
        "churn-svc", [kfp, unrelated], models=[models(v5)]
    )
    assert [e.what for e in timeline] == ["metric", "registered", "pipeline"]
    assert timeline[2].detail == "churn-pipeline 4f1c -> churn v5"


def test_configured_run_tags_link_and_an_unpolled_run_is_named(new_store, tmp_path):
    nightly = run("airflow:ml", "nightly", "nightly-7", T0)
    by_tag = version("6", T0 + timedelta(minutes=1), (("train_run", "nightly-7"),))
    unpolled = version(
        "5",
        T0 - timedelta(hours=1),
        (("airflow.dag_id", "train_churn"), ("airflow.dag_run_id", "manual__0")),
    )
    timeline = DoraSource(CONFIG, new_store()).timeline(
        "churn-svc", [nightly], models=[models(by_tag, unpolled)]
    )
    details = [e.detail for e in timeline if e.what == "registered"]
    assert details == [
        "churn v6 produced by nightly nightly-7",
        "churn v5 produced by train_churn manual__0",
    ]


def test_without_models_the_timeline_is_what_it_was(new_store, tmp_path):
    store = new_store()
    event(store, "churn-svc", "4", T0)
    (entry,) = DoraSource(CONFIG, store).timeline("churn-svc")
    assert (entry.what, entry.detail) == ("deploy", "churn-svc 4")
