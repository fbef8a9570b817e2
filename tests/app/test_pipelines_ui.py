"""The Pipelines panel and its keys, driven through the real app with Pilot.

The CI source here is a fixed one that records what it was asked; the real
sources are tested against Buildbot and the replay server in tests/integration.
"""

from __future__ import annotations

from datetime import UTC, datetime

from opsdash.model import PipelineSnapshot, VendorDeployment
from opsdash.screens.actions import ConfirmScreen
from opsdash.screens.pipeline import JobLogScreen, RunScreen
from opsdash.store import Store
from opsdash.widgets.resource_table import ResourceTable
from tests.fakes import FixedPipelineSource
from tests.pilot import confirm_and_finish, fixed_app, screen_text, select_row, settle, wait_for


def runs_table(app) -> ResourceTable:
    return app.screen.query_one("#pipelines-table", ResourceTable)


async def select_run(pilot, number: int) -> None:
    await pilot.press("3")
    await select_row(pilot, "pipelines-table", lambda r: r.number == number)


async def confirm(pilot) -> ConfirmScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    return pilot.app.screen


async def test_runs_newest_first_with_literal_text():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = runs_table(app)
        order = [table.records[k].number for k in table._order]
        assert order == [41, 45, 44, 43, 42]  # by start time, newest first
        text = screen_text(app)
        assert "fix [bold red]not markup[/]" in text  # markup shown as text
        assert "\x1b" not in text and "ZXZpbA" not in text  # the OSC 52 payload is dropped
        for word in ("queued", "running", "failed", "success", "cancelled"):
            assert word in text  # status is a word, not only a colour


async def test_enter_opens_the_run_with_jobs_and_l_the_job_log():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await select_run(pilot, 44)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        jobs = app.screen.query_one("#jobs-table", ResourceTable)
        await wait_for(pilot, lambda: jobs.row_count == 2)
        assert "test [red]unit[/]" in screen_text(app)
        jobs.move_cursor(row=jobs.get_row_index("2"))
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, JobLogScreen))
        await wait_for(pilot, lambda: "red error" in screen_text(app))
        text = screen_text(app)
        assert "[bold]not markup[/bold]" in text
        assert "ZXZpbA" not in text
        await pilot.press("escape", "escape")
        assert runs_table(app) is not None


async def test_rerun_confirms_runs_and_audits(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    source = FixedPipelineSource()
    app = fixed_app(store=store, pipelines=source)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await select_run(pilot, 44)
        await pilot.press("r")
        dialog = await confirm(pilot)
        assert "Rerun ci #44 of github:acme/api" in screen_text(app)
        assert dialog.plan.kind == "pipeline"
        assert "rerun of run 1044 requested" in await confirm_and_finish(pilot)
        await select_run(pilot, 44)
        await pilot.press("F")
        await confirm_and_finish(pilot)
    assert source.calls == [("rerun", "1044", False), ("rerun", "1044", True)]
    entries = store.audit_entries()
    assert [(e.action, e.kind, e.target, e.result) for e in entries] == [
        ("rerun-failed", "pipeline", "ci #44", "ok"),
        ("rerun", "pipeline", "ci #44", "ok"),
    ]


async def test_cancel_applies_only_to_unfinished_runs(tmp_path):
    source = FixedPipelineSource()
    app = fixed_app(store=Store(tmp_path / "db.sqlite"), pipelines=source)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await select_run(pilot, 43)
        await pilot.press("c")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen)  # finished: nothing to cancel
        await select_run(pilot, 45)
        await pilot.press("c")
        await confirm_and_finish(pilot)
    assert source.calls == [("cancel", "1045")]


async def test_deploy_asks_for_the_ref_and_triggers_it(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    source = FixedPipelineSource()
    app = fixed_app(store=store, pipelines=source)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("D")
        dialog = await confirm(pilot)
        assert dialog.plan.ref == "main"
        await pilot.press("i")
        await pilot.pause()
        box = dialog.query_one("#confirm-image")
        box.value = ""
        await pilot.press(*"release/1.2", "enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ConfirmScreen) and app.screen.plan.ref == "release/1.2",
        )
        assert "ref release/1.2" in screen_text(app)
        await confirm_and_finish(pilot)
    assert source.calls == [("deploy", "release/1.2")]
    entry = store.audit_entries()[0]
    assert (entry.action, entry.new_image, entry.result) == ("deploy", "ref release/1.2", "ok")


async def test_read_only_refuses_pipeline_actions(tmp_path):
    source = FixedPipelineSource()
    app = fixed_app(read_only=True, store=Store(tmp_path / "db.sqlite"), pipelines=source)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await select_run(pilot, 44)
        for key in ("r", "F", "c", "D"):
            await pilot.press(key)
            await pilot.pause(0.1)
            assert not isinstance(app.screen, ConfirmScreen)
    assert source.calls == []


async def test_a_read_only_ci_source_refuses_and_audits(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    source = FixedPipelineSource(read_only=True)
    app = fixed_app(store=store, pipelines=source)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await select_run(pilot, 44)
        await pilot.press("r")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen)
    assert source.calls == []
    assert store.audit_entries()[0].result == "refused: github:api is read-only in the config"


class DeployingSource(FixedPipelineSource):
    def poll(self):
        snapshot = super().poll()
        at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
        deployment = VendorDeployment(
            "run:1043", self.label, "api", "production", "abc123", at, "success"
        )
        return PipelineSnapshot(snapshot.source, snapshot.provider, snapshot.runs, (deployment,))


async def test_vendor_deployments_are_recorded_once(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    app = fixed_app(store=store, pipelines=DeployingSource())
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.poll_now(quiet=True)
        await settle(pilot)
        await app.workers.wait_for_complete()
    events = store.deployments()
    assert [(e.service, e.version, e.environment, e.result) for e in events] == [
        ("api", "abc123", "production", "success")
    ]
