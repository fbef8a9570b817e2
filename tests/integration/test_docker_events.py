"""DockerSource follows the engine's events: an unchanged poll makes no API call,
a change is listed and inspected alone, a lost event stream means a full
resync; stats come from one stream per running container (real private engine).
"""

from __future__ import annotations

from collections import Counter

import pytest

from opsdash.sources.docker import DockerHostConfig, DockerSource
from tests.fakes import run_isolated, unique
from tests.pilot import sync_wait

pytestmark = pytest.mark.docker

COUNTED = ("info", "containers", "inspect_container", "services", "tasks")


def counted_source(engine, **kw) -> tuple[DockerSource, Counter]:
    """A source whose API calls are counted (the events stream itself is not)."""
    source = DockerSource(DockerHostConfig(name="test", host=engine.docker_host, timeout=10, **kw))
    calls: Counter = Counter()
    api = source.reader
    for name in COUNTED:
        method = getattr(api, name)

        def counting(*args, _method=method, _name=name, **kwargs):
            calls[_name] += 1
            return _method(*args, **kwargs)

        setattr(api, name, counting)
    return source, calls


def by_name(snapshot, name):
    return next((c for c in snapshot.containers if c.name == name), None)


def settled(source: DockerSource):
    """Poll until the events stream is followed and its first resync is done."""
    sync_wait(lambda: source.poll() and source._events.following, timeout=20)
    return source.poll()


def test_unchanged_poll_makes_no_api_call_and_returns_the_same_snapshot(engine):
    name = unique("quiet")
    run_isolated(engine, name, "local/busybox:1", "sleep", "300")
    source, calls = counted_source(engine, stats=False)
    try:
        first = settled(source)
        assert by_name(first, name) is not None
        calls.clear()
        again = source.poll()
        assert again is first  # the panel skips an identical snapshot
        assert sum(calls.values()) == 0, calls
    finally:
        source.close()
        engine.cli("rm", "-f", name, check=False)


def test_a_started_container_is_listed_and_inspected_alone(engine):
    quiet, new = unique("quiet"), unique("new")
    run_isolated(engine, quiet, "local/busybox:1", "sleep", "300")
    source, calls = counted_source(engine, stats=False)
    try:
        settled(source)
        calls.clear()
        run_isolated(engine, new, "local/busybox:1", "sleep", "300")
        snap = sync_wait(lambda: (s := source.poll()) and by_name(s, new) and s, step=0.2)
        assert by_name(snap, new).state == "running"
        # create and start may land in one poll or two: one list each, and only
        # the new container inspected, never the quiet one.
        assert calls["inspect_container"] in (1, 2) and calls["containers"] in (1, 2), calls
        assert calls["info"] == 0, calls
    finally:
        source.close()
        engine.cli("rm", "-f", quiet, new, check=False)


def test_rename_stop_and_health_arrive_as_events(engine):
    name, renamed, checked = unique("old"), unique("renamed"), unique("checked")
    run_isolated(engine, name, "local/busybox:1", "sleep", "300")
    run_isolated(
        engine,
        checked,
        "--health-cmd",
        "true",
        "--health-interval",
        "1s",
        "local/busybox:1",
        "sleep",
        "300",
    )
    source, _ = counted_source(engine, stats=False)
    try:
        settled(source)
        engine.cli("rename", name, renamed)
        sync_wait(lambda: by_name(source.poll(), renamed))
        assert by_name(source.poll(), name) is None
        sync_wait(lambda: (c := by_name(source.poll(), checked)) and c.health == "healthy")
        engine.cli("stop", "-t", "0", renamed)
        sync_wait(lambda: (c := by_name(source.poll(), renamed)) and c.state == "exited")
    finally:
        source.close()
        engine.cli("rm", "-f", renamed, name, checked, check=False)


def test_a_lost_event_stream_resyncs_then_follows_again(engine):
    before, during = unique("before"), unique("during")
    run_isolated(engine, before, "local/busybox:1", "sleep", "300")
    source, calls = counted_source(engine, stats=False)
    try:
        settled(source)
        source._events._stream.close()  # as a dropped connection would
        sync_wait(lambda: not source._events.following, timeout=10)
        run_isolated(engine, during, "local/busybox:1", "sleep", "300")
        # missed while the stream was down: found by the relist (while down) or
        # by the reconnect's resync, whichever comes first
        snap = sync_wait(lambda: (s := source.poll()) and by_name(s, during) and s)
        assert by_name(snap, before) is not None
        settled(source)
        calls.clear()
        source.poll()
        assert sum(calls.values()) == 0, calls  # following again: nothing to ask
    finally:
        source.close()
        engine.cli("rm", "-f", before, during, check=False)


def test_stats_stream_per_running_container_and_close_when_it_stops(engine):
    name = unique("streamed")
    run_isolated(engine, name, "local/busybox:1", "sh", "-c", "while :; do :; done")
    source = DockerSource(DockerHostConfig(name="test", host=engine.docker_host, timeout=10))
    try:
        busy = sync_wait(
            lambda: (c := by_name(source.poll(), name)) and (c.cpu_percent or 0) > 5 and c,
            timeout=30,
            step=0.5,
        )
        assert busy.memory_used and busy.memory_limit
        assert busy.id in source._stats._streams
        engine.cli("stop", "-t", "0", name)
        sync_wait(lambda: (c := by_name(source.poll(), name)) and c.state == "exited")
        assert busy.id not in source._stats._streams
        assert by_name(source.poll(), name).cpu_percent is None
    finally:
        source.close()
        engine.cli("rm", "-f", name, check=False)


def test_blocking_stats_wait_for_a_cpu_figure(engine):
    """`opsdash snapshot` polls once: it waits until each stream has a sample
    with the previous one beside it, so CPU % is there on the first poll."""
    name = unique("once")
    run_isolated(engine, name, "local/busybox:1", "sleep", "300")
    source = DockerSource(DockerHostConfig(name="test", host=engine.docker_host, timeout=10))
    source.blocking_stats = True
    try:
        c = by_name(source.poll(), name)
        assert c.cpu_percent is not None and c.memory_used
    finally:
        source.close()
        engine.cli("rm", "-f", name, check=False)
