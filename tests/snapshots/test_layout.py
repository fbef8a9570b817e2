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
