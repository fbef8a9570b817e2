"""The Pipelines panel against a real Buildbot master and worker, from the keyboard.

A build forced on Buildbot shows running, then succeeded; `r` reruns it and the
new build appears; `D` forces the deploy scheduler on the chosen ref and its
success becomes a deployment event; `c` cancels a slow build.
"""

from __future__ import annotations

from opsdash.config import Config
from opsdash.model import PipelineRun, RunStatus
from opsdash.screens.actions import ConfirmScreen
from opsdash.screens.pipeline import RunScreen
from opsdash.sources.buildbot import BuildbotConfig
from opsdash.store import Store
from opsdash.widgets.resource_table import ResourceTable
from tests.pilot import confirm_and_finish, real_app, screen_text, select_row, settle, wait_for

DEADLINE = 60.0


def ci_config(buildbot, **extra) -> Config:
    return Config(
        path=None,
        refresh=0.5,
        sources=(
            BuildbotConfig(
                name="bb",
                url=buildbot.url,
                deploy="deploy",
                deploy_branch="main",
                refresh=0.5,
                timeout=5,
                **extra,
            ),
        ),
    )


def runs(app) -> list[PipelineRun]:
    table = app.screen.query_one("#pipelines-table", ResourceTable)
    return [table.records[k] for k in table._order]


def run_of(app, builder: str, number: int) -> PipelineRun | None:
    return next((r for r in runs(app) if r.pipeline == builder and r.number == number), None)


async def select(pilot, run: PipelineRun) -> None:
    await select_row(pilot, "pipelines-table", lambda r: r.key == run.key)


async def test_forced_build_runs_succeeds_and_reruns_from_the_keyboard(buildbot, tmp_path):
    store = Store(tmp_path / "db.sqlite")
    app = real_app(ci_config(buildbot), store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        request = buildbot.force("force-slow")  # sleeps long enough to be seen running
        build = buildbot.wait_build(request["buildrequestid"], complete=False, timeout=DEADLINE)
        number = build["number"]
        running = await wait_for(
            pilot,
            lambda: (r := run_of(app, "slow", number)) and r.status is RunStatus.RUNNING and r,
            timeout=DEADLINE,
        )
        assert "running" in screen_text(app)
        await select(pilot, running)
        await pilot.press("c")  # cancel the slow one from the keyboard
        await confirm_and_finish(pilot, DEADLINE)
        await wait_for(
            pilot,
            lambda: (r := run_of(app, "slow", number)) and r.status is RunStatus.CANCELLED,
            timeout=DEADLINE,
        )

        request = buildbot.force("force")
        build = buildbot.wait_build(request["buildrequestid"], complete=True, timeout=DEADLINE)
        hello = await wait_for(
            pilot,
            lambda: (r := run_of(app, "hello", build["number"])) and r.status.finished and r,
            timeout=DEADLINE,
        )
        assert hello.status is RunStatus.SUCCESS
        await select(pilot, hello)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        jobs = app.screen.query_one("#jobs-table", ResourceTable)
        await wait_for(pilot, lambda: jobs.row_count >= 2, timeout=DEADLINE)
        await pilot.press("escape")

        await select(pilot, hello)
        await pilot.press("r")
        outcome = await confirm_and_finish(pilot, DEADLINE)
        assert "rebuild" in outcome
        rerun = await wait_for(
            pilot,
            lambda: (r := run_of(app, "hello", build["number"] + 1)) and r.status.finished and r,
            timeout=DEADLINE,
        )
        assert rerun.status is RunStatus.SUCCESS
    entries = [(e.action, e.kind, e.result) for e in store.audit_entries()]
    assert entries == [("rerun", "pipeline", "ok"), ("cancel", "pipeline", "ok")]


async def test_deploy_key_forces_the_scheduler_and_records_the_deployment(buildbot, tmp_path):
    store = Store(tmp_path / "db.sqlite")
    app = real_app(ci_config(buildbot), store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        before = {r.number for r in runs(app) if r.pipeline == "deploy"}
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.plan.ref == "main"
        assert "force scheduler deploy" in screen_text(app)
        await confirm_and_finish(pilot, DEADLINE)
        deploy = await wait_for(
            pilot,
            lambda: next(
                (
                    r
                    for r in runs(app)
                    if r.pipeline == "deploy" and r.number not in before and r.status.finished
                ),
                None,
            ),
            timeout=DEADLINE,
        )
        assert deploy.status is RunStatus.SUCCESS and deploy.branch == "main" and deploy.is_deploy
        await wait_for(pilot, lambda: store.deployments(), timeout=DEADLINE)
    events = store.deployments()
    assert [(e.host, e.result, e.environment) for e in events][:1] == [
        ("buildbot:bb", "success", "production")
    ]
    assert all(e.external_id for e in events)
    assert store.audit_entries()[0].new_image == "ref main"


async def test_read_only_buildbot_source_refuses(buildbot, tmp_path):
    store = Store(tmp_path / "db.sqlite")
    app = real_app(ci_config(buildbot, read_only=True), store=store)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
    assert store.audit_entries()[0].result == "refused: buildbot:bb is read-only in the config"
