"""Container stats for DockerSource: the math both samplers share, and the
one-shot sampler for ssh:// hosts.

Local and TCP engines are read through persistent streams
(docker_stats_stream.py, which says why). An ssh:// host reaches the engine
through one ssh process per connection, at most MAX_SSH_CONNECTIONS of them,
so a stream per container cannot be held open there: a daemon thread beside
the polls asks for one-shot samples over that bounded pool instead, and CPU %
is the difference between two consecutive samples, computed as `docker stats`
does. DockerSource picks one (`_sampler`).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the SDK loads with the connection, after the first frame
    import docker

StatsTuple = tuple[float | None, int | None, int | None]  # cpu %, memory used, limit


class Engine(Protocol):
    """What the sampler needs of its DockerSource (the client may reconnect
    between passes; refresh may change)."""

    name: str
    refresh: float
    config: Any  # the host's settings: host, timeout, tls_verify, cert_path

    @property
    def client(self) -> docker.APIClient: ...


def cpu_percent(current: dict[str, Any], previous: dict[str, Any] | None) -> float | None:
    """CPU % as `docker stats` computes it, between two stats samples."""
    if not previous:
        return None
    try:
        cpu_delta = current["cpu_usage"]["total_usage"] - previous["cpu_usage"]["total_usage"]
        system_delta = current["system_cpu_usage"] - previous["system_cpu_usage"]
    except (KeyError, TypeError):
        return None
    online = current.get("online_cpus") or len(current["cpu_usage"].get("percpu_usage") or []) or 1
    if system_delta <= 0 or cpu_delta < 0:
        return 0.0 if system_delta > 0 else None
    return cpu_delta / system_delta * online * 100.0


def memory_used(memory_stats: dict[str, Any]) -> int | None:
    """Memory usage without page cache, as `docker stats` reports it (cgroup v1 and v2)."""
    usage = memory_stats.get("usage")
    if usage is None:
        return None
    stats = memory_stats.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        if key in stats and stats[key] < usage:
            return usage - stats[key]
    return usage


def supports_one_shot(api_version: str) -> bool:
    """Engine API 1.41 and later answer `one-shot=true` without the second sample
    they otherwise wait for."""
    return tuple(int(x) for x in api_version.split(".")) >= (1, 41)


class OneShotSampler:
    """The latest stats of an ssh:// engine's running containers, from one daemon thread."""

    def __init__(self, engine: Engine, pool: ThreadPoolExecutor):
        self.engine = engine
        self.config = engine.config
        self._pool = pool  # shared with the source's inspects; ssh:// stats use it
        self._cpu_samples: dict[str, dict[str, Any]] = {}
        self._stats_lock = threading.Lock()
        self._wanted: list[str] = []
        self._latest: dict[str, StatsTuple | None] = {}
        self._sampler: threading.Thread | None = None
        self._stop = threading.Event()
        self._first_pass = threading.Event()
        self._one_shot = True

    @property
    def client(self) -> docker.APIClient:
        return self.engine.client

    def sampled(self, running_ids: list[str], wait: bool = False) -> dict[str, StatsTuple | None]:
        """The latest stats of the running containers, from the sampler thread.

        A stats pass over many containers takes longer than listing them, so it
        runs beside the polls: the list (state, health, restarts) is always as
        fresh as the refresh interval, and stats follow as fast as the daemon
        serves them. `wait` (the CLI's `blocking_stats`) waits for the first pass.
        """
        with self._stats_lock:
            self._wanted = list(running_ids)
            if self._sampler is None or not self._sampler.is_alive():
                self._sampler = threading.Thread(
                    target=self._sample_forever, name=f"stats-{self.engine.name}", daemon=True
                )
                self._sampler.start()
        if wait and running_ids:
            self._first_pass.wait(self.config.timeout)
        with self._stats_lock:
            return {cid: self._latest.get(cid) for cid in running_ids}

    def _sample_forever(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            with self._stats_lock:
                ids = list(self._wanted)
            try:
                latest = self._stats_all(ids) if ids else {}
            except Exception:  # noqa: BLE001 - the poll reports outages; retry next round
                latest = {}
            with self._stats_lock:
                self._latest = latest
                for cid in [c for c in self._cpu_samples if c not in latest]:
                    del self._cpu_samples[cid]
            self._first_pass.set()
            self._stop.wait(max(0.2, self.engine.refresh - (time.monotonic() - started)))

    def _stats_all(self, ids: list[str]) -> dict[str, StatsTuple | None]:
        """Stats of every running container through the bounded pool of
        connections (one ssh process each, at most MAX_SSH_CONNECTIONS)."""
        self._one_shot = supports_one_shot(self.client.api_version)
        samples = dict(zip(ids, self._pool.map(self._fetch_stats_sync, ids), strict=True))
        return {cid: self._stats_from(cid, sample) for cid, sample in samples.items()}

    def _fetch_stats_sync(self, cid: str) -> dict[str, Any] | None:
        import docker.errors
        import requests.exceptions

        try:
            if self._one_shot:
                return self.client.stats(cid, stream=False, one_shot=True)
            return self.client.stats(cid, stream=False)
        except (requests.exceptions.RequestException, docker.errors.DockerException):
            return None

    def _stats_from(self, cid: str, sample: dict[str, Any] | None) -> StatsTuple | None:
        """CPU % from our previous one-shot sample (or the daemon's precpu), memory."""
        if not sample:
            return None
        previous = self._cpu_samples.get(cid) if self._one_shot else sample.get("precpu_stats")
        cpu = sample.get("cpu_stats") or {}
        percent = cpu_percent(cpu, previous)
        if cpu.get("system_cpu_usage"):
            self._cpu_samples[cid] = cpu
        mem = sample.get("memory_stats") or {}
        return percent, memory_used(mem), mem.get("limit")

    def close(self) -> None:
        """Stop the thread after its current pass (it is a daemon: exit never waits)."""
        self._stop.set()


class Sampler(Protocol):
    def sampled(
        self, running_ids: list[str], wait: bool = False
    ) -> dict[str, StatsTuple | None]: ...

    def close(self) -> None: ...
