"""DockerSource polls and stats calls on the raw API: the stats design's figures.

A mixin of Bench (scenarios.py): it uses the bench's engine, args and notes.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil

from benchmarks.instruments import CpuWindow, median, timed, with_cpu, with_memory


class DockerPolls:
    """DockerSource.poll() wall times and CPU, and passes of raw stats calls."""

    def source(self, **extra: Any):
        from opsdash.sources.docker import DockerHostConfig, DockerSource

        return DockerSource(
            DockerHostConfig(name="bench", host=self.engine.docker_host, timeout=30, **extra)
        )

    def source_polls(self, n: int) -> dict[str, Any]:
        """DockerSource as the TUI uses it: polls, and stats as they arrive."""
        out: dict[str, Any] = {}
        src = self.source()
        try:
            t0 = time.perf_counter()
            out["first_poll_s"], snap = timed(src.poll)
            out["first_poll_with_memory"] = with_memory(snap)
            deadline = t0 + 120
            while time.perf_counter() < deadline:
                if with_memory(snap) == n and "all_memory_s" not in out:
                    out["all_memory_s"] = time.perf_counter() - t0
                if with_cpu(snap) == n:
                    out["all_cpu_s"] = time.perf_counter() - t0
                    break
                time.sleep(0.25)  # at 200 containers a poll itself takes CPU
                snap = src.poll()
            if len(snap.containers) != n or "all_cpu_s" not in out:
                self.note(
                    f"DockerSource: {len(snap.containers)} containers, {with_memory(snap)} "
                    f"with memory, {with_cpu(snap)} with CPU %, of {n} after 120 s"
                )
            walls = [timed(src.poll)[0] for _ in range(5)]
            out["poll_median_s"] = median(walls)
            out["poll_all_s"] = walls
        finally:
            self.close_source(src)
        src = self.source()
        try:
            if hasattr(src, "blocking_stats"):  # what `opsdash snapshot` and `check` do
                src.blocking_stats = True
                out["blocking_first_poll_s"], snap = timed(src.poll)
                out["blocking_first_poll_with_memory"] = with_memory(snap)
        finally:
            self.close_source(src)
        src = self.source(stats=False)
        try:
            src.poll()
            out["poll_no_stats_s"] = median(timed(src.poll)[0] for _ in range(3))
        finally:
            self.close_source(src)
        for key, stats in (("source_cpu", True), ("source_cpu_no_stats", False)):
            out[key] = self.source_cpu(stats)
        out.update(self.stats_calls())
        return out

    def source_cpu(self, stats: bool) -> dict[str, float]:
        """CPU of DockerSource alone, polled every refresh as the TUI does, no UI.

        Measured on this process, which does nothing else meanwhile."""
        src = self.source(stats=stats)
        try:
            deadline = time.monotonic() + 10  # past the first stats passes
            while time.monotonic() < deadline:
                src.poll()
                time.sleep(src.refresh)
            window = CpuWindow(lambda: [psutil.Process()])
            window.start()
            deadline = time.monotonic() + self.args.idle_seconds
            while time.monotonic() < deadline:
                src.poll()
                time.sleep(src.refresh)
            return window.stop()
        finally:
            self.close_source(src)

    @staticmethod
    def close_source(src: Any) -> None:
        src.close()
        time.sleep(3)  # a stats pass still in flight ends before the next figure

    def stats_calls(self) -> dict[str, float | None]:
        """Stats on the raw API, to explain the poll figures and the design."""
        import docker

        client = docker.APIClient(
            base_url=self.engine.docker_host, version="auto", timeout=60, max_pool_size=20
        )
        out: dict[str, float | None] = {}
        try:
            ids = [c["Id"] for c in client.containers()]

            def one_shot(cid: str) -> Any:
                return client.stats(cid, stream=False, one_shot=True)

            idle = []
            for _ in range(3):
                time.sleep(3)  # nobody has asked for stats for a while
                idle.append(timed(lambda: one_shot(ids[0]))[0])
            out["one_shot_after_idle_s"] = median(idle)
            out["one_shot_back_to_back_s"] = median(
                timed(lambda: one_shot(ids[0]))[0] for _ in range(10)
            )
            time.sleep(3)
            with ThreadPoolExecutor(max_workers=16) as pool:
                out["one_shot_16_threads_s"] = timed(lambda: list(pool.map(one_shot, ids)))[0]
            time.sleep(3)
            out["one_shot_all_at_once_s"] = timed(
                lambda: asyncio.run(self.all_at_once(ids, client.api_version))
            )[0]
            time.sleep(3)
            with ThreadPoolExecutor(max_workers=16) as pool:
                out["two_sample_16_threads_s"] = timed(
                    lambda: list(pool.map(lambda cid: client.stats(cid, stream=False), ids))
                )[0]
        finally:
            client.close()
        return out

    async def all_at_once(self, ids: list[str], version: str) -> None:
        """One one-shot request per container, every one in flight together."""
        import httpx

        transport = httpx.AsyncHTTPTransport(
            uds=str(self.engine.socket_path),
            limits=httpx.Limits(max_connections=len(ids) + 8),
        )
        async with httpx.AsyncClient(
            transport=transport, base_url="http://docker", timeout=60
        ) as client:
            params = {"stream": "false", "one-shot": "true"}
            responses = await asyncio.gather(
                *(client.get(f"/v{version}/containers/{cid}/stats", params=params) for cid in ids)
            )
        bad = [r.status_code for r in responses if r.status_code != 200]
        if bad:
            self.note(f"{len(bad)} of {len(ids)} stats requests sent at once failed: {bad[:3]}")
