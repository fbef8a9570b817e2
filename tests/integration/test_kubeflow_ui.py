"""A Kubeflow source in the real app, driven with Pilot against the KFP emulator:
its runs in the Pipelines panel with their verdicts, a TFX run's components in
order on the run screen, and `c` on a running run terminating it after the
confirm (the emulator sees the call; a later poll shows it cancelled)."""

from __future__ import annotations

from devstack.kubeflow import seed
from opsdash.model import RunStatus
from opsdash.screens.pipeline import RunScreen
from opsdash.store import Store
from opsdash.widgets.resource_table import ResourceTable
from tests.integration import kubeflow_fixtures
from tests.integration.kubeflow_fixtures import make_source
from tests.pilot import confirm_and_finish, fixed_app, select_row, settle, wait_for

clock, kfp = kubeflow_fixtures.clock, kubeflow_fixtures.kfp
SIZE = (160, 48)
RUNS = "/apis/v2beta1/runs"


def kubeflow_runs(app) -> dict[str, object]:
    table = app.screen.query_one("#pipelines-table", ResourceTable)
    return {r.id: r for r in table.records.values() if r.provider == "kubeflow"}


async def test_the_panel_shows_kubeflow_runs_and_c_terminates_one(kfp, clock, tmp_path):
    source = make_source(kfp, refresh=0.5)
    app = fixed_app(extra=[source], store=Store(tmp_path / "db.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await wait_for(pilot, lambda: seed.RUN_RUNNING in kubeflow_runs(app))
        runs = kubeflow_runs(app)
        assert runs[seed.RUN_BLESSED].verdict == "blessed · pushed"
        await select_row(
            pilot,
            "pipelines-table",
            lambda r: r.provider == "kubeflow" and r.id == seed.RUN_RUNNING,
        )
        await pilot.press("c")
        outcome = await confirm_and_finish(pilot)
        assert "terminate" in outcome
        (terminate,) = kfp.calls("POST", f"{RUNS}/{seed.RUN_RUNNING}:terminate")
        assert terminate.headers["authorization"].startswith("Bearer ")
        clock.advance(60)
        await wait_for(
            pilot,
            lambda: kubeflow_runs(app)[seed.RUN_RUNNING].status is RunStatus.CANCELLED,
        )
    audit = [(e.action, e.host, e.result) for e in app.store.audit_entries()]
    assert ("cancel", "kubeflow:kf", "ok") in audit


async def test_the_run_screen_lists_a_tfx_runs_components_in_order(kfp, tmp_path):
    source = make_source(kfp, refresh=0.5)
    app = fixed_app(extra=[source], store=Store(tmp_path / "db.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await wait_for(pilot, lambda: seed.RUN_BLESSED in kubeflow_runs(app))
        await select_row(
            pilot,
            "pipelines-table",
            lambda r: r.provider == "kubeflow" and r.id == seed.RUN_BLESSED,
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        jobs = app.screen.query_one("#jobs-table", ResourceTable)
        await wait_for(pilot, lambda: jobs.row_count == 7)
        await pilot.pause()
        names = [record.name for record in jobs.records.values()]
        assert names[0] == "CsvExampleGen" and names[-1] == "Pusher"
        assert "Trainer-driver" not in names and "root" not in names


async def test_hostile_run_names_and_parameters_show_literally(kfp, clock, tmp_path):
    from devstack.kubeflow.runs import Run
    from tests.hostile import screen_lines

    hostile = "[bold]x[/] \x1b[2J [red]y"
    kfp.add_run(
        Run.plan(
            run_id="hostile-run",
            display_name=hostile,
            experiment_id=seed.EXP_DEV,
            pipeline=kfp.pipelines["p-etl"],
            version_id="v-etl-1",
            parameters={"note": hostile},
            created=clock() + 60,  # the newest run: first in the panel
        )
    )
    source = make_source(kfp, refresh=0.5)
    app = fixed_app(extra=[source], store=Store(tmp_path / "db.sqlite"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await wait_for(pilot, lambda: "hostile-run" in kubeflow_runs(app))
        await select_row(
            pilot, "pipelines-table", lambda r: r.provider == "kubeflow" and r.id == "hostile-run"
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert "[bold]x[/]" in text and "\x1b" not in text


async def test_r_retries_a_failed_run_and_d_creates_one_with_typed_parameters(kfp, clock):
    """From the keyboard: r on a failed run retries it (it runs again on the
    server's clock); D on it creates a run with the parameters typed."""
    source = make_source(kfp, refresh=0.5)
    app = fixed_app(extra=[source])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3", "z")
        await wait_for(pilot, lambda: seed.RUN_TFX_FAILED in kubeflow_runs(app))
        await select_row(
            pilot,
            "pipelines-table",
            lambda r: r.provider == "kubeflow" and r.id == seed.RUN_TFX_FAILED,
        )
        await pilot.press("r")
        assert "retr" in (await confirm_and_finish(pilot)).lower()
        assert kfp.calls("POST", f"{RUNS}/{seed.RUN_TFX_FAILED}:retry")
        clock.advance(3600)
        await wait_for(
            pilot, lambda: kubeflow_runs(app)[seed.RUN_TFX_FAILED].status is not RunStatus.FAILED
        )
        await pilot.press("D")
        from opsdash.screens.actions import ConfirmScreen

        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        dialog = app.screen
        await pilot.press("i")
        await pilot.pause()
        dialog.query_one("#confirm-image").value = '{"model": "churn", "epochs": 9}'
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not dialog)
        await confirm_and_finish(pilot)
    (create,) = kfp.calls("POST", RUNS)
    assert create.json["runtime_config"]["parameters"] == {"model": "churn", "epochs": 9}
    # D on a run of v1 starts the pipeline's newest version, as the docs say.
    assert create.json["pipeline_version_reference"]["pipeline_version_id"] == "v-churn-2"
