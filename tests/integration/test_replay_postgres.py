"""Replay from the shared PostgreSQL store: what one opsdash (another process,
standing for the on-call engineer's) recorded, a second one (a teammate's)
replays through `opsdash replay`'s app, with the very rows recorded."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from opsdash.config import Config
from opsdash.config_store import StoreConfig
from opsdash.replay_app import ReplayApp, run_replay
from opsdash.replay_timeline import ReplayTimeline
from opsdash.store import open_store
from opsdash.store import recording as table
from tests.fakes import FixedDockerSource
from tests.hostile import screen_lines
from tests.pilot import wait_for

pytest.importorskip("psycopg")

ROOT = Path(__file__).resolve().parents[2]

RECORD = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta
    from dataclasses import replace
    from opsdash.config_record import RecordConfig
    from opsdash.recorder import Recorder
    from opsdash.store import Store
    from tests.fakes import FixedDockerSource

    store = Store.open_url(sys.argv[1])
    recorder = Recorder(store, RecordConfig())
    snapshot = FixedDockerSource().poll()
    at = datetime.now().astimezone() - timedelta(minutes=5)
    assert recorder.record("docker:demo", snapshot, None, at)
    stopped = replace(snapshot, containers=tuple(
        replace(c, state="exited", status="Exited (0)", exit_code=0, cpu_percent=None)
        if i == 0 else c for i, c in enumerate(snapshot.containers)))
    assert recorder.record("docker:demo", stopped, None, at + timedelta(minutes=2))
    store.close()
    """
)


def record_elsewhere(url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", RECORD, url], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


async def test_a_teammate_replays_what_another_opsdash_recorded(postgres):
    url = postgres.new_database()
    record_elsewhere(url)
    store = open_store(StoreConfig(url=url))  # this process's own handle on the database
    try:
        assert table.recorded_sources(store) == ["docker:demo"]
        first, second = [r.at for r in table.record_index(store)]
        name = FixedDockerSource().poll().containers[0].name
        app = ReplayApp(Config(path=None, store=StoreConfig(url=url)), store, ReplayTimeline(store))
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: app.replaying is not None)
            await wait_for(pilot, lambda: any(name in line for line in screen_lines(app)))
            assert app.replaying.shown_at.timestamp() == second
            assert "REPLAY" in screen_lines(app)[0]
            line = next(line for line in screen_lines(app) if name in line)
            assert "exited" in line
            await pilot.press("left_square_bracket")  # a step back: before it stopped
            await wait_for(pilot, lambda: app.replaying.shown_at.timestamp() == first)
            await wait_for(
                pilot,
                lambda: "running" in next(ln for ln in screen_lines(app) if name in ln),
            )
    finally:
        store.close()


def test_opsdash_replay_opens_the_configured_store(postgres, monkeypatch):
    url = postgres.new_database()
    record_elsewhere(url)
    opened = []
    monkeypatch.setattr(ReplayApp, "run", lambda self: opened.append(self.store.path))
    assert run_replay(Config(path=None, store=StoreConfig(url=url)), None, ()) == 0
    assert opened and str(opened[0]).startswith("postgresql://") and "127.0.0.1" in opened[0]
