"""Record and replay on the private Docker engine: the dashboard records its
polls while a container is stopped; replay shows it running before and exited
after, with the rows live showed at each recorded time."""

from __future__ import annotations

import pytest

from opsdash.replay_app import ReplayApp
from opsdash.replay_timeline import ReplayTimeline, as_local
from opsdash.store import Store
from opsdash.store import recording as table
from opsdash.widgets.resource_table import ResourceTable
from tests.fakes import docker_config, run_isolated, unique
from tests.pilot import real_app, wait_for

pytestmark = pytest.mark.docker
SIZE = (160, 48)


def cells_of(app, name: str) -> dict[str, str] | None:
    """The row of `name` as drawn, by column, without the clock and the jittering
    columns (the columns that fit the width: live may show more than replay)."""
    table = app.main.query_one("#containers-table", ResourceTable)
    keep = {
        i: c.key for i, c in enumerate(table._shown_columns) if c.key in ("name", "state", "image")
    }
    for key, record in table.records.items():
        if record.name == name:
            cells = table.get_row(key)
            return {column: str(cells[i]) for i, column in keep.items()}
    return None


def rows_of(app, name: str) -> tuple[str, ...] | None:
    cells = cells_of(app, name)
    return None if cells is None else tuple(cells.values())


def same_cells(replayed: dict[str, str] | None, live: dict[str, str] | None) -> bool:
    """Equal in every column both show, and both show the name and the state."""
    if replayed is None or live is None:
        return False
    common = replayed.keys() & live.keys()
    return {"name", "state"} <= common and all(replayed[k] == live[k] for k in common)


def state(app, name: str) -> str | None:
    table = app.main.query_one("#containers-table", ResourceTable)
    return next((r.state for r in table.records.values() if r.name == name), None)


async def test_a_stop_is_recorded_and_replayed(engine, tmp_path):
    name = unique("replayed")
    run_isolated(engine, name, "local/busybox:1", "sleep", "300")
    store = Store(tmp_path / "opsdash.db")
    config = docker_config(engine.docker_host, refresh=0.5)
    live: dict[str, tuple[str, ...]] = {}
    try:
        app = real_app(config, store=store)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: state(app, name) == "running", timeout=60)
            live["running"] = rows_of(app, name)
            engine.cli("stop", "-t", "1", name)
            await wait_for(pilot, lambda: state(app, name) == "exited", timeout=60)
            live["exited"] = rows_of(app, name)
            await pilot.pause(1.0)  # a few more polls, recorded or skipped
        records = table.record_index(store, ["docker:test"])
        assert records and records[0].kind == table.KEYFRAME
        timeline = ReplayTimeline(store, ["docker:test"])
        seen = []
        for row in records:
            found = timeline.at("docker:test", row.at)
            ours = next((c for c in found.data.containers if c.name == name), None)
            if ours is not None and (not seen or seen[-1][1] != ours.state):
                seen.append((row.at, ours.state))
        assert [s for _, s in seen][:1] == ["running"] and seen[-1][1] == "exited"
        exited_at = next(at for at, s in seen if s == "exited")
        running_at = max(at for at, s in seen if s == "running" and at < exited_at)

        replay = ReplayApp(config, store, timeline, as_local(running_at))
        async with replay.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: state(replay, name) == "running", timeout=30)
            assert rows_of(replay, name) == live["running"]
            replay.replaying.show(as_local(exited_at))
            await pilot.pause(0.1)
            assert state(replay, name) == "exited"
            assert rows_of(replay, name) == live["exited"]
    finally:
        store.close()
        engine.cli("rm", "-f", name, check=False)


def container_id(app, name: str) -> str | None:
    table = app.main.query_one("#containers-table", ResourceTable)
    return next((r.id for r in table.records.values() if r.name == name), None)


async def test_a_redeploy_is_recorded_and_replayed(engine, tmp_path):
    """`R` through the real action path while recording: replay shows the old
    container before the redeploy and the new one after, each row as live drew it."""
    from tests.pilot import confirm_and_finish, select_container

    name = unique("replay-rd")
    run_isolated(engine, name, "local/busybox:1", "sleep", "300")
    store = Store(tmp_path / "opsdash.db")
    config = docker_config(engine.docker_host, refresh=0.5)
    live: dict[str, tuple[dict[str, str] | None, str | None]] = {}
    try:
        app = real_app(config, store=store)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: state(app, name) == "running", timeout=60)
            old = container_id(app, name)
            live["old"] = (cells_of(app, name), old)
            await select_container(pilot, name)
            await pilot.press("R")
            assert "now runs" in await confirm_and_finish(pilot, timeout=120)
            await wait_for(
                pilot,
                lambda: (
                    container_id(app, name) not in (None, old) and state(app, name) == "running"
                ),
                timeout=60,
            )
            live["new"] = (cells_of(app, name), container_id(app, name))
            await pilot.pause(1.0)
        assert store.audit_entries()[0].result == "ok"
        timeline = ReplayTimeline(store, ["docker:test"])
        shown = []  # (time, id) each time the container's id changes in the recording
        for row in table.record_index(store, ["docker:test"]):
            found = timeline.at("docker:test", row.at)
            ours = next((c for c in found.data.containers if c.name == name), None)
            running = ours is not None and ours.state == "running"
            if running and (not shown or shown[-1][1] != ours.id):
                shown.append((row.at, ours.id))
        assert [i for _, i in shown] == [live["old"][1], live["new"][1]]
        replay = ReplayApp(config, store, timeline, as_local(shown[0][0]))
        async with replay.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: container_id(replay, name) == live["old"][1])
            assert same_cells(cells_of(replay, name), live["old"][0])
            replay.replaying.show(as_local(shown[1][0]))
            await pilot.pause(0.1)
            assert container_id(replay, name) == live["new"][1]
            assert same_cells(cells_of(replay, name), live["new"][0])
    finally:
        store.close()
        engine.cli("rm", "-f", name, check=False)
