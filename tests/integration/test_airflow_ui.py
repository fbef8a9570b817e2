"""The Pipelines panel against a real Airflow 3, from the keyboard.

D triggers a DAG with a conf typed in the dialog and the new run shows queued,
running, then success; F clears a failed run and it succeeds; Enter on a run
and on a task shows the task's log literally, `[` steps to the earlier try;
the api-server killed mid-session shows `error` and comes back by itself, and
a JWT that expires mid-session is renewed with no error on screen.
"""

from __future__ import annotations

import time

from devstack.airflow_server import MARKUP_LINE
from opsdash.config import Config
from opsdash.model import HealthState, PipelineRun, RunStatus
from opsdash.screens.actions import ConfirmScreen
from opsdash.screens.pipeline import JobLogScreen, RunScreen
from opsdash.sources.airflow import AirflowConfig
from opsdash.store import Store
from opsdash.widgets.resource_table import ResourceTable
from tests.hostile import assert_clean_screen, screen_lines
from tests.pilot import confirm_and_finish, real_app, select_row, settle, wait_for

DEADLINE = 120.0
SIZE = (160, 48)
LABEL = "airflow:af"


def config(airflow) -> Config:
    table = AirflowConfig(
        name="af",
        url=airflow.url,
        user=airflow.username,
        password=airflow.password,
        refresh=0.5,
        timeout=5,
    )
    return Config(path=None, refresh=0.5, sources=(table,))


def runs(app) -> list[PipelineRun]:
    table = app.screen.query_one("#pipelines-table", ResourceTable)
    return list(table.records.values())


def run_of(app, dag_id: str, run_id: str) -> PipelineRun | None:
    return next((r for r in runs(app) if r.id == f"{dag_id}/{run_id}"), None)


def text(app) -> str:
    return "\n".join(screen_lines(app))


async def select(pilot, run: PipelineRun) -> None:
    await pilot.press("3")
    await select_row(pilot, "pipelines-table", lambda r: r.key == run.key)


async def test_trigger_from_the_keyboard_runs_to_success(airflow, tmp_path):
    first = airflow.client.trigger("opsdash_slow", {"why": "seed"})
    store = Store(tmp_path / "db.sqlite")
    app = real_app(config(airflow), store=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seed = await wait_for(
            pilot, lambda: run_of(app, "opsdash_slow", first["dag_run_id"]), timeout=DEADLINE
        )
        await select(pilot, seed)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        dialog = app.screen
        assert dialog.edit_value == '{"why": "seed"}'  # the selected run's conf
        await pilot.press("i")
        await pilot.pause()
        dialog.query_one("#confirm-image").value = '{"why": "keys"}'
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not dialog)
        outcome = await confirm_and_finish(pilot, DEADLINE)
        assert "queued" in outcome
        run_id = outcome.split()[1]
        seen: set[RunStatus] = set()

        def finished():
            run = run_of(app, "opsdash_slow", run_id)
            if run is not None:
                seen.add(run.status)
            return run is not None and run.status.finished and run

        run = await wait_for(pilot, finished, timeout=DEADLINE, step=0.2)
        assert run.status is RunStatus.SUCCESS
        assert RunStatus.RUNNING in seen
    assert airflow.client.run("opsdash_slow", run_id)["conf"] == {"why": "keys"}
    entry = store.audit_entries()[0]
    assert (entry.action, entry.target, entry.result) == ("trigger", "opsdash_slow", "ok")


async def test_clear_a_failed_run_from_the_keyboard_and_read_both_tries(airflow):
    made = airflow.client.trigger("opsdash_flaky")
    airflow.client.wait_run("opsdash_flaky", made["dag_run_id"], timeout=DEADLINE)
    app = real_app(config(airflow))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        failed = await wait_for(
            pilot,
            lambda: (
                (r := run_of(app, "opsdash_flaky", made["dag_run_id"]))
                and r.status is RunStatus.FAILED
                and r
            ),
            timeout=DEADLINE,
        )
        await select(pilot, failed)
        await pilot.press("F")
        assert "cleared" in await confirm_and_finish(pilot, DEADLINE)
        done = await wait_for(
            pilot,
            lambda: (
                (r := run_of(app, "opsdash_flaky", made["dag_run_id"]))
                and r.status is RunStatus.SUCCESS
                and r
            ),
            timeout=DEADLINE,
        )
        await select(pilot, done)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        await wait_for(pilot, lambda: "flaky" in text(app) and "2/2" in text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobLogScreen))
        await wait_for(pilot, lambda: "try 2 succeeds" in text(app), timeout=30)
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: "try 1 fails" in text(app), timeout=30)


async def test_a_task_log_is_shown_literally(airflow):
    made = airflow.client.trigger("opsdash_ok")
    airflow.client.wait_run("opsdash_ok", made["dag_run_id"], timeout=DEADLINE)
    app = real_app(config(airflow))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        run = await wait_for(
            pilot, lambda: run_of(app, "opsdash_ok", made["dag_run_id"]), timeout=DEADLINE
        )
        await select(pilot, run)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        await wait_for(pilot, lambda: "tricky_output" in text(app))
        await select_row(pilot, "jobs-table", lambda j: j.name == "tricky_output")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobLogScreen))
        await wait_for(pilot, lambda: MARKUP_LINE in text(app), timeout=30)
        assert "\x1b" not in app.export_screenshot()


async def test_api_server_outage_then_recovery_and_a_jwt_renewed_without_error(airflow):
    airflow.kill_api_server()
    airflow.start_api_server(jwt_expiration=20)  # the tokens opsdash gets live 20 s
    app = real_app(config(airflow), max_backoff=1.0)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert app.poller.health(LABEL).state is HealthState.OK
            airflow.kill_api_server()
            try:
                await wait_for(
                    pilot, lambda: app.poller.health(LABEL).state is HealthState.ERROR, timeout=60
                )
                await pilot.press("3")
                await wait_for(pilot, lambda: f"{LABEL} error" in text(app))
                assert airflow.password not in text(app)
            finally:
                airflow.start_api_server(jwt_expiration=20)
            await wait_for(
                pilot, lambda: app.poller.health(LABEL).state is HealthState.OK, timeout=90
            )
            source = app.poller.sources[LABEL]
            logins = source.keeper.logins
            errors = []
            deadline = time.monotonic() + 45  # two token lifetimes and more
            while time.monotonic() < deadline:
                health = app.poller.health(LABEL)
                if health.state is not HealthState.OK:
                    errors.append(health.message)
                await pilot.pause(0.5)
            assert errors == []
            assert source.keeper.logins >= logins + 2  # renewed before each expiry
            assert "401" not in text(app)
    finally:
        airflow.kill_api_server()
        airflow.start_api_server(jwt_expiration=None)


async def test_conf_values_and_notes_from_the_server_are_shown_literally(airflow):
    """Airflow keeps DAG ids tame, but a run's conf and note are anyone's text."""
    hostile = "[bold red]conf[/] \x1b[2J\x1b]0;pwned\x07 end"
    made = airflow.client.trigger("opsdash_ok", {"note": hostile}, note="[i]note[/i] \x1b[31mred")
    airflow.client.wait_run("opsdash_ok", made["dag_run_id"], timeout=DEADLINE)
    app = real_app(config(airflow))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        run = await wait_for(
            pilot, lambda: run_of(app, "opsdash_ok", made["dag_run_id"]), timeout=DEADLINE
        )
        await select(pilot, run)
        await pilot.press("z")
        await wait_for(pilot, lambda: "[i]note[/i]" in text(app))
        assert_clean_screen(app)
        await pilot.press("z", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        await wait_for(pilot, lambda: "[bold red]conf[/]" in text(app))
        assert_clean_screen(app)


async def test_retrain_from_a_model_in_breach_triggers_the_training_dag(airflow, tmp_path):
    """D on a model in breach: the real training DAG runs with the model and metric."""
    from opsdash.screens.models import ModelScreen
    from opsdash.sources.airflow import AirflowSource
    from tests.pilot import fixed_app

    table = AirflowConfig(
        name="af",
        url=airflow.url,
        user=airflow.username,
        password=airflow.password,
        training="opsdash_tfx",
        refresh=0.5,
        timeout=5,
    )
    store = Store(tmp_path / "db.sqlite")
    app = fixed_app(extra=[AirflowSource(table)], store=store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await select_row(pilot, "models-table", lambda r: r.model == "[red]fraud[/]")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen))
        assert "D retrains: triggers opsdash_tfx on airflow:af" in text(app)
        await pilot.press("D")
        outcome = await confirm_and_finish(pilot, DEADLINE)
    run_id = outcome.split()[1]
    run = airflow.client.wait_run("opsdash_tfx", run_id, timeout=DEADLINE)
    assert run["conf"]["model"] == "[red]fraud[/]" and run["conf"]["metric"] == "accuracy"
    assert run["state"] == "success"
    entry = store.audit_entries()[0]
    assert (entry.action, entry.target, entry.result) == ("retrain", "opsdash_tfx", "ok")
