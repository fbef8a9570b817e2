"""The poller keeps last good data, reports errors, backs off and turns stale."""

from __future__ import annotations

from datetime import datetime, timedelta

from opsdash.model import HealthState
from opsdash.poller import Poller
from opsdash.sources.base import Source, SourceError


class Flaky(Source):
    kind = "test"

    def __init__(self):
        super().__init__("flaky", refresh=2.0, timeout=5.0)
        self.fail = False
        self.calls = 0

    def poll(self):
        self.calls += 1
        if self.fail:
            raise SourceError("backend down")
        return {"n": self.calls}


class Clock:
    def __init__(self):
        self.now = datetime(2026, 1, 1, 12, 0, 0).astimezone()

    def __call__(self):
        return self.now


def test_ok_then_error_keeps_last_good_data_and_backs_off():
    source, clock = Flaky(), Clock()
    poller = Poller([source], clock=clock, max_backoff=30)
    assert poller.health("test:flaky").state is HealthState.PENDING
    assert poller.run("test:flaky").ok
    assert poller.health("test:flaky").state is HealthState.OK
    assert poller.next_delay("test:flaky") == 2.0
    source.fail = True
    result = poller.run("test:flaky")
    assert result.error == "backend down"
    health = poller.health("test:flaky")
    assert health.state is HealthState.ERROR and health.message == "backend down"
    assert poller.data("test:flaky") == {"n": 1}
    delays = [poller.next_delay("test:flaky")]
    for _ in range(6):
        poller.run("test:flaky")
        delays.append(poller.next_delay("test:flaky"))
    assert delays == [4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]
    source.fail = False
    poller.run("test:flaky")
    assert poller.health("test:flaky").state is HealthState.OK
    assert poller.next_delay("test:flaky") == 2.0


def test_old_data_turns_stale():
    source, clock = Flaky(), Clock()
    poller = Poller([source], clock=clock)
    poller.run("test:flaky")
    clock.now += timedelta(seconds=60)
    health = poller.health("test:flaky")
    assert health.state is HealthState.STALE
    assert "60s old" in health.message


def test_unexpected_exception_is_one_line():
    class Broken(Flaky):
        def poll(self):
            raise ValueError("bad\nthing")

    poller = Poller([Broken()])
    assert poller.run("test:flaky").error == "ValueError: bad thing"


def test_poll_all_once_times_out_hung_source():
    import threading

    release = threading.Event()

    class Hung(Flaky):
        def poll(self):
            release.wait(5)
            return {}

    poller = Poller([Hung()])
    results = poller.poll_all_once(timeout=0.2)
    release.set()
    assert results["test:flaky"].error == "no answer within 0.2s"
