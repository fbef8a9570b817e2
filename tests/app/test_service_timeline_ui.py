"""The service screen's timeline through the real app: the training run, the
version it registered, the serving alias moving to it and the accuracy after
it, in that order, on one screen (fixed sources, a real store)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from opsdash.model import PipelineRun, PipelineSnapshot, RunStatus
from opsdash.model.deployments import DeploymentsSnapshot
from opsdash.screens.deployments import ServiceScreen
from opsdash.store import DeploymentEvent, Store
from opsdash.widgets.resource_table import ResourceTable
from tests.fakes import FixedModelsSource, FixedPipelineSource, add_sample_deployments
from tests.pilot import fixed_app, screen_text, settle, wait_for

RUN_ID = "manual__[bold]2026[/]"  # untrusted text: shown as written


class TrainingPipelines(FixedPipelineSource):
    """The fixed CI runs plus the training run that produced churn v2."""

    def poll(self):
        snapshot = super().poll()
        v2 = next(v for v in FixedModelsSource().poll().versions if v.version == "2")
        training = PipelineRun(
            source=self.label,
            provider="airflow",
            project="ml",
            pipeline="train_churn",
            id=RUN_ID,
            status=RunStatus.SUCCESS,
            started=v2.created - timedelta(minutes=30),
            is_training=True,
            verdict="blessed · pushed",
            pushed=True,
        )
        return PipelineSnapshot(snapshot.source, snapshot.provider, (*snapshot.runs, training))


class TaggedModels(FixedModelsSource):
    """The fixed registry whose v2 carries the training run's Airflow tags."""

    def poll(self):
        snapshot = super().poll()
        tags = (("airflow.dag_id", "train_churn"), ("airflow.dag_run_id", RUN_ID))
        versions = tuple(
            replace(v, lineage=tags) if v.version == "2" else v for v in snapshot.versions
        )
        return replace(snapshot, versions=versions)


async def test_run_version_alias_move_and_accuracy_in_order(tmp_path):
    store = Store(tmp_path / "db")
    add_sample_deployments(store)  # churn has model deploys: its row is there
    moved = datetime.now().astimezone() - timedelta(days=2, hours=3)  # the rows' serving_changed_at
    store.add_deployment(
        DeploymentEvent(
            moved.isoformat(timespec="seconds"), "churn", "mlflow:registry", "model", "", "",
            "success", "mlflow", "production", "2", "mlflow:registry:churn:champion:2",
        )
    )  # fmt: skip
    app = fixed_app(store=store, pipelines=TrainingPipelines(), models=TaggedModels())
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        snapshot = app.poller.data("dora:keys")
        assert isinstance(snapshot, DeploymentsSnapshot)
        app.show_service(next(r for r in snapshot.services if r.service == "churn"))
        await wait_for(pilot, lambda: isinstance(app.screen, ServiceScreen))
        await wait_for(pilot, lambda: app.screen.query("#timeline-table"))
        table = app.screen.query_one("#timeline-table", ResourceTable)
        await wait_for(pilot, lambda: any(e.what == "metric" for e in table.records.values()))
        entries = [table.records[key] for key in table._order]
        # v3 registered in between (later than v2): only v2's story is compared
        mlops = [(e.what, e.detail) for e in entries if "v2" in e.detail and e.what != "deploy"]
        assert mlops == [
            ("metric", "churn champion v2 accuracy 0.921 (breach < 0.85)"),
            ("alias move", "churn champion -> v2"),
            ("registered", f"churn v2 produced by train_churn {RUN_ID}"),
            ("pipeline", f"training train_churn {RUN_ID} -> churn v2"),
        ]
        text = screen_text(app)
        assert "churn champion -> v2" in text and "[bold]2026[/]" in text
