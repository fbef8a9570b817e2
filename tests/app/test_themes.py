"""Themes in the running app: the config's choice, the command palette, the
`ansi` theme's 16 colours and NO_COLOR."""

from __future__ import annotations

from dataclasses import replace

from textual.color import Color
from textual.filter import ANSIToTruecolor, Monochrome

from opsdash.app import OpsdashApp
from opsdash.config import Config
from opsdash.poller import Poller
from opsdash.theme_names import OPSDASH_THEMES, THEME_NAMES
from tests.pilot import fixed_app, settle, wait_for


def _colours(app) -> set[tuple[str, int | None]]:
    """(type, number) of every foreground and background colour on the screen."""
    found = set()
    for line in app.screen._compositor.render_full_update().strips:
        for strip in line:
            for segment in strip:
                style = segment.style
                for colour in (style.color, style.bgcolor) if style else ():
                    if colour is not None:
                        found.add((colour.type.name, colour.number))
    return found


def test_the_configured_theme_is_the_apps_and_every_name_is_registered():
    app = OpsdashApp(Config(path=None, theme="high-contrast"), Poller([]))
    assert app.theme == "high-contrast"
    assert set(THEME_NAMES) == set(app.available_themes)  # theme_names lists them all
    assert OpsdashApp(Config(path=None), Poller([])).theme == "textual-dark"


async def test_ansi_draws_with_the_16_terminal_colours_only():
    app = fixed_app()
    app.config = replace(app.config, theme="ansi")
    app.theme = "ansi"
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # No truecolor conversion: the terminal's own palette paints.
        assert not any(f.enabled for f in app._filters if isinstance(f, ANSIToTruecolor))
        for key in ("", "2", "3", "4", "5", "question_mark"):
            if key:
                await pilot.press(key)
                await settle(pilot)
            colours = _colours(app)
            odd = {c for c in colours if c[0] != "DEFAULT" and not (c[1] is not None and c[1] < 16)}
            assert not odd, (key, odd)
            assert colours, key


async def test_the_command_palette_switches_to_opsdashs_themes():
    app = fixed_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for name in OPSDASH_THEMES:
            await pilot.press("ctrl+p", *"theme")
            await pilot.pause(0.3)
            await pilot.press("enter")  # "Theme: change the current theme"
            await pilot.pause(0.3)
            await pilot.press(*name)
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_for(pilot, lambda n=name: app.theme == n, timeout=10)


def test_no_color_sets_the_configured_theme_aside(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = OpsdashApp(Config(path=None, theme="nord"), Poller([]))
    assert app.no_color and app.theme == "no-color"
    assert not any(isinstance(f, Monochrome) for f in app._filters)  # Textual's greys


async def test_no_color_draws_no_colour_and_the_cursor_row_in_reverse(monkeypatch):
    """What reaches the terminal (the screen through the app's line filters)."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = fixed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        filters = app.get_line_filters()
        styles = []
        for line in app.screen._compositor.render_full_update().strips:
            for strip in line:
                segments = list(strip)
                for line_filter in filters:
                    segments = line_filter.apply(segments, Color(0, 0, 0))
                styles += [segment.style for segment in segments if segment.style]
        colours = {(c.type.name) for st in styles for c in (st.color, st.bgcolor) if c}
        assert colours <= {"DEFAULT"}, colours
        assert any(style.reverse for style in styles)  # the cursor row


async def test_high_contrast_maps_named_colours_through_its_own_palette():
    from opsdash.themes import HIGH_CONTRAST_PALETTE

    app = fixed_app()
    usual = app.ansi_theme_dark
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = "high-contrast"
        await pilot.pause()
        assert app.ansi_theme is HIGH_CONTRAST_PALETTE
        app.theme = "nord"
        await pilot.pause()
        assert app.ansi_theme is usual
    configured = OpsdashApp(Config(path=None, theme="high-contrast"), Poller([]))
    assert configured.ansi_theme is HIGH_CONTRAST_PALETTE
