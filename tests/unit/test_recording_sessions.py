"""Two opsdash recording the same label into one store (a team's PostgreSQL, two
terminals on one SQLite file): each session's chains stay its own, replay shows
the session that covers the moment (or the one asked for), pruning keeps whole
chains per session, a store recorded before sessions existed still replays, and
`opsdash replay --session` / `--sessions` pick and list them."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsdash.config_record import RecordConfig
from opsdash.model import DockerSnapshot
from opsdash.recorder import KEY_EVERY, Recorder, as_shown, session_id
from opsdash.replay_flow import ReplayFlow
from opsdash.replay_timeline import ReplayTimeline, as_local
from opsdash.store import Store
from opsdash.store import recording as table
from opsdash.store.schema import _MIGRATIONS, migration_script
from tests.fakes import FixedDockerSource

T0 = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
LABEL = "docker:prod"
ALICE = "alice@laptop 4242 2026-12-03T03:00Z"
BOB = "bob@desk 77 2026-12-03T03:05Z"
STEP = timedelta(seconds=2)


def polls(n: int, base_cpu: float, suffix: str = "") -> list[DockerSnapshot]:
    """`n` polls of the sample engine (its containers' names ending in `suffix`:
    a delta of one session applied to the other's keyframe would be seen), one
    container's CPU moving from `base_cpu`."""
    base = FixedDockerSource().poll()
    named = tuple(replace(c, name=c.name + suffix, id=c.id + suffix) for c in base.containers)
    out = []
    for i in range(n):
        first = replace(named[0], cpu_percent=base_cpu + i)
        out.append(replace(base, containers=(first, *named[1:])))
    return out


def record_both(store: Store, n: int = KEY_EVERY + 20, bobs_store: Store | None = None):
    """Alice from T0, Bob from T0+5m (on `bobs_store`, another connection to the
    same database, when given), interleaved row by row once both run; each
    moment with what each of them recorded then."""
    alice = Recorder(store, RecordConfig(), clock=lambda: 0.0, session=ALICE)
    bob = Recorder(bobs_store or store, RecordConfig(), clock=lambda: 0.0, session=BOB)
    bob_start = T0 + timedelta(minutes=5) + timedelta(seconds=1)
    recorded: dict[str, list[tuple[datetime, DockerSnapshot]]] = {ALICE: [], BOB: []}
    for i, (a, b) in enumerate(zip(polls(n, 0.0), polls(n, 500.0, "-bob"), strict=True)):
        at = T0 + i * STEP
        alice.record(LABEL, a, None, at)
        recorded[ALICE].append((at, a))
        b_at = bob_start + i * STEP
        if b_at <= T0 + n * STEP:  # Bob's rows interleave with Alice's
            bob.record(LABEL, b, None, b_at)
            recorded[BOB].append((b_at, b))
    return recorded


def test_two_sessions_on_one_label_each_replay_their_own_data(tmp_path):
    store = Store(tmp_path / "opsdash.db")
    recorded = record_both(store)
    index = table.record_index(store)
    assert {r.session for r in index} == {ALICE, BOB}
    ids = [r.session for r in index]
    assert ids.index(BOB) < len(ids) - 1 - ids[::-1].index(ALICE)  # interleaved
    for who in (ALICE, BOB):
        timeline = ReplayTimeline(store, session=who)
        assert timeline.sessions == [who]
        for at, snapshot in recorded[who]:
            found = timeline.at(LABEL, at.timestamp())
            assert found.session == who and found.data == as_shown(snapshot)
    # By default, each moment shows the session that covers it.
    timeline = ReplayTimeline(store)
    for at, snapshot in recorded[ALICE][:150]:  # before Bob started
        assert timeline.at(LABEL, at.timestamp()).data == as_shown(snapshot)
    for at, _ in recorded[BOB]:  # Bob started last; Alice's 2nd chain is later
        who = timeline.session_at(LABEL, at.timestamp())
        found = timeline.at(LABEL, at.timestamp())
        own = dict(recorded[who])
        last = max(t for t in own if t <= at)
        assert found.session == who and found.data == as_shown(own[last])
    assert timeline.session_at(LABEL, recorded[BOB][0][0].timestamp()) == BOB
    store.close()


def test_two_opsdash_on_one_postgresql_keep_their_chains_apart(postgres):
    url = postgres.new_database()
    mine, theirs = Store.open_url(url), Store.open_url(url)
    try:
        assert mine.problem is None and mine.schema_version == len(_MIGRATIONS)
        recorded = record_both(mine, n=2 * KEY_EVERY + 10, bobs_store=theirs)
        table.prune_records(mine, timedelta(0), 1 << 40, T0 + (KEY_EVERY + 50) * STEP)
        for who in (ALICE, BOB):
            rows = [r for r in table.record_index(theirs) if r.session == who]
            assert rows[0].kind == table.KEYFRAME
            timeline = ReplayTimeline(theirs, session=who)
            for at, snapshot in recorded[who]:
                if at.timestamp() >= rows[0].at:
                    assert timeline.at(LABEL, at.timestamp()).data == as_shown(snapshot)
        assert {s.session for s in table.recorded_sessions(mine)} == {ALICE, BOB}
    finally:
        mine.close()
        theirs.close()


def test_the_replay_header_names_whose_recording_is_shown(tmp_path):
    store = Store(tmp_path / "opsdash.db")
    recorded = record_both(store, n=200)
    flow = ReplayFlow(None, ReplayTimeline(store))
    flow.poller.shown_at = as_local(recorded[ALICE][10][0].timestamp())
    assert flow.header().endswith(f"recorded by {ALICE}")
    flow.poller.shown_at = as_local(recorded[BOB][10][0].timestamp())
    assert flow.header().endswith(f"recorded by {BOB}")
    alone = ReplayFlow(None, ReplayTimeline(store, session=ALICE))
    assert "recorded by" not in alone.header()
    store.close()


def test_pruning_keeps_each_sessions_chains_whole(tmp_path):
    store = Store(tmp_path / "opsdash.db")
    recorded = record_both(store, n=2 * KEY_EVERY + 10)
    cutoff = T0 + (KEY_EVERY + 50) * STEP
    dropped = table.prune_records(store, timedelta(0), 1 << 40, cutoff)
    assert dropped > 0
    index = table.record_index(store)
    for who in (ALICE, BOB):
        rows = [r for r in index if r.session == who]
        assert rows[0].kind == table.KEYFRAME  # no delta left without its snapshot
        assert rows[0].at <= cutoff.timestamp()  # the chain the first kept row needs stays
        timeline = ReplayTimeline(store, session=who)
        for at, snapshot in recorded[who]:
            if at.timestamp() >= rows[0].at:
                assert timeline.at(LABEL, at.timestamp()).data == as_shown(snapshot)
    store.close()


def test_a_store_recorded_before_sessions_migrates_and_still_replays(tmp_path):
    old = polls(30, 0.0)
    donor = Store(tmp_path / "donor.db")
    recorder = Recorder(donor, RecordConfig(), clock=lambda: 0.0, session="")
    for i, snapshot in enumerate(old):
        recorder.record(LABEL, snapshot, None, T0 + i * STEP)
    rows = donor._read("SELECT at, source, kind, codec, size, data FROM poll_records ORDER BY id")
    donor.close()
    path = tmp_path / "opsdash.db"
    db = sqlite3.connect(path)
    for number, item in enumerate(_MIGRATIONS[:8], start=1):
        db.executescript(f"BEGIN; {migration_script(item, 'sqlite')}; COMMIT;")
        db.execute(f"PRAGMA user_version = {number}")
    db.executemany(
        "INSERT INTO poll_records(at, source, kind, codec, size, data) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.commit()
    db.close()

    store = Store(path)
    assert store.schema_version == len(_MIGRATIONS) == 9
    assert {r.session for r in table.record_index(store)} == {""}
    new = polls(10, 900.0)
    later = T0 + timedelta(hours=1)
    recorder = Recorder(store, RecordConfig(), clock=lambda: 0.0, session=ALICE)
    for i, snapshot in enumerate(new):
        recorder.record(LABEL, snapshot, None, later + i * STEP)
    timeline = ReplayTimeline(store)
    for i, snapshot in enumerate(old):
        assert timeline.at(LABEL, (T0 + i * STEP).timestamp()).data == as_shown(snapshot)
    assert timeline.at(LABEL, later.timestamp()).data == as_shown(new[0])
    flow = ReplayFlow(None, timeline)
    flow.poller.shown_at = as_local(T0.timestamp() + 4)
    assert flow.header().endswith("recorded by an older opsdash")
    assert [s.session for s in table.recorded_sessions(store)] == ["", ALICE]
    from opsdash.replay_app import matching_session

    assert matching_session(["", ALICE], "older") == ("", "")
    assert matching_session(["", ALICE], "alice@") == (ALICE, "")
    store.close()


def test_the_session_id_names_user_host_pid_and_start(monkeypatch):
    monkeypatch.setenv("OPSDASH_ACTOR", "alice@laptop")
    monkeypatch.setattr("os.getpid", lambda: 4242)
    when = datetime(2026, 12, 3, 17, 20, 31, tzinfo=UTC)
    assert session_id(when) == "alice@laptop 4242 2026-12-03T17:20Z"


# --- opsdash replay --session / --sessions -------------------------------------


def cli_store(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("OPSDASH_DATA_DIR", str(tmp_path / "data"))
    store = Store.open_default()
    record_both(store, n=200)
    store.close()
    config = tmp_path / "config.toml"
    config.write_text("")
    return config


def test_replay_sessions_lists_each_recording(tmp_path, monkeypatch, capsys):
    from opsdash.cli import main

    config = cli_store(tmp_path, monkeypatch)
    assert main(["--config", str(config), "replay", "--sessions"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(ALICE) and lines[1].startswith(BOB)
    assert all(line.endswith(LABEL) for line in lines)
    first = as_local(T0.timestamp()).strftime("%Y-%m-%d %H:%M:%S")
    assert first in lines[0]


def test_a_bad_replay_session_says_why_in_one_line(tmp_path, monkeypatch, capsys):
    from opsdash.cli import main

    config = cli_store(tmp_path, monkeypatch)
    assert main(["--config", str(config), "replay", "--session", "carol@"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "no recorded session holds 'carol@'" in err and ALICE in err
    assert main(["--config", str(config), "replay", "--session", "2026-12-03"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2 sessions hold '2026-12-03'" in err


def test_replay_session_picks_one_recording(tmp_path, monkeypatch):
    import opsdash.replay_app as replay_app

    config = cli_store(tmp_path, monkeypatch)
    opened = []
    monkeypatch.setattr(replay_app.ReplayApp, "run", lambda app: opened.append(app))
    from opsdash.cli import main

    assert main(["--config", str(config), "replay", "--session", "bob@"]) == 0
    (app,) = opened
    assert app.timeline.sessions == [BOB]
