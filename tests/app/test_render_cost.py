"""What a settled screen and a poll cost on the screen: nothing when nothing
changed, the changed cells when some did, and nothing at all for a panel that
is not in view until it is shown again (issue 14, "render only what is seen")."""

from __future__ import annotations

from dataclasses import replace

from textual.widget import Widget

from opsdash.model import DockerSnapshot, PipelineSnapshot
from opsdash.screens.help import HelpScreen
from opsdash.widgets.resource_table import ResourceTable
from tests.pilot import fixed_app, settle


def docker_label(app) -> str:
    return next(label for label in app.feed.labels(DockerSnapshot))


def repoll(app, label: str, change=None) -> None:
    """Record the source's last snapshot again (changed by `change`) and draw it,
    as a finished poll does."""
    snapshot = app.poller.data(label)
    if change is not None:
        snapshot = change(snapshot)
    app.poller.record(label, snapshot, None, 0.0)
    app.feed.tick()
    app.feed.render(app.poller.sources[label].feeds)


class RefreshSpy:
    """Every Widget.refresh call while armed: (widget, regions, layout)."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[Widget, tuple, bool]] = []
        original = Widget.refresh

        def refresh(widget, *regions, **kwargs):
            self.calls.append((widget, regions, bool(kwargs.get("layout"))))
            return original(widget, *regions, **kwargs)

        monkeypatch.setattr(Widget, "refresh", refresh)


def with_cpu(snapshot: DockerSnapshot, name: str, cpu: float) -> DockerSnapshot:
    containers = tuple(
        replace(c, cpu_percent=cpu) if c.name == name else c for c in snapshot.containers
    )
    return replace(snapshot, containers=containers)


async def test_a_poll_that_changes_nothing_refreshes_nothing(monkeypatch):
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        spy = RefreshSpy(monkeypatch)
        for label in app.poller.sources:
            repoll(app, label)
        app.feed.tick()
        assert spy.calls == []


async def test_a_changed_cpu_refreshes_that_cell_only(monkeypatch):
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#containers-table", ResourceTable)
        spy = RefreshSpy(monkeypatch)
        repoll(app, docker_label(app), lambda s: with_cpu(s, "web", 3.25))
        calls = [(regions, layout) for widget, regions, layout in spy.calls if widget is table]
        assert len(calls) == 1
        (region,), layout = calls[0]
        assert not layout and region.height == 1  # one cell, not the table
        web = next(k for k, r in table.records.items() if r.name == "web")
        assert table.get_cell(web, "cpu").plain == "3.2%"
        assert [w for w, _r, _l in spy.calls if w is not table] == []


async def test_a_wider_value_still_widens_its_column():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#containers-table", ResourceTable)
        before = table.columns["cpu"].content_width  # type: ignore[index]
        repoll(app, docker_label(app), lambda s: with_cpu(s, "web", 12345.5))
        await pilot.pause()
        assert table.columns["cpu"].content_width == len("12345.5%") > before  # type: ignore[index]
        repoll(app, docker_label(app), lambda s: with_cpu(s, "web", 1.0))
        await pilot.pause()
        assert table.columns["cpu"].content_width == before  # type: ignore[index]


async def test_a_hidden_panel_draws_only_when_shown():
    """Narrow: one panel at a time; the Pipelines panel keeps its latest runs
    undrawn until 3 shows it."""
    app = fixed_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        panel = app.main.pipelines_panel
        label = next(iter(app.feed.labels(PipelineSnapshot)))
        shown = dict(panel.table.records)
        repoll(app, label, lambda s: replace(s, runs=s.runs[:1]))
        assert panel.behind and panel.table.records == shown
        await pilot.press("3")
        await pilot.pause()
        assert not panel.behind
        assert len(panel.table.records) == 1


async def test_a_covered_dashboard_catches_up_when_uncovered():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#containers-table", ResourceTable)
        await app.push_screen(HelpScreen())
        repoll(app, docker_label(app), lambda s: with_cpu(s, "web", 42.0))
        web = next(k for k, r in table.records.items() if r.name == "web")
        assert app.main.containers_panel.behind
        assert table.get_cell(web, "cpu").plain == "1.5%"
        app.pop_screen()
        await pilot.pause()
        assert not app.main.containers_panel.behind
        assert table.get_cell(web, "cpu").plain == "42.0%"


async def test_a_suspended_app_draws_on_resume():
    app = fixed_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#containers-table", ResourceTable)
        web = next(k for k, r in table.records.items() if r.name == "web")
        app.app_suspend_signal.publish(app)
        await pilot.pause()  # a signal's callbacks run as the subscriber's next message
        repoll(app, docker_label(app), lambda s: with_cpu(s, "web", 7.0))
        assert table.get_cell(web, "cpu").plain == "1.5%"
        app.app_resume_signal.publish(app)
        await pilot.pause()
        assert table.get_cell(web, "cpu").plain == "7.0%"


async def test_a_poll_of_1000_rows_renders_only_the_changed_ones():
    """Per-poll work follows the changed rows: one changed record out of 1,000
    renders its own cells only, and the clock column of the others."""
    from dataclasses import dataclass
    from datetime import datetime

    from rich.text import Text
    from textual.app import App

    from opsdash.views.common import Column

    @dataclass(frozen=True)
    class Row:
        key: str
        cpu: float
        born: datetime

    rendered: list[str] = []

    def name(row, _):
        rendered.append("name")
        return Text(row.key)

    def cpu(row, _):
        rendered.append("cpu")
        return Text(f"{row.cpu:.1f}%")

    def age(row, now):
        rendered.append("age")
        return Text(f"{int((now - row.born).total_seconds() // 3600)}h")

    columns = [
        Column("name", "NAME", name, lambda r: r.key),
        Column("cpu", "CPU", cpu, lambda r: r.cpu),
        Column("age", "AGE", age, lambda r: r.born),
    ]
    born = datetime.now().astimezone()
    rows = [Row(f"c{i:04d}", 1.0, born) for i in range(1000)]

    class TableApp(App):
        def compose(self):
            yield ResourceTable(columns, lambda r: r.key, id="t")

    app = TableApp()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(ResourceTable)
        table.update_records(rows)
        await pilot.pause()
        rendered.clear()
        rows[500] = replace(rows[500], cpu=9.5)
        table.update_records(rows)
        assert rendered.count("name") == 1 and rendered.count("cpu") == 1
        assert rendered.count("age") == 1000  # it moves with the clock
        assert table.get_cell("c0500", "cpu").plain == "9.5%"
