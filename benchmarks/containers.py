"""The benchmark's containers on the private engine: N busybox `sleep`s started in
parallel batches (engine.cleanup() removes them).

A mixin of Bench (scenarios.py): it uses the bench's engine, args and name width.
"""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.instruments import log
from devstack.docker_engine import BUSYBOX_IMAGE

LABEL = "opsdash.bench=1"


def container_name(index: int, width: int) -> str:
    """Zero-padded to the largest count's width, so names sort as their indices do."""
    return f"bench-{index:0{width}d}"


class Containers:
    def docker(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.engine.cli(*args, timeout=timeout)

    def ensure_containers(self, total: int) -> None:
        have = len(self.docker("ps", "-aq", "--filter", f"label={LABEL}").stdout.split())
        busy = self.args.busy

        def start(index: int) -> None:
            command = ["sh", "-c", "while :; do :; done"] if index < busy else ["sleep", "100000"]
            self.docker(
                "run",
                "-d",
                "--name",
                container_name(index, self.name_width),
                "--label",
                LABEL,
                "--network",
                "none",
                BUSYBOX_IMAGE,
                *command,
            )

        t0 = time.perf_counter()
        # In batches, so a slow engine (1,000 shims on 2 cores) shows progress in the log.
        with ThreadPoolExecutor(max_workers=16) as pool:
            for batch in range(have, total, 100):
                list(pool.map(start, range(batch, min(batch + 100, total))))
                log(f"  {min(batch + 100, total)} of {total} started")
        running = self.docker("ps", "-q", "--filter", "status=running").stdout.split()
        if len(running) != total:
            raise RuntimeError(f"{len(running)} of {total} containers running")
        log(
            f"{total} containers running ({total - have} started in {time.perf_counter() - t0:.1f}s)"
        )
