"""The first frame waits for no source (issue 14).

The TUI draws its dashboard before the backend (autodetection, the store, the
sources) is built, in a worker; a source whose poll never answers, or a
backend that is slow to build, leaves the frame and the keys live. No timing is
asserted: the app is checked while the hanging call is still held.
"""

from __future__ import annotations

import threading
from pathlib import Path

from opsdash.app import OpsdashApp
from opsdash.cli import Backend
from opsdash.config import Config
from opsdash.model import HealthState, HostStats
from opsdash.poller import Poller
from opsdash.sources.base import Source
from opsdash.sources.host import HostConfig
from opsdash.store import Store
from tests.fakes import FixedHostSource
from tests.pilot import wait_for


class HangingSource(Source):
    """Accepts the poll and never answers it, until the test lets go."""

    kind = "host"
    feeds = HostStats
    config_class = HostConfig

    def __init__(self, released: threading.Event):
        super().__init__("hanging", refresh=3600, timeout=0.5)
        self.released = released
        self.polling = threading.Event()

    def poll(self):
        self.polling.set()
        self.released.wait(30)
        raise ConnectionError("released by the test")


def _config() -> Config:
    return Config(path=None, refresh=3600, detected=False)


def _header(app: OpsdashApp) -> str:
    from opsdash.widgets.health_bar import HealthBar

    return str(app.main.query_one(HealthBar).render())


async def test_the_dashboard_shows_and_answers_keys_while_a_poll_hangs():
    released = threading.Event()
    hanging = HangingSource(released)
    store = Store(Path(":memory:"))
    built = threading.Event()

    def backend() -> Backend:
        built.set()
        return Backend(_config(), store, [hanging, FixedHostSource()])

    app = OpsdashApp(_config(), Poller([]), backend=backend)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            assert app.has_main  # drawn before the backend was even asked for
            await wait_for(pilot, hanging.polling.is_set, timeout=10)
            await wait_for(pilot, lambda: not app.starting, timeout=10)
            assert app.store is store
            await wait_for(pilot, lambda: "host:demohost" in _header(app), timeout=10)
            await wait_for(
                pilot,
                lambda: app.poller.health("host:hanging").state is HealthState.STALE,
                timeout=10,
            )
            assert "host:hanging" in _header(app)
            await pilot.press("question_mark")  # the UI still answers
            await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen", timeout=10)
            released.set()
    finally:
        released.set()
        app.close_backend()


async def test_a_backend_that_is_slow_to_build_leaves_the_frame_and_refuses_actions():
    """Autodetection or the store hanging: the dashboard is up, says nothing
    is polled yet, and refuses an action (it could not be audited)."""
    released = threading.Event()

    def backend() -> Backend:
        released.wait(30)
        raise RuntimeError("the backend could not be built")

    app = OpsdashApp(_config(), Poller([]), backend=backend)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert app.has_main and app.starting
        assert not app.all_polled  # not complete until the sources are known
        await pilot.press("exclamation_mark")  # look for interrupted actions
        await pilot.pause()
        assert "actions" not in app.__dict__  # refused before the flow was built
        released.set()
        await wait_for(pilot, lambda: not app.starting, timeout=10)
        await wait_for(
            pilot,
            lambda: any(
                "Could not start the sources" in str(n.message) for n in app._notifications
            ),
            timeout=10,
        )
