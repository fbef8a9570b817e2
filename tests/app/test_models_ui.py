"""The Models panel and its keys, driven through the real app with Pilot.

The source here is a fixed one that records alias moves; MLflow and Prometheus
themselves are tested for real in tests/integration.
"""

from __future__ import annotations

from dataclasses import replace

from opsdash.model.ml import ModelsSnapshot, ThresholdState
from opsdash.screens.actions import ConfirmScreen
from opsdash.screens.models import ModelScreen
from opsdash.store import Store
from opsdash.widgets.resource_table import ResourceTable
from tests.fakes import FixedModelsSource
from tests.pilot import (
    confirm_and_finish,
    fixed_app,
    screen_text,
    select_row,
    settle,
    spy_notifications,
    wait_for,
)


def models_table(app) -> ResourceTable:
    return app.screen.query_one("#models-table", ResourceTable)


async def select_model(pilot, model: str) -> None:
    await pilot.press("5")
    await select_row(pilot, "models-table", lambda r: r.model == model)


async def test_rows_show_state_words_values_and_literal_names():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "[red]fraud[/]" in text  # a model name with markup stays text
        for word in ("breach", "warning", "ok", "champion", "0.921", "v3 0.934", "better"):
            assert word in text
        table = models_table(app)
        first = table.records[table._order[0]]
        assert first.state is ThresholdState.BREACH  # breaches sort first


async def test_promote_moves_the_alias_audits_and_records_a_model_deployment(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    source = FixedModelsSource()
    app = fixed_app(store=store, models=source)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await select_model(pilot, "churn")
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert "champion v2 -> v3" in text and "accuracy 0.921 -> 0.934" in text
        outcome = await confirm_and_finish(pilot)
        assert "champion v2 -> v3" in outcome
        await select_model(pilot, "churn")
        await pilot.press("u")
        await confirm_and_finish(pilot)
    assert source.calls == [("promote", "churn", "3"), ("rollback", "churn")]
    audit = [
        (e.action, e.kind, e.target, e.old_image, e.new_image, e.result)
        for e in store.audit_entries()
    ]
    assert audit == [
        ("rollback", "model", "churn", "v2", "v1", "ok"),
        ("promote", "model", "churn", "v2", "v3", "ok"),
    ]
    deployments = [(d.kind, d.service, d.version, d.result) for d in store.deployments()]
    assert deployments == [("model", "churn", "1", "success"), ("model", "churn", "3", "success")]


async def test_enter_opens_versions_and_p_promotes_the_selected_one(tmp_path):
    source = FixedModelsSource()
    app = fixed_app(store=Store(tmp_path / "db.sqlite"), models=source)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await select_model(pilot, "churn")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen))
        versions = app.screen.query_one("#model-versions", ResourceTable)
        assert versions.row_count == 3
        assert "History of accuracy: 10 points" in screen_text(app)
        versions.move_cursor(row=versions.get_row_index("churn/1"))
        await pilot.press("P")
        await confirm_and_finish(pilot)
    assert source.calls == [("promote", "churn", "1")]


async def test_read_only_refuses_promote_and_rollback(tmp_path):
    source = FixedModelsSource()
    app = fixed_app(read_only=True, store=Store(tmp_path / "db.sqlite"), models=source)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await select_model(pilot, "churn")
        for key in ("P", "u"):
            await pilot.press(key)
            await pilot.pause(0.1)
            assert not isinstance(app.screen, ConfirmScreen)
    assert source.calls == []


class ChangingSource(FixedModelsSource):
    """churn goes ok -> breach -> breach -> ok -> breach over five polls."""

    states = [ThresholdState.OK, ThresholdState.BREACH, ThresholdState.BREACH]
    states += [ThresholdState.OK, ThresholdState.BREACH]

    def __init__(self):
        super().__init__()
        self.polls = 0

    def poll(self):
        snapshot = super().poll()
        state = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        churn = replace(snapshot.rows[0], state=state)
        return ModelsSnapshot(snapshot.source, snapshot.kind, (churn,), snapshot.versions)


async def test_a_breach_notifies_once_until_it_recovers():
    source = ChangingSource()
    app = fixed_app(models=source)
    notes = spy_notifications(app)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        for _ in range(4):
            app.poll_now(quiet=True)
            await pilot.pause(0.1)
            await app.workers.wait_for_complete()
            await pilot.pause(0.1)
    assert source.polls == 5
    breaches = [n for n in notes if "breaches its threshold" in n]
    assert len(breaches) == 2
    assert breaches[0].startswith("churn accuracy = 0.921")
