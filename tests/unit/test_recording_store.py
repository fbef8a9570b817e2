"""Recording polls into the store and reading them back: chains of deltas,
failed polls, retention by age and by size, and [record] in the config."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsdash.config import ConfigError, load_config
from opsdash.config_record import RecordConfig, parse_keep
from opsdash.formatting import human_bytes
from opsdash.model import DockerSnapshot, HealthState
from opsdash.recorder import KEY_EVERY, Recorder, as_shown, shown_bytes
from opsdash.replay_timeline import ReplayPoller, ReplayTimeline, as_local, parse_moment
from opsdash.store import Store
from opsdash.store import recording as table
from tests.fakes import FixedDockerSource

T0 = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


def store_at(tmp_path: Path) -> Store:
    return Store(tmp_path / "opsdash.db")


def polls(n: int) -> list[DockerSnapshot]:
    """`n` polls of the sample engine, each with one container's CPU moved."""
    base = FixedDockerSource().poll()
    out = []
    for i in range(n):
        first = replace(base.containers[0], cpu_percent=float(i))
        out.append(replace(base, containers=(first, *base.containers[1:])))
    return out


def record_all(store, snapshots, *, start=T0, step=timedelta(seconds=2), config=None):
    recorder = Recorder(store, config or RecordConfig(), clock=lambda: 0.0)
    moments = []
    for i, snapshot in enumerate(snapshots):
        at = start + i * step
        recorder.record("docker:demo", snapshot, None, at)
        moments.append(at)
    return recorder, moments


def test_every_poll_reads_back_as_recorded(tmp_path):
    store = store_at(tmp_path)
    snapshots = polls(KEY_EVERY + 20)  # more than one chain
    recorder, moments = record_all(store, snapshots)
    kinds = [r.kind for r in table.record_index(store)]
    assert kinds.count(table.KEYFRAME) == 2 and kinds.count(table.DELTA) == len(snapshots) - 2
    timeline = ReplayTimeline(store)
    for at, snapshot in zip(moments, snapshots, strict=True):
        assert timeline.at("docker:demo", at.timestamp()).data == as_shown(snapshot)
    # backwards too (a fresh chain is decoded from its keyframe)
    for at, snapshot in reversed(list(zip(moments, snapshots, strict=True))[-30:]):
        assert timeline.at("docker:demo", at.timestamp()).data == as_shown(snapshot)
    assert timeline.at("docker:demo", (T0 - timedelta(seconds=1)).timestamp()) is None
    assert recorder.bytes == table.recorded_bytes(store)


def test_an_unchanged_poll_is_not_recorded_and_a_failure_is(tmp_path):
    store = store_at(tmp_path)
    snapshot = polls(1)[0]
    recorder = Recorder(store, RecordConfig())
    assert recorder.record("docker:demo", snapshot, None, T0)
    assert not recorder.record("docker:demo", snapshot, None, T0 + timedelta(seconds=2))
    assert recorder.record("docker:demo", None, "connection refused", T0 + timedelta(seconds=4))
    assert not recorder.record("docker:demo", None, "connection refused", T0 + timedelta(seconds=6))
    assert recorder.record("docker:demo", snapshot, None, T0 + timedelta(seconds=8))
    kinds = [r.kind for r in table.record_index(store)]
    assert kinds == [table.KEYFRAME, table.ERROR, table.KEYFRAME]
    poller = ReplayPoller(ReplayTimeline(store))
    poller.show(as_local((T0 + timedelta(seconds=5)).timestamp()))
    health = poller.health("docker:demo")
    assert health.state is HealthState.ERROR and health.message == "connection refused"
    assert poller.data("docker:demo") == as_shown(snapshot)  # the last good data, as live
    poller.show(as_local((T0 - timedelta(seconds=5)).timestamp()))
    assert poller.data("docker:demo") is None
    assert poller.health("docker:demo").state is HealthState.PENDING


def test_recording_does_not_change_the_store_revision(tmp_path):
    """The DORA keys are computed again only when the store changed: a recorded poll is not that."""
    store = store_at(tmp_path)
    before = store.revision()
    record_all(store, polls(5))
    assert store.revision() == before


def test_retention_by_age_drops_whole_chains(tmp_path):
    store = store_at(tmp_path)
    snapshots = polls(2 * KEY_EVERY + 10)
    record_all(store, snapshots)
    last = T0 + (len(snapshots) - 1) * timedelta(seconds=2)
    keep = timedelta(seconds=(KEY_EVERY + 5) * 2)  # a cut inside the second chain
    removed = table.prune_records(store, keep, 10**9, now=last)
    assert removed == KEY_EVERY  # the first chain only: the second is needed by what is kept
    rows = table.record_index(store)
    assert rows[0].kind == table.KEYFRAME
    timeline = ReplayTimeline(store)
    assert timeline.at("docker:demo", last.timestamp()).data == as_shown(snapshots[-1])
    # everything older than the newest row goes when the whole source is older
    assert table.prune_records(store, timedelta(minutes=1), 10**9, now=last + timedelta(hours=1))
    assert table.record_index(store) == []


def test_retention_by_size_keeps_the_newest(tmp_path):
    store = store_at(tmp_path)
    snapshots = polls(3 * KEY_EVERY)
    record_all(store, snapshots)
    total = table.recorded_bytes(store)
    last = T0 + (len(snapshots) - 1) * timedelta(seconds=2)
    table.prune_records(store, timedelta(days=7), total // 2, now=last)
    left = table.recorded_bytes(store)
    assert left < total
    rows = table.record_index(store)
    assert rows[0].kind == table.KEYFRAME
    assert rows[-1].at == last.timestamp()
    assert ReplayTimeline(store).at("docker:demo", last.timestamp()).data == as_shown(snapshots[-1])


def test_recorder_prunes_as_it_records(tmp_path):
    store = store_at(tmp_path)
    config = RecordConfig(keep=timedelta(minutes=5))
    ticks = iter(range(0, 10**8, 700))  # each poll 700 s apart on the monotonic clock
    recorder = Recorder(store, config, clock=lambda: float(next(ticks)))
    for i, snapshot in enumerate(polls(6)):
        recorder.record("docker:demo", snapshot, None, T0 + i * timedelta(minutes=10))
    assert len(table.record_index(store)) == 1  # each older poll was past `keep`


def test_shown_values_are_what_the_table_prints():
    for value in (0, 1, 1023, 1024, 1536, 5 * 1024**2 + 12345, 7 * 1024**3 + 99, 3 * 1024**4):
        assert human_bytes(shown_bytes(value)) == human_bytes(value)
    assert shown_bytes(5 * 1024**2 + 12345) % (1024**2 // 10) < 1024**2 // 10


def test_record_config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[record]\nkeep = "36h"\nmax_mib = 50\n')
    config = load_config(path, explicit=True, autodetect=False)
    assert config.record == RecordConfig(keep=timedelta(hours=36), max_mib=50)
    assert load_config(None, explicit=False, autodetect=False).record == RecordConfig()
    for bad in ('keep = "7x"', 'keep = "0s"', "max_mib = 0", "max_mib = true", "size = 3"):
        path.write_text(f"[record]\n{bad}\n")
        with pytest.raises(ConfigError, match="record"):
            load_config(path, explicit=True, autodetect=False)
    assert parse_keep("2w") == timedelta(days=14)


def test_parse_moment():
    now = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
    assert parse_moment("15m", now) == now - timedelta(minutes=15)
    assert parse_moment("2026-12-03T03:12:00Z", now) == datetime(2026, 12, 3, 3, 12, tzinfo=UTC)
    clock = parse_moment("03:12", now)
    assert (clock.hour, clock.minute) == (3, 12)
    with pytest.raises(ValueError, match="a time"):
        parse_moment("yesterday-ish", now)
