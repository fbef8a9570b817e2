"""Enter on a workload, `l` and `p` on a pod, through the real app on fixed contexts."""

from __future__ import annotations

from dataclasses import replace

from opsdash.model.kube import RolloutState
from opsdash.screens.kube import ContainerPicker, WorkloadScreen
from opsdash.screens.logs import LogsScreen
from opsdash.screens.main import MainScreen
from opsdash.widgets.cluster_panel import ClusterPanel
from opsdash.widgets.resource_table import ResourceTable
from tests.kube_fakes import (
    LOG_LINES,
    PREVIOUS_LINES,
    kube_app,
    spy_cluster_actions,
)
from tests.pilot import select_row, settle, spy_notifications, wait_for


async def open_workload(pilot, name="web", context="gke_acme_prod") -> WorkloadScreen:
    await settle(pilot)
    await pilot.press("6")
    await pilot.pause()
    await select_row(
        pilot, "kube-workloads-table", lambda r: r.name == name and r.context == context
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, WorkloadScreen))
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.details is not None)
    return screen


def table(screen, name: str) -> ResourceTable:
    return screen.query_one(f"#workload-{name}", ResourceTable)


def column(t: ResourceTable, index: int) -> list[str]:
    return [t.get_row_at(i)[index].plain for i in range(t.row_count)]


async def test_enter_opens_the_workload_of_a_source_named_otherwise_than_its_context():
    app = kube_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_workload(pilot)
        prod = app.poller.sources["kubernetes:prod"]
        assert screen.source is prod  # named "prod", watching gke_acme_prod
        assert ("details", screen.workload.key) in prod.calls
        pods = table(screen, "pods")
        assert sorted(r.name for r in pods.records.values()) == [
            "web-5d9c7-abcde",
            "web-5d9c7-fghij",
        ]
        assert column(table(screen, "revisions"), 0) == ["4 *", "3", "2"]  # newest first
        events = table(screen, "events")
        assert column(events, 1) == ["Warning", "Normal"]  # newest first
        summary = str(screen.query_one("#workload-summary").render())
        assert "ready 3/3" in summary and "complete" in summary
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_the_screen_reads_again_and_takes_fresh_records_from_the_feed():
    app = kube_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_workload(pilot, "web", "staging")
        summary = str(screen.query_one("#workload-summary").render())
        assert "has timed out progressing" in summary
        reads = screen.reads
        screen._tick()  # what the one-shot timer calls
        await wait_for(pilot, lambda: screen.reads > reads)
        staging = app.poller.sources["kubernetes:staging"]
        staging.workloads = tuple(
            replace(w, ready=3) if w.name == "web" else w for w in staging.workloads
        )
        app.poll_now(quiet=True)
        await wait_for(pilot, lambda: screen.workload.ready == 3)
        assert screen.workload.rollout is RolloutState.FAILED


async def test_a_details_error_is_one_line_on_the_screen():
    app = kube_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.poller.sources["kubernetes:prod"].fail_details = "forbidden [red]x[/]"
        await pilot.press("6")
        await pilot.pause()
        await select_row(pilot, "kube-workloads-table", lambda r: r.context == "gke_acme_prod")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, WorkloadScreen))
        status = app.screen.query_one("#workload-status")
        await wait_for(pilot, lambda: "forbidden [red]x[/]" in str(status.render()))


async def test_workload_keys_post_cluster_actions_undo_to_the_selected_revision():
    app = kube_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_workload(pilot)
        calls = spy_cluster_actions(app)
        for key in ("R", "s", "i", "u"):
            await pilot.press(key)
        assert [(a, v) for a, _t, v in calls] == [
            ("restart", None),
            ("scale", None),
            ("set-image", None),
            ("undo", None),
        ]
        assert all(t is screen.workload for _a, t, _v in calls)
        await select_row(pilot, "workload-revisions", lambda r: r.number == 3)
        await pilot.press("u")
        assert calls[-1][0] == "undo" and calls[-1][2] == "3"
        notes = spy_notifications(app)
        await select_row(pilot, "workload-revisions", lambda r: r.current)
        await pilot.press("u")
        assert len(calls) == 5 and "current one" in notes[-1]


async def test_l_on_a_two_container_pod_asks_which_then_shows_its_log():
    app = kube_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_workload(pilot)
        await select_row(pilot, "workload-pods", lambda r: r.name == "web-5d9c7-abcde")
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ContainerPicker))
        await pilot.press("escape")  # cancels
        assert app.screen is screen
        await pilot.press("enter")  # Enter on a pod: its logs, the same way
        await wait_for(pilot, lambda: isinstance(app.screen, ContainerPicker))
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen))
        logs = app.screen
        await wait_for(pilot, lambda: len(logs.lines) == len(LOG_LINES))
        assert list(logs.lines) == list(LOG_LINES)
        prod = app.poller.sources["kubernetes:prod"]
        assert ("logs", "web-5d9c7-abcde", "sidecar", False) in prod.calls
        title = str(logs.query_one("#logs-title").render())
        assert "Logs: shop/web-5d9c7-abcde sidecar" in title
        await pilot.press("escape")
        assert app.screen is screen


async def test_l_and_p_from_the_panel_open_the_pods_log_and_previous_log():
    app = kube_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await pilot.pause()
        await pilot.press("colon", *"pods", "enter")
        await pilot.pause()
        await select_row(pilot, "kube-pods-table", lambda r: r.name == "db-0")
        await pilot.press("p")  # one container restarted: no picker
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen))
        logs = app.screen
        await wait_for(pilot, lambda: len(logs.lines) == len(PREVIOUS_LINES))
        assert list(logs.lines) == list(PREVIOUS_LINES)
        assert "(previous)" in str(logs.query_one("#logs-title").render())
        prod = app.poller.sources["kubernetes:prod"]
        assert ("logs", "db-0", "db", True) in prod.calls
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen))
        await wait_for(pilot, lambda: ("logs", "db-0", "db", False) in prod.calls)
        current = app.screen
        await pilot.press("P")  # from its log: the previous run's
        await wait_for(pilot, lambda: app.screen is not current)
        assert isinstance(app.screen, LogsScreen) and app.screen.previous is None
        await wait_for(pilot, lambda: prod.calls.count(("logs", "db-0", "db", True)) == 2)
        await pilot.press("escape", "escape")
        notes = spy_notifications(app)
        await select_row(pilot, "kube-pods-table", lambda r: r.name == "db-1")
        await pilot.press("p")  # never restarted
        assert isinstance(app.screen, MainScreen) and "no previous log" in notes[-1]
        assert isinstance(app.screen.query_one(ClusterPanel), ClusterPanel)
