"""Record and replay through the real app with Pilot: polls of fixed sources
with a state change are recorded; `b` shows the old state, `]` and `[` step,
the rows equal the live ones at each recorded time, actions are refused, `B`
returns to live; `opsdash replay`'s app opens at a moment."""

from __future__ import annotations

from dataclasses import replace

from opsdash.app import OpsdashApp
from opsdash.config import Config
from opsdash.poller import Poller
from opsdash.replay_app import ReplayApp, matching_labels
from opsdash.replay_timeline import ReplayTimeline, as_local
from opsdash.store import Store
from opsdash.store import recording as table
from opsdash.widgets.resource_table import ResourceTable
from tests.fakes import FixedDockerSource, FixedHostSource
from tests.hostile import screen_lines
from tests.pilot import settle, spy_notifications, wait_for

SIZE = (160, 48)


class SwitchableDocker(FixedDockerSource):
    """The sample engine; `stopped` names a container shown as exited."""

    def __init__(self):
        super().__init__(services=False)
        self.stopped = ""

    def poll(self):
        snapshot = super().poll()
        return replace(
            snapshot,
            containers=tuple(
                replace(c, state="exited", status="Exited (0)", exit_code=0, cpu_percent=None)
                if c.name == self.stopped
                else c
                for c in snapshot.containers
            ),
        )


def rows(app) -> list[tuple[str, ...]]:
    """The containers table as drawn, in order, without the columns that move
    with the clock (uptime)."""
    table = app.main.query_one("#containers-table", ResourceTable)
    clock = {i for i, c in enumerate(table._shown_columns) if c.uses_clock}
    return [
        tuple(str(cell) for i, cell in enumerate(table.get_row_at(n)) if i not in clock)
        for n in range(table.row_count)
    ]


def state_of(app, name: str) -> str:
    table = app.main.query_one("#containers-table", ResourceTable)
    return next(r.state for r in table.records.values() if r.name == name)


def header(app) -> str:
    return screen_lines(app)[0]


def live_app(store) -> tuple[OpsdashApp, SwitchableDocker]:
    docker = SwitchableDocker()
    config = Config(path=None, refresh=3600)
    return OpsdashApp(config, Poller([docker, FixedHostSource()]), store=store), docker


async def record_a_stop(pilot, docker, name):
    """Live: the first poll, then `name` stops and is polled again; the rows of each."""
    app = pilot.app
    await settle(pilot)
    before = rows(app)
    docker.stopped = name
    app.poll_now(quiet=True)
    await wait_for(pilot, lambda: state_of(app, name) == "exited")
    await pilot.pause(0.1)
    return before, rows(app)


def docker_moments(store) -> list[float]:
    return [r.at for r in table.record_index(store, ["docker:demo"])]


async def test_back_in_time_shows_the_old_state_then_live_again(tmp_path):
    store = Store(tmp_path / "opsdash.db")
    app, docker = live_app(store)
    name = FixedDockerSource().poll().containers[0].name
    async with app.run_test(size=SIZE) as pilot:
        before, after = await record_a_stop(pilot, docker, name)
        assert before != after
        first, second = docker_moments(store)
        notes = spy_notifications(app)

        await pilot.press("b")  # back in time: a minute before the last poll, or the first
        await wait_for(pilot, lambda: app.replaying is not None)
        await pilot.pause(0.1)
        assert "REPLAY" in header(app)
        while app.replaying.shown_at.timestamp() < first:  # the host may have polled first
            await pilot.press("right_square_bracket")
            await pilot.pause(0.05)
        assert app.replaying.shown_at == as_local(first)
        assert state_of(app, name) == "running"
        assert rows(app) == before  # the very rows live showed at that poll

        while app.replaying.shown_at.timestamp() < second:
            await pilot.press("right_square_bracket")
            await pilot.pause(0.05)
        assert app.replaying.shown_at == as_local(second)
        assert state_of(app, name) == "exited"
        assert rows(app) == after
        assert app.replaying.shown_at.strftime("%H:%M:%S") in header(app)

        await pilot.press("left_square_bracket")
        await pilot.pause(0.05)
        assert app.replaying.shown_at < as_local(second)

        await pilot.press("r")  # an action on a recorded row: refused, with a line
        await pilot.pause(0.1)
        assert any("Replay: actions are disabled" in n for n in notes)

        await pilot.press("space")
        await pilot.pause(0.05)
        assert app.replaying.playing and "playing x1" in header(app)
        await pilot.press("plus", "plus")
        assert app.replaying.speed == 4
        await pilot.press("minus")
        assert app.replaying.speed == 2

        await pilot.press("B")  # back to live
        await pilot.pause(0.1)
        assert app.replaying is None
        assert "REPLAY" not in header(app)
        assert state_of(app, name) == "exited"
        assert rows(app) == after


async def test_replay_app_opens_at_a_moment_and_jumps_to_a_time(tmp_path):
    store = Store(tmp_path / "opsdash.db")
    app, docker = live_app(store)
    name = FixedDockerSource().poll().containers[0].name
    async with app.run_test(size=SIZE) as pilot:
        before, after = await record_a_stop(pilot, docker, name)
    first, second = docker_moments(store)

    replay = ReplayApp(Config(path=None), store, ReplayTimeline(store), as_local(first))
    async with replay.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay.replaying is not None)
        await pilot.pause(0.1)
        assert "REPLAY" in header(replay)
        assert rows(replay) == before
        await pilot.press("T")
        await pilot.pause(0.1)
        box = replay.screen.query_one("#ask-value")
        box.value = as_local(second).isoformat()
        await pilot.press("enter")
        await wait_for(pilot, lambda: replay.replaying.shown_at == as_local(second))
        await pilot.pause(0.1)
        assert rows(replay) == after
        notes = spy_notifications(replay)
        await pilot.press("B")  # no live to return to
        await pilot.press("r")
        await pilot.pause(0.1)
        assert replay.replaying is not None
        assert any("actions are disabled" in n or "read-only" in n.lower() for n in notes)
    store.close()


def test_sources_are_picked_by_label_or_name():
    recorded = ["docker:local", "host:box", "docker:prod"]
    assert matching_labels(recorded, ["local", "host:box"]) == (["docker:local", "host:box"], [])
    assert matching_labels(recorded, ["nope"]) == ([], ["nope"])


async def test_two_sessions_on_one_label_replay_each_their_own_and_say_whose(tmp_path):
    """Two opsdash recorded docker:demo into one store (other container names):
    each moment shows the session recording then, and the header names it."""
    from datetime import UTC, datetime, timedelta

    from opsdash.config_record import RecordConfig
    from opsdash.recorder import Recorder

    store = Store(tmp_path / "opsdash.db")
    base = FixedDockerSource(services=False).poll()
    theirs = replace(
        base, containers=tuple(replace(c, name=f"{c.name}-b") for c in base.containers)
    )
    alice = Recorder(store, RecordConfig(), session="alice@laptop 11 2026-12-03T03:00Z")
    bob = Recorder(store, RecordConfig(), session="bob@desk 22 2026-12-03T03:01Z")
    t0 = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    alice.record("docker:demo", base, None, t0)
    bob.record("docker:demo", theirs, None, t0 + timedelta(minutes=1))
    replay = ReplayApp(Config(path=None), store, ReplayTimeline(store), as_local(t0.timestamp()))
    name = base.containers[0].name
    async with replay.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: replay.replaying is not None)
        await pilot.pause(0.1)
        assert "recorded by alice@laptop 11" in header(replay)
        assert [r[0] for r in rows(replay)].count(name) == 1
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: "recorded by bob@desk 22" in header(replay))
        await pilot.pause(0.1)
        assert f"{name}-b" in {r[0] for r in rows(replay)} and name not in {
            r[0] for r in rows(replay)
        }
    store.close()
