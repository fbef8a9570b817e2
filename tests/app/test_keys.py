"""Every binding, driven through the real app with Textual's Pilot."""

from __future__ import annotations

from opsdash.screens.details import RecordScreen
from opsdash.screens.help import HelpScreen
from opsdash.screens.main import MainScreen
from opsdash.widgets.resource_table import ResourceTable
from tests.pilot import fixed_app, settle


def table(app, name="containers") -> ResourceTable:
    return app.screen.query_one(f"#{name}-table", ResourceTable)


async def test_rows_render_and_cursor_moves_with_arrows_and_vim_keys():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        t = table(app)
        assert t.row_count == 5
        first = t.selected_key
        await pilot.press("j")
        assert t.cursor_row == 1
        await pilot.press("down")
        assert t.cursor_row == 2
        await pilot.press("k", "up")
        assert t.cursor_row == 0 and t.selected_key == first
        await pilot.press("G")
        assert t.cursor_row == 4
        await pilot.press("g")
        assert t.cursor_row == 0


async def test_markup_in_names_is_literal():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        names = [t.plain for t in table(app).get_column("name")]
        assert "[bold red]evil[/]" in names  # escape sequence gone, markup kept as text


async def test_tab_and_numbers_switch_panels():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert app.focused is table(app)
        await pilot.press("tab")
        assert app.focused is table(app, "services")
        await pilot.press("tab")
        assert app.focused.id == "panel-host"
        await pilot.press("shift+tab")
        assert app.focused is table(app, "services")
        for number, panel_id in [
            (3, "pipelines-table"),
            (4, "deployments-table"),
            (5, "models-table"),
            (2, "panel-host"),
        ]:
            await pilot.press(str(number))
            await pilot.pause()
            assert app.focused.id == panel_id
            assert screen.active_panel == number
        await pilot.press("1")
        await pilot.pause()
        assert app.focused is table(app)


async def test_narrow_terminal_shows_one_panel_and_tab_reaches_all():
    app = fixed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.has_class("-narrow")
        visible = [p.id for p in screen.panels if p.display and p.has_class("-active")]
        assert visible == ["panel-containers"]
        seen = []
        for _ in range(7):
            await pilot.press("tab")
            await pilot.pause()
            seen.append(screen.active_panel)
            active = [p for p in screen.panels if p.has_class("-active")]
            assert len(active) == 1 and active[0].region.height > 0
        assert set(seen) == {1, 2, 3, 4, 5, 6}


async def test_filter_narrows_and_escape_clears():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        t = table(app)
        await pilot.press("slash")
        assert app.focused.id == "containers-filter"
        await pilot.press(*"shop")
        assert t.row_count == 2
        await pilot.press("enter")
        assert app.focused is t and t.row_count == 2
        await pilot.press("escape")
        assert t.row_count == 5 and app.focused is t
        await pilot.press("slash", *"tier=front")
        assert t.row_count == 1  # labels are searchable
        await pilot.press("escape")
        assert t.row_count == 5


async def test_sort_cycles_columns():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        t = table(app)
        names = lambda: [t.get_row_at(i)[0].plain for i in range(t.row_count)]  # noqa: E731
        assert names()[0] == "[bold red]evil[/]"  # by name
        await pilot.press("s")  # state: running first
        assert t.sort_index == 1
        await pilot.press("s", "s")  # cpu: busiest first
        assert t.sort_index == 3
        assert names()[0] == "worker"
        assert "▼" in str(t.columns[t.ordered_columns[3].key].label)


async def test_enter_opens_details_and_escape_returns():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("tab")  # services table: plain record screen
        await pilot.press("enter")
        assert isinstance(app.screen, RecordScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_help_lists_every_binding_and_closes():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_keymap_remaps_a_binding():
    app = fixed_app(keys={"sort": "o", "panel-2": "h"})
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        t = table(app)
        await pilot.press("o")
        assert t.sort_index == 1
        await pilot.press("h")
        await pilot.pause()
        assert app.focused.id == "panel-host"


async def test_command_palette_opens():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        from textual.command import CommandPalette

        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Go to Host", "enter")
        await pilot.pause()
        await pilot.pause()
        assert app.focused.id == "panel-host"


async def test_quit_with_q():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_ctrl_r_refreshes_and_header_shows_health():
    app = fixed_app(read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        header = str(app.screen.query_one("#health").render())
        assert "docker:demo ok" in header and "host:demohost ok" in header
        assert "READ-ONLY" in header


async def test_no_color_still_says_every_state_in_words(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = fixed_app()
    assert app.no_color
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        header = str(app.screen.query_one("#health").render())
        assert "docker:demo ok" in header
        states = [t.plain for t in table(app).get_column("state")]
        assert "exited" in states and "running" in states
        health = [t.plain for t in table(app).get_column("health")]
        assert "unhealthy" in health
