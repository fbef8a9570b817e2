"""Replay counts ages from the replayed moment: a container that was up 42m
when it was recorded two days ago reads "up 42m" in replay, not "up 2d", and
live ages count from the clock again once replay is left."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from opsdash.config import Config
from opsdash.config_record import RecordConfig
from opsdash.formatting import age, shown_now
from opsdash.recorder import Recorder
from opsdash.replay_app import ReplayApp
from opsdash.replay_timeline import ReplayTimeline
from opsdash.store import Store
from tests.fakes import FixedDockerSource
from tests.hostile import screen_lines
from tests.pilot import wait_for

SIZE = (160, 48)


async def test_ages_in_replay_count_from_the_replayed_time(tmp_path):
    store = Store(tmp_path / "opsdash.db")
    snapshot = FixedDockerSource().poll()
    first = snapshot.containers[0]
    recorded_at = shown_now() - timedelta(days=2)
    started = recorded_at - timedelta(minutes=42, seconds=20)
    snapshot = replace(snapshot, containers=(replace(first, started_at=started),))
    assert Recorder(store, RecordConfig()).record("docker:demo", snapshot, None, recorded_at)

    app = ReplayApp(Config(path=None), store, ReplayTimeline(store))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.replaying is not None)
        await wait_for(pilot, lambda: any(first.name in line for line in screen_lines(app)))
        line = next(line for line in screen_lines(app) if first.name in line)
        assert "up 42m" in line and "up 2d" not in line
        assert age(started) == "42m"  # what any view's default `now` is while replaying
        app.replaying.leave()
        assert age(started).startswith("2d")  # live again: the clock
    store.close()
