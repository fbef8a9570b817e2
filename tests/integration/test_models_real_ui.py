"""The Models panel against a real MLflow registry and a real Prometheus, from the keyboard.

MLflow (seeded: churn v1..v3, champion -> v2, challenger -> v3): the panel shows
the values MLflow holds, P moves champion to v3 in MLflow itself and u moves it
back. Prometheus scrapes an exporter the test controls: dropping the exported
accuracy below the breach threshold shows `breach` and notifies once.
"""

from __future__ import annotations

import pytest

from devstack.mlflow_server import MlflowServer, mlflow_binary, rest, seed
from devstack.prometheus_server import Exporter, PrometheusServer, prometheus_binary
from opsdash.config import Config
from opsdash.model.ml import ModelRow, ThresholdState
from opsdash.screens.actions import ConfirmScreen
from opsdash.sources.mlflow import MlflowConfig
from opsdash.sources.prometheus import PrometheusConfig
from opsdash.store import Store
from opsdash.widgets.resource_table import ResourceTable
from tests.missing import missing
from tests.pilot import (
    confirm_and_finish,
    real_app,
    screen_text,
    select_row,
    settle,
    spy_notifications,
    wait_for,
)

DEADLINE = 60.0


def need(binary, what: str) -> None:
    if binary is None:
        reason = f"{what} is not installed (scripts/test installs it)"
        missing(reason)


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory):
    need(mlflow_binary(), "MLflow")
    with MlflowServer(tmp_path_factory.mktemp("mlflow-ui")) as server:
        server.seeded = seed(server.url)
        yield server


def rows(app) -> list[ModelRow]:
    table = app.screen.query_one("#models-table", ResourceTable)
    return [table.records[k] for k in table._order]


def row_of(app, model: str) -> ModelRow | None:
    return next((r for r in rows(app) if r.model == model), None)


def champion(server) -> str:
    body = rest(
        server.url, "GET", "registered-models/alias", params={"name": "churn", "alias": "champion"}
    )
    return body["model_version"]["version"]


def run_accuracy(server, version: str) -> float:
    mv = rest(server.url, "GET", "model-versions/get", params={"name": "churn", "version": version})
    run = rest(server.url, "GET", "runs/get", params={"run_id": mv["model_version"]["run_id"]})
    return next(m["value"] for m in run["run"]["data"]["metrics"] if m["key"] == "accuracy")


async def select(pilot, model: str) -> None:
    await select_row(pilot, "models-table", lambda r: r.model == model)


async def test_mlflow_values_promote_and_roll_back_from_the_keyboard(mlflow, tmp_path):
    store = Store(tmp_path / "db.sqlite")
    config = Config(
        path=None,
        refresh=1,
        sources=(
            MlflowConfig(
                name="reg", url=mlflow.url, breach=(("accuracy", 0.5),), refresh=1, timeout=5
            ),
        ),
    )
    app = real_app(config, store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        churn = await wait_for(pilot, lambda: row_of(app, "churn"), timeout=DEADLINE)
        assert (churn.version, churn.alias) == ("2", "champion")
        assert churn.value == pytest.approx(run_accuracy(mlflow, "2"))
        assert churn.challenger_version == "3"
        assert churn.challenger_value == pytest.approx(run_accuracy(mlflow, "3"))
        assert len(churn.trend) == len(mlflow.seeded.histories["train-v2"])
        assert "[red]churn" in screen_text(app)  # the markup-named model, literally

        await select(pilot, "churn")
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), timeout=DEADLINE)
        assert "champion v2 -> v3" in screen_text(app)
        await confirm_and_finish(pilot, DEADLINE)
        assert champion(mlflow) == "3"  # moved in MLflow itself
        await wait_for(pilot, lambda: (r := row_of(app, "churn")) and r.version == "3", DEADLINE)

        await select(pilot, "churn")
        await pilot.press("u")
        await confirm_and_finish(pilot, DEADLINE)
        assert champion(mlflow) == "2"
        await wait_for(pilot, lambda: (r := row_of(app, "churn")) and r.version == "2", DEADLINE)
    audit = [
        (e.action, e.kind, e.target, e.old_image, e.new_image, e.result)
        for e in store.audit_entries()
    ]
    assert audit == [
        ("rollback", "model", "churn", "v3", "v2", "ok"),
        ("promote", "model", "churn", "v2", "v3", "ok"),
    ]
    assert [(d.kind, d.version) for d in store.deployments()] == [("model", "2"), ("model", "3")]


async def test_prometheus_breach_shows_and_notifies_once(tmp_path):
    need(prometheus_binary(), "prometheus")
    with (
        Exporter() as exporter,
        PrometheusServer(tmp_path / "prom", targets=(exporter.target,)) as prometheus,
    ):
        exporter.set(0.95, model="fraud", version="7")
        query = 'model_accuracy{model="fraud"}'
        prometheus.wait_for(query)
        config = Config(
            path=None,
            refresh=1,
            sources=(
                PrometheusConfig(
                    name="prom",
                    url=prometheus.url,
                    query=query,
                    warning=0.9,
                    breach=0.85,
                    trend=120,
                    refresh=0.5,
                    timeout=5,
                ),
            ),
        )
        app = real_app(config)
        notes = spy_notifications(app)
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            row = await wait_for(pilot, lambda: row_of(app, "fraud"), timeout=DEADLINE)
            assert row.state is ThresholdState.OK and row.value == pytest.approx(0.95)
            exporter.set(0.80, model="fraud", version="7")
            await wait_for(
                pilot,
                lambda: (r := row_of(app, "fraud")) and r.state is ThresholdState.BREACH,
                timeout=DEADLINE,
            )
            assert "breach" in screen_text(app)
            for _ in range(6):  # more polls while still in breach: no new notification
                await pilot.pause(0.5)

            prometheus.kill()  # killed mid-session: error shown, last values kept as stale
            await wait_for(pilot, lambda: (r := row_of(app, "fraud")) and r.stale, timeout=DEADLINE)
            text = screen_text(app)
            assert "prometheus:prom error" in text and "breach stale" in text
            assert row_of(app, "fraud").value == pytest.approx(0.80)
            prometheus.start()  # back: recovers by itself
            await wait_for(
                pilot, lambda: (r := row_of(app, "fraud")) and not r.stale, timeout=DEADLINE
            )
        breaches = [n for n in notes if "breaches its threshold" in n]
        assert len(breaches) == 1 and breaches[0].startswith("fraud accuracy = 0.8")
