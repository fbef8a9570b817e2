"""The containers list fits its columns to the panel's width by priority (k9s's
narrow tables) and its title names what it left out; nothing runs off the edge."""

from __future__ import annotations

from opsdash.widgets.fitted_table import FittedTable
from tests.pilot import fixed_app, screen_text, settle, wait_for


def containers(app) -> FittedTable:
    return app.screen.query_one("#containers-table", FittedTable)


def shown(table: FittedTable) -> list[str]:
    return [str(column.key.value) for column in table.ordered_columns]


def fits(table: FittedTable) -> bool:
    """The table's columns take no more than its width: no horizontal scrolling."""
    return table.virtual_size.width <= table.scrollable_content_region.width


async def test_at_80x24_the_important_columns_stay_and_the_title_names_the_rest():
    app = fixed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = containers(app)
        assert shown(table) == ["name", "state", "health", "cpu", "mem", "image"]
        assert table.cut_labels == ("UPTIME", "RESTARTS", "PORTS", "PROJECT")
        assert fits(table)
        panel = app.screen.query_one("#panel-containers")
        assert str(panel.border_title).endswith("· +4 cols: UPTIME RESTARTS PORTS PROJECT")
        assert "+4 cols: UPTIME RESTARTS PORTS PROJECT" in screen_text(app)
        # `/` still finds a cut column's text (the filter reads every column).
        await pilot.press("slash", *"web")
        await pilot.press("enter")
        await wait_for(pilot, lambda: table.row_count == 1)


async def test_a_wider_terminal_shows_them_again_and_the_note_goes():
    app = fixed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = containers(app)
        assert table.cut_columns
        await pilot.resize_terminal(200, 50)
        await pilot.press("z")  # the containers panel alone: every column fits
        await wait_for(pilot, lambda: not table.cut_columns)
        await settle(pilot)
        assert "ports" in shown(table) and "project" in shown(table)
        panel = app.screen.query_one("#panel-containers")
        assert str(panel.border_title) == "1 Containers"
        assert fits(table)


async def test_the_sorted_column_is_not_cut_and_stays_sorted():
    app = fixed_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await pilot.press("z")
        table = containers(app)
        await wait_for(pilot, lambda: not table.cut_columns)
        while table.visible_columns[table.sort_index].key != "ports":
            await pilot.press("s")
        order = list(table._order)
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: bool(table.cut_columns))
        await settle(pilot)
        assert "ports" in shown(table) and "ports" not in table.cut_columns
        assert table.visible_columns[table.sort_index].key == "ports"
        assert "PORTS ▼" in str(table.columns[table.ordered_columns[table.sort_index].key].label)
        assert list(table._order) == order
        assert fits(table)
