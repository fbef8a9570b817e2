"""What recording costs: bytes per recorded poll at 200 containers, and a week of it.

Fake polls of one engine with `--containers` containers (realistic rows: names,
images, labels, ports, stats), recorded through the real `Recorder` into a
real SQLite store in a temporary directory; three kinds of poll: nothing
changes (not recorded), a share of the containers changes its shown CPU and
memory, every container does. Prints bytes per recorded poll (compressed
data, as `[record] max_mib` counts it) and the database file's growth, and
what a week of polls every 2 seconds needs.

    python -m benchmarks.replay_size --containers 200 --polls 600
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsdash.config_record import RecordConfig
from opsdash.model import Container, DockerSnapshot, Port
from opsdash.recorder import Recorder
from opsdash.replay_timeline import ReplayTimeline
from opsdash.store import Store
from opsdash.store import recording as table

WEEK_POLLS = 7 * 86400 / 2.0  # one engine polled every 2 s (the default refresh)


def engine(n: int, rng: random.Random) -> DockerSnapshot:
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    containers = []
    for i in range(n):
        project = f"shop{i % 12}"
        service = ("web", "api", "worker", "db", "cache")[i % 5]
        containers.append(
            Container(
                host="local",
                id=f"{rng.getrandbits(256):064x}",
                name=f"{project}-{service}-{i}",
                image=f"registry.example.com/{project}/{service}:1.{i % 7}.{i % 3}",
                state="running",
                status="Up 3 hours (healthy)",
                health="healthy" if i % 3 else "",
                created=now - timedelta(hours=5, seconds=i),
                started_at=now - timedelta(hours=3, seconds=i),
                ports=(Port(8000 + i % 50, "tcp", "0.0.0.0", 30000 + i),) if i % 4 == 0 else (),
                labels=(
                    ("com.docker.compose.project", project),
                    ("com.docker.compose.service", service),
                    ("com.docker.compose.version", "2.29.7"),
                    ("org.opencontainers.image.revision", f"{rng.getrandbits(160):040x}"),
                ),
                compose_project=project,
                compose_service=service,
                cpu_percent=rng.random() * 20,
                memory_used=rng.randrange(20, 900) * 1024**2 + rng.randrange(1024**2),
                memory_limit=8 * 1024**3,
                image_id=f"sha256:{rng.getrandbits(256):064x}",
            )
        )
    return DockerSnapshot(host="local", containers=tuple(containers), engine_version="27.3.1")


def jitter(snapshot: DockerSnapshot, share: float, rng: random.Random) -> DockerSnapshot:
    """`share` of the containers move their CPU and memory, as a busy poll does."""
    out = []
    for c in snapshot.containers:
        if rng.random() < share:
            c = replace(
                c,
                cpu_percent=max(0.0, (c.cpu_percent or 0) + rng.uniform(-2, 2)),
                memory_used=max(1024**2, (c.memory_used or 0) + rng.randrange(-3, 4) * 1024**2),
            )
        out.append(c)
    return replace(snapshot, containers=tuple(out))


def measure(containers: int, polls: int, share: float) -> dict[str, float]:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "opsdash.db"
        store = Store(path)
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        empty = path.stat().st_size
        recorder = Recorder(store, RecordConfig())
        snapshot = engine(containers, rng)
        at = datetime(2026, 12, 3, 12, tzinfo=UTC)
        cpu = time.process_time()
        for _ in range(polls):
            snapshot = jitter(snapshot, share, rng)
            recorder.record("docker:local", snapshot, None, at)
            at += timedelta(seconds=2)
        record_cpu = time.process_time() - cpu
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        grown = path.stat().st_size - empty
        cpu = time.process_time()
        timeline = ReplayTimeline(store)
        moments = timeline.moments
        for moment in moments[:: max(1, len(moments) // 50)]:
            timeline.at("docker:local", moment)
        replay_cpu = (time.process_time() - cpu) / max(
            1, len(moments[:: max(1, len(moments) // 50)])
        )
        rows = len(table.record_index(store))
        store.close()
    per_poll = recorder.bytes / polls
    per_poll_file = grown / polls
    return {
        "share": share,
        "rows": rows,
        "data_bytes_per_poll": per_poll,
        "file_bytes_per_poll": per_poll_file,
        "week_mib_data": per_poll * WEEK_POLLS / 1024**2,
        "week_mib_file": per_poll_file * WEEK_POLLS / 1024**2,
        "record_ms_per_poll": record_cpu / polls * 1000,
        "seek_ms": replay_cpu * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=200)
    parser.add_argument("--polls", type=int, default=600)
    args = parser.parse_args()
    print(f"{args.containers} containers, {args.polls} polls 2 s apart, one engine")
    print("changing  rows  data B/poll  file B/poll  week MiB (data/file)  record ms/poll  seek ms")
    for share in (0.0, 0.05, 0.25, 1.0):
        m = measure(args.containers, args.polls, share)
        print(
            f"{share:7.0%}  {m['rows']:5d}  {m['data_bytes_per_poll']:11.0f}"
            f"  {m['file_bytes_per_poll']:11.0f}  {m['week_mib_data']:9.1f} / {m['week_mib_file']:<8.1f}"
            f"  {m['record_ms_per_poll']:14.2f}  {m['seek_ms']:7.2f}"
        )


if __name__ == "__main__":
    main()
