"""Layout pinned at 80x24 (SSH) and 160x48, with fixed data so pixels are stable.

Update after reviewing the report: pytest tests/snapshots --snapshot-update
"""

from __future__ import annotations

from tests.pilot import fixed_app, settle


async def _ready(pilot) -> None:
    await settle(pilot)


def test_dashboard_wide(snap_compare):
    assert snap_compare(fixed_app(), terminal_size=(160, 48), run_before=_ready)


def test_dashboard_narrow(snap_compare):
    assert snap_compare(fixed_app(), terminal_size=(80, 24), run_before=_ready)


def test_dashboard_narrow_host_panel(snap_compare):
    async def go(pilot):
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)

    assert snap_compare(fixed_app(), terminal_size=(80, 24), run_before=go)


def test_filter_narrow(snap_compare):
    async def go(pilot):
        await settle(pilot)
        await pilot.press("slash", *"shop")
        await settle(pilot)

    assert snap_compare(fixed_app(), terminal_size=(80, 24), run_before=go)


def test_help_wide(snap_compare):
    async def go(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(fixed_app(read_only=True), terminal_size=(160, 48), run_before=go)


def test_pipelines_narrow(snap_compare):
    async def go(pilot):
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)

    assert snap_compare(fixed_app(), terminal_size=(80, 24), run_before=go)


def test_models_narrow(snap_compare):
    async def go(pilot):
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)

    assert snap_compare(fixed_app(), terminal_size=(80, 24), run_before=go)


def test_deployments_narrow(snap_compare):
    async def go(pilot):
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)

    assert snap_compare(fixed_app(), terminal_size=(80, 24), run_before=go)


def _with_orchestrator():
    from tests.orchestrator_fakes import FakeOrchestrator, LinkedModelsSource

    notes = ("1 DAG file fails to import: broken_dag.py (RuntimeError: boom)",)
    return fixed_app(extra=[FakeOrchestrator(notes=notes)], models=LinkedModelsSource())


def test_orchestrator_runs_zoomed_wide(snap_compare):
    """The RESULT column (TFX verdicts) and the orchestrator's note, beside the CI runs."""

    async def go(pilot):
        await settle(pilot)
        await pilot.press("3", "z")
        await settle(pilot)

    assert snap_compare(_with_orchestrator(), terminal_size=(160, 48), run_before=go)


def test_pipeline_list_narrow(snap_compare):
    """P: the pipelines that can be started, paused or not, with their problem."""

    async def go(pilot):
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        table = pilot.app.screen.query_one("#pipelines-table")
        key = next(k for k, r in table.records.items() if r.provider == "orchestrator")
        table.move_cursor(row=table.get_row_index(key))
        await pilot.press("P")
        await settle(pilot)

    assert snap_compare(_with_orchestrator(), terminal_size=(80, 24), run_before=go)


def test_project_logs_search_narrow(snap_compare, tmp_path):
    """`L` on a compose container: the merged log with its name column, a search
    with context 2, at 80x24."""
    from tests.fakes import fake_logs
    from tests.pilot import select_container, wait_for

    app = fixed_app()
    fake_logs(app.poller.sources["docker:demo"])

    async def go(pilot):
        await settle(pilot)
        await select_container(pilot, "web")
        await pilot.press("L")
        await wait_for(pilot, lambda: len(getattr(pilot.app.screen, "lines", ())) >= 14)
        await pilot.press("s", *"error", "enter", "C", "C")
        await pilot.pause(0.3)
        pilot.app.clear_notifications()  # a model alert's toast comes when it comes
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=go)
