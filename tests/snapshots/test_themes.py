"""The dashboard at 80x24 in the `ansi` theme, the high-contrast one and under NO_COLOR.

`ansi` must draw with the 16 terminal colours only; NO_COLOR must leave every
state readable from its word or icon. Update after reviewing the report:
pytest tests/snapshots --snapshot-update
"""

from __future__ import annotations

from tests.pilot import fixed_app, settle


async def _ready(pilot) -> None:
    await settle(pilot)


def _themed(name: str):
    app = fixed_app()
    app.theme = name
    return app


def test_dashboard_ansi_narrow(snap_compare):
    assert snap_compare(_themed("ansi"), terminal_size=(80, 24), run_before=_ready)


def test_pipelines_ansi_narrow(snap_compare):
    async def go(pilot):
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)

    assert snap_compare(_themed("ansi"), terminal_size=(80, 24), run_before=go)


def test_dashboard_high_contrast_narrow(snap_compare):
    assert snap_compare(_themed("high-contrast"), terminal_size=(80, 24), run_before=_ready)


def test_dashboard_no_color_narrow(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")  # Textual reads it when the app is built
    assert snap_compare(fixed_app(), terminal_size=(80, 24), run_before=_ready)


def test_pipelines_no_color_narrow(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    async def go(pilot):
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)

    assert snap_compare(fixed_app(), terminal_size=(80, 24), run_before=go)
