"""An orchestrator's runs, pipelines and keys, driven through the real app with
Pilot: the RESULT column and notes, the run screen's parameters, verdict,
lineage and tries, D (trigger with JSON parameters), p, m, `P`, and D on a
model in breach. The source is a fixed one (tests/orchestrator_fakes.py) that
records what it was asked; it names no vendor, like the UI it drives.
"""

from __future__ import annotations

from opsdash.model import RunStatus
from opsdash.screens.actions import ChoiceScreen, ConfirmScreen, ProgressScreen
from opsdash.screens.models import ModelScreen
from opsdash.screens.pipeline import JobLogScreen, RunScreen
from opsdash.screens.pipeline_list import PipelineListScreen
from opsdash.store import Store
from opsdash.widgets.resource_table import ResourceTable
from tests.hostile import screen_lines
from tests.orchestrator_fakes import TFX_ORDER, FakeOrchestrator, LinkedModelsSource
from tests.pilot import (
    confirm_and_finish,
    fixed_app,
    select_row,
    settle,
    spy_notifications,
    wait_for,
)

SIZE = (160, 48)


def screen_text(app) -> str:
    """The screen's rows as a person reads them (cells joined, toasts included)."""
    return "\n".join(screen_lines(app))


def app_with(orchestrator=None, **kwargs):
    orchestrator = orchestrator or FakeOrchestrator()
    return fixed_app(extra=[orchestrator], models=LinkedModelsSource(), **kwargs), orchestrator


async def select_run(pilot, pipeline: str) -> None:
    await pilot.press("3")
    await select_row(pilot, "pipelines-table", lambda r: r.pipeline == pipeline)


async def confirm(pilot) -> ConfirmScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    return pilot.app.screen


async def edit(pilot, dialog: ConfirmScreen, value: str) -> None:
    """`i` opens the dialog's edit field; the value is set, then enter."""
    await pilot.press("i")
    await pilot.pause()
    dialog.query_one("#confirm-image").value = value
    await pilot.press("enter")
    await pilot.pause()


async def test_result_column_shows_verdicts_and_notes_show_in_the_panel():
    orchestrator = FakeOrchestrator(notes=("2 DAG files fail to import: dags/broken.py",))
    app, _ = app_with(orchestrator)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3", "z")  # zoomed: every run has a row
        await pilot.pause()
        text = screen_text(app)
        assert "RESULT" in text and "blessed · pushed" in text
        assert "orchestrator:prod: 2 DAG files fail to import: dags/broken.py" in text


async def test_result_column_is_hidden_while_no_run_has_a_verdict():
    app = fixed_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#pipelines-table", ResourceTable)
        assert "verdict" in table.hidden_columns
        assert "RESULT" not in screen_text(app)


async def test_run_screen_shows_parameters_verdict_lineage_and_jobs_in_source_order():
    app, _ = app_with()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_run(pilot, "train_churn")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        jobs = app.screen.query_one("#jobs-table", ResourceTable)
        await wait_for(pilot, lambda: jobs.row_count == len(TFX_ORDER))
        await pilot.pause()
        order = [jobs.get_row_at(i)[2].plain for i in range(jobs.row_count)]
        assert tuple(order) == TFX_ORDER  # not sorted by id (Evaluator < ExampleGen)
        text = screen_text(app)
        assert "epochs = 5" in text and 'model = "churn"' in text
        assert 'note = "[bold]x[/]"' in text  # a value's markup is text
        assert "blessed · pushed" in text
        assert "Registered  churn v3 (mlflow:registry)" in text
        assert "Training" in text
        assert "TRY" in text and "3/3" in text  # the Trainer ran three times
        assert "OPERATOR" in text and "TrainerOperator" in text


async def test_a_ci_run_screen_hides_try_and_operator():
    app, _ = app_with()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await select_row(pilot, "pipelines-table", lambda r: r.number == 44)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        jobs = app.screen.query_one("#jobs-table", ResourceTable)
        await wait_for(pilot, lambda: jobs.row_count == 2)
        assert {"try", "operator"} <= jobs.hidden_columns
        assert "Registered" not in screen_text(app)


async def test_log_steps_between_tries():
    app, orchestrator = app_with()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_run(pilot, "train_churn")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        jobs = app.screen.query_one("#jobs-table", ResourceTable)
        await wait_for(pilot, lambda: jobs.row_count == len(TFX_ORDER))
        jobs.move_cursor(row=jobs.get_row_index("Trainer"))
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, JobLogScreen))
        await wait_for(pilot, lambda: "log of Trainer try 3" in screen_text(app))
        assert "(try 3 of 3)" in screen_text(app)
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: "log of Trainer try 2" in screen_text(app))
        assert "(try 2 of 3)" in screen_text(app)
        await pilot.press("left_square_bracket", "left_square_bracket")
        await wait_for(pilot, lambda: "log of Trainer try 1" in screen_text(app))
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: "log of Trainer try 2" in screen_text(app))
    tries = [attempt for call, job, attempt in orchestrator.calls if call == "log"]
    assert tries == [3, 2, 1, 2]  # the edge (`[` at try 1) fetches nothing


async def test_trigger_sends_the_parameters_typed_as_json(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    app, orchestrator = app_with(store=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_run(pilot, "train_churn")
        await pilot.press("D")
        dialog = await confirm(pilot)
        assert dialog.plan.action == "trigger"
        # Prefilled with the selected run's parameters, shown exactly as sent.
        sent = '{"model": "churn", "epochs": 5, "note": "[bold]x[/]"}'
        assert f"Trigger train_churn on orchestrator:prod with conf {sent}." in dialog.plan.steps
        assert dialog.edit_value == sent
        await edit(pilot, dialog, '{"model": "churn", "epochs": 7}')
        await wait_for(pilot, lambda: app.screen is not dialog)
        dialog = await confirm(pilot)
        assert 'with conf {"model": "churn", "epochs": 7}.' in dialog.plan.steps[0]
        assert "run manual__new of train_churn queued" in await confirm_and_finish(pilot)
    assert orchestrator.calls == [("trigger", "train_churn", {"model": "churn", "epochs": 7})]
    entry = store.audit_entries()[0]
    assert (entry.action, entry.kind, entry.target, entry.result) == (
        "trigger",
        "pipeline",
        "train_churn",
        "ok",
    )
    assert entry.new_image == 'conf {"model": "churn", "epochs": 7}'


async def test_invalid_json_keeps_the_dialog_open_with_one_line():
    app, orchestrator = app_with()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_run(pilot, "etl_daily")
        await pilot.press("D")
        dialog = await confirm(pilot)
        await edit(pilot, dialog, '{"day": ')
        assert app.screen is dialog
        error = dialog.query_one("#confirm-error")
        assert error.display
        assert "The conf are not valid JSON at column 8" in screen_text(app)
        await pilot.press("enter")  # still there, still invalid
        dialog.query_one("#confirm-image").value = "[1, 2]"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog
        assert "The conf must be one JSON object" in screen_text(app)
        await pilot.press("escape")  # leaves the field
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
    assert orchestrator.calls == []


async def test_d_without_a_run_still_deploys_the_ci_source():
    app, orchestrator = app_with()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1", "D")
        dialog = await confirm(pilot)
        assert dialog.plan.action == "deploy" and dialog.plan.ref == "main"
        await pilot.press("n")
    assert orchestrator.calls == []


async def test_pause_and_unpause_follow_the_polled_state():
    app, orchestrator = app_with()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_run(pilot, "etl_daily")  # paused
        await pilot.press("p")
        dialog = await confirm(pilot)
        assert dialog.plan.action == "unpause"
        assert "Unpause etl_daily on orchestrator:prod (paused now)." in dialog.plan.steps
        await confirm_and_finish(pilot)
        await select_run(pilot, "train_churn")  # active
        await pilot.press("p")
        dialog = await confirm(pilot)
        assert dialog.plan.action == "pause"
        await confirm_and_finish(pilot)
    assert orchestrator.calls == [("pause", "etl_daily", False), ("pause", "train_churn", True)]


async def test_pause_and_mark_are_disabled_on_a_ci_run():
    app, _ = app_with()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await select_row(pilot, "pipelines-table", lambda r: r.number == 44)
        assert app.screen.check_action("pipeline", ("pause",)) is None
        assert app.screen.check_action("pipeline", ("mark",)) is None
        await select_run(pilot, "etl_daily")
        assert app.screen.check_action("pipeline", ("mark",)) is True


async def test_mark_asks_which_then_only_the_typed_name_confirms(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    app, orchestrator = app_with(store=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_run(pilot, "etl_daily")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        assert "f: failed   s: success" in screen_text(app)
        await pilot.press("s")
        dialog = await confirm(pilot)
        assert dialog.typed_only and dialog.plan.action == "mark-success"
        name = dialog.plan.target
        assert name == "etl_daily scheduled__2026-12-01"
        await pilot.press("y")  # not an answer here
        await pilot.pause()
        assert app.screen is dialog
        await pilot.press(*"etl_daily", "enter")  # not the whole name
        await pilot.pause()
        assert app.screen is dialog
        await pilot.press(*name, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
        await wait_for(pilot, lambda: app.screen.done)
    assert orchestrator.calls == [("mark", "scheduled__2026-12-01", RunStatus.SUCCESS)]
    assert store.audit_entries()[0].action == "mark-success"


async def test_read_only_refuses_trigger_pause_and_mark(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    app, orchestrator = app_with(FakeOrchestrator(read_only=True), store=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = spy_notifications(app)
        for key in ("D", "p", "m", "r"):
            await select_run(pilot, "etl_daily")
            await pilot.press(key)
            await pilot.pause(0.1)
            assert not isinstance(app.screen, ConfirmScreen | ChoiceScreen)
    assert orchestrator.calls == []
    refused = [e for e in store.audit_entries() if e.result.startswith("refused")]
    assert len(refused) == 4
    assert all("orchestrator:prod is read-only" in n for n in notes if n.startswith("Refused"))


async def test_global_read_only_refuses_a_trigger(tmp_path):
    app, orchestrator = app_with(read_only=True, store=Store(tmp_path / "db.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_run(pilot, "train_churn")
        await pilot.press("D")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ConfirmScreen)
    assert orchestrator.calls == []


async def test_rerun_uses_the_sources_word():
    app, orchestrator = app_with()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_run(pilot, "etl_daily")
        await pilot.press("F")
        dialog = await confirm(pilot)
        assert dialog.plan.steps[0].startswith("Clear the failed jobs of etl_daily")
        await confirm_and_finish(pilot)
    assert orchestrator.calls == [("rerun", "scheduled__2026-12-01", True)]


async def test_retrain_from_a_model_in_breach(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    app, orchestrator = app_with(store=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await select_row(pilot, "models-table", lambda r: r.model == "[red]fraud[/]")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen))
        text = screen_text(app)
        assert "u rolls champion back to" in text
        assert "D retrains: triggers train_churn on orchestrator:prod" in text
        await pilot.press("D")
        dialog = await confirm(pilot)
        assert dialog.plan.action == "retrain"
        sent = (
            '{"model": "[red]fraud[/]", "metric": "accuracy", "value": 0.83, "limit": 0.85,'
            ' "reason": "breach"}'
        )
        assert dialog.plan.steps[0] == f"Trigger train_churn on orchestrator:prod with conf {sent}."
        await confirm_and_finish(pilot)
    assert orchestrator.calls == [
        (
            "trigger",
            "train_churn",
            {
                "model": "[red]fraud[/]",
                "metric": "accuracy",
                "value": 0.83,
                "limit": 0.85,
                "reason": "breach",
            },
        )
    ]
    entry = store.audit_entries()[0]
    assert (entry.action, entry.target, entry.result) == ("retrain", "train_churn", "ok")


async def test_no_retrain_offered_on_a_healthy_model_or_without_a_training_pipeline():
    app, _ = app_with(FakeOrchestrator(training=""))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await select_row(pilot, "models-table", lambda r: r.model == "churn")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen))
        assert app.screen.check_action("retrain", ()) is False
        await pilot.press("escape")
        await select_row(pilot, "models-table", lambda r: r.model == "[red]fraud[/]")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen))
        assert app.screen.check_action("retrain", ()) is None  # shown, disabled
        assert "No training pipeline is configured" in screen_text(app)


async def test_model_screen_shows_and_opens_the_run_that_produced_a_version():
    app, _ = app_with()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await select_row(pilot, "models-table", lambda r: r.model == "churn")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen))
        assert "train_churn manual__2026-12-01 success" in screen_text(app)
        await select_row(pilot, "model-versions", lambda v: v.version == "3")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        assert app.screen.run.id == "manual__2026-12-01"
        assert "Registered  churn v3 (mlflow:registry)" in screen_text(app)


async def test_pipelines_screen_filters_triggers_pauses_and_goes_to_the_runs():
    app, orchestrator = app_with()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3", "P")
        await wait_for(pilot, lambda: isinstance(app.screen, PipelineListScreen))
        screen = app.screen
        table = screen.table
        assert table.row_count == 3
        text = screen_text(app)
        for word in ("PAUSED", "PIPELINE", "TAGS", "SCHEDULE", "NEXT RUN", "paused", "active"):
            assert word in text
        assert "in 1d06h" in text and "@daily" in text
        await pilot.press("slash", *"etl")
        await pilot.pause()
        assert table.row_count == 1
        await pilot.press("enter")  # back to the list, filtered
        await pilot.press("p")
        dialog = await confirm(pilot)
        assert dialog.plan.action == "unpause" and dialog.plan.target == "etl_daily"
        await confirm_and_finish(pilot)
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("D")
        dialog = await confirm(pilot)
        assert dialog.plan.steps[0] == "Trigger etl_daily on orchestrator:prod with conf {}."
        await confirm_and_finish(pilot)
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, PipelineListScreen))
        runs = app.screen.query_one("#pipelines-table", ResourceTable)
        await pilot.pause()
        shown = [runs.records[k].pipeline for k in runs._order]
        assert shown == ["etl_daily"]
        assert app.screen.focused is runs
    assert orchestrator.calls == [("pause", "etl_daily", False), ("trigger", "etl_daily", {})]
