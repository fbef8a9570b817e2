"""Airflow at scale: 200 DAGs x 25 runs, polled by opsdash against a naive poll.

    python benchmarks/airflow.py [--dags 200] [--runs 25] [--polls 20] [--json FILE]

Starts a real Airflow 3 (devstack.airflow_server: api-server, scheduler,
dag-processor on 127.0.0.1) whose dags folder holds one file making --dags
DAGs, each paused from creation, and triggers --runs runs of each (a paused
DAG's runs stay queued: nothing executes, so the numbers are the API's).
Then, in the same run, each against the same reference:

1. **The reference**: what a dashboard without a change filter does on each
   refresh: page through every DAG and every run (`limit` 100, the server's
   maximum), through opsdash's own HTTP client so only the strategy differs.
2. **opsdash**: `AirflowSource.poll()` with the 30 newest runs shown: its first
   poll, then --polls polls of an unchanged Airflow, then one poll after a run
   was triggered and another marked failed (which it must see).

For each: requests per poll (the client's count), opsdash's own CPU per poll
(process time of this process, all threads), the api-server's CPU per poll
(its process tree, psutil) and wall time per poll.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from benchmarks.instruments import log, median  # noqa: E402
from devstack.airflow_client import AirflowError  # noqa: E402
from devstack.airflow_server import AirflowServer, available  # noqa: E402
from opsdash.model import RunStatus  # noqa: E402
from opsdash.sources.airflow import AirflowConfig, AirflowSource  # noqa: E402
from opsdash.sources.http import HttpClient, run_sync  # noqa: E402

DAG_FILE = '''"""{count} paused DAGs for the opsdash benchmark (generated)."""
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

for number in range({count}):
    with DAG(
        dag_id=f"bench_{{number:03d}}",
        start_date=datetime(2024, 1, 1),
        schedule=None,
        catchup=False,
        is_paused_upon_creation=True,
        tags=["bench"],
    ) as dag:
        EmptyOperator(task_id="noop")
    globals()[dag.dag_id] = dag
'''


def api_server_cpu(server: AirflowServer) -> float:
    """CPU seconds of the api-server and its children so far."""
    pid = server.pid("api-server")
    if pid is None:
        return 0.0
    root = psutil.Process(pid)
    total = 0.0
    for proc in (root, *root.children(recursive=True)):
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def measure(server: AirflowServer, poll, requests) -> dict[str, float]:
    """One poll: wall, own CPU, api-server CPU, requests."""
    before = (time.perf_counter(), time.process_time(), api_server_cpu(server), requests())
    result = poll()
    after = (time.perf_counter(), time.process_time(), api_server_cpu(server), requests())
    return {
        "wall_s": after[0] - before[0],
        "cpu_s": after[1] - before[1],
        "server_cpu_s": after[2] - before[2],
        "requests": after[3] - before[3],
        "result": result,
    }


def naive_poll(client: HttpClient, headers: dict[str, str]) -> int:
    """Every DAG and every run, page by page: what a poll without a change filter reads."""

    async def read_all(path: str, key: str) -> int:
        seen = 0
        while True:
            params = {"limit": 100, "offset": seen}
            response = await client.request("GET", path, params=params, headers=headers)
            body = response.json()
            seen += len(body[key])
            if not body[key] or seen >= body["total_entries"]:
                return seen

    async def both() -> int:
        await read_all(f"{client.base_url}/api/v2/dags", "dags")
        return await read_all(f"{client.base_url}/api/v2/dags/~/dagRuns", "dag_runs")

    return run_sync(both(), 600)


def seed(server: AirflowServer, dags: int, runs: int) -> float:
    """One trigger at a time: the test Airflow's SQLite database refuses
    concurrent writers (HTTP 500 "Database error")."""
    started = time.perf_counter()
    for number in range(dags):
        for _ in range(runs):
            for attempt in range(5):
                try:
                    server.client.trigger(f"bench_{number:03d}")
                    break
                except AirflowError as exc:
                    if exc.status != 500 or attempt == 4:
                        raise
                    time.sleep(0.5)
        if number % 20 == 19:
            log(f"{(number + 1) * runs} runs triggered")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dags", type=int, default=200)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not available():
        log("Airflow is not installed (scripts/test installs it)")
        return 2
    dags_dir = Path(tempfile.mkdtemp(prefix="opsdash-bench-dags-"))
    (dags_dir / "bench_dags.py").write_text(DAG_FILE.format(count=args.dags))
    expect = [f"bench_{n:03d}" for n in range(args.dags)]
    log(f"starting Airflow 3 with {args.dags} DAGs")
    with AirflowServer(dags_dir=dags_dir, expect_dags=expect) as server:
        log(f"triggering {args.dags * args.runs} runs")
        seeded = seed(server, args.dags, args.runs)
        log(f"seeded in {seeded:.0f} s")
        config = AirflowConfig(
            name="bench",
            url=server.url,
            user=server.username,
            password=server.password,
            runs=30,
            timeout=60,
        )
        source = AirflowSource(config)

        def stats() -> int:
            return source.client.stats["requests"]

        first = measure(server, source.poll, stats)
        steady = [measure(server, source.poll, stats) for _ in range(args.polls)]
        fresh = server.client.trigger("bench_000")
        # The newest queued run (the oldest of the 30 shown falls out with the new one).
        marked = max(
            (r for r in first["result"].runs if r.status is RunStatus.QUEUED),
            key=lambda r: r.created,
        )
        source.mark(marked, RunStatus.FAILED)
        changed = measure(server, source.poll, stats)
        ids = {r.id: r for r in changed["result"].runs}
        saw_new = f"bench_000/{fresh['dag_run_id']}" in ids
        saw_mark = any(
            r.id == marked.id and r.status is RunStatus.FAILED for r in changed["result"].runs
        )
        source.close()

        naive_client = HttpClient(server.url, timeout=120, secrets=(server.password,))
        token = {"Authorization": f"Bearer {server.token()}"}
        naive = [
            measure(
                server,
                lambda: naive_poll(naive_client, token),
                lambda: naive_client.stats["requests"],
            )
            for _ in range(3)
        ]
        naive_client.close()
        rss = server.rss_bytes()

    def figures(rows: list[dict[str, float]]) -> dict[str, float]:
        return {
            k: median([r[k] for r in rows]) for k in ("wall_s", "cpu_s", "server_cpu_s", "requests")
        }

    report: dict[str, Any] = {
        "machine": f"{psutil.cpu_count()} cores ({platform.machine()})",
        "dags": args.dags,
        "runs": args.dags * args.runs,
        "seed_s": seeded,
        "opsdash_first": figures([first]),
        "opsdash_unchanged": figures(steady),
        "opsdash_after_change": figures([changed]),
        "saw_new_run": saw_new,
        "saw_marked_run": saw_mark,
        "naive": figures(naive),
        "naive_runs_read": naive[0]["result"],
        "airflow_rss_mib": {k: v / 2**20 for k, v in rss.items()},
    }
    unchanged, reference = report["opsdash_unchanged"], report["naive"]
    log(json.dumps(report, indent=1))
    for key in ("requests", "cpu_s", "server_cpu_s", "wall_s"):
        ratio = unchanged[key] / reference[key] if reference[key] else float("nan")
        log(
            f"unchanged poll / naive poll, {key}: {unchanged[key]:.4g} / {reference[key]:.4g} = {ratio:.3f}x"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0 if saw_new and saw_mark else 1


if __name__ == "__main__":
    raise SystemExit(main())
