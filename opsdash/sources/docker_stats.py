"""Container stats for DockerSource, sampled in a thread beside the polls.

Design (measured in docs/benchmarks.md): dockerd answers a one-shot stats
request at its next collection tick, about once a second, whatever the number
of waiting requests. So stats for every running container are asked for all at
once, from one asyncio loop with plain HTTP/1.0 requests on the engine's own
socket (no thread per container), in a sampler thread beside the polls: listing
and inspecting stay fast at any scale and stats follow as quickly as the daemon
serves them. CPU % is the difference between two consecutive samples, computed
as `docker stats` does. ssh:// hosts use a bounded pool.

A module of its own because it is a second job: DockerSource lists and
inspects; this keeps a thread, a loop and the previous samples.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import docker
import docker.errors
import requests.exceptions

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


class StatsSampler:
    """The latest stats of an engine's running containers, from one daemon thread."""

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
        """Stats of every running container, all requests in flight at once.

        dockerd answers a one-shot request at its next collection tick (about
        once a second while anyone reads stats), so what counts is how many
        requests wait for the same tick. One asyncio loop with plain HTTP requests
        on the same socket keeps all of them in flight without a thread each.
        ssh:// hosts (one ssh process per connection, at most MAX_SSH_CONNECTIONS)
        use the bounded thread pool over those connections.
        """
        self._one_shot = supports_one_shot(self.client.api_version)
        if self.config.host.startswith(("unix://", "tcp://")):
            samples = asyncio.run(self._fetch_stats_async(ids))
        else:
            samples = dict(zip(ids, self._pool.map(self._fetch_stats_sync, ids), strict=True))
        return {cid: self._stats_from(cid, sample) for cid, sample in samples.items()}

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not (self.config.tls_verify or self.config.cert_path):
            return None
        cert_dir = self.config.cert_path or os.path.expanduser("~/.docker")
        context = ssl.create_default_context(
            cafile=os.path.join(cert_dir, "ca.pem") if self.config.tls_verify else None
        )
        if not self.config.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.load_cert_chain(
            os.path.join(cert_dir, "cert.pem"), os.path.join(cert_dir, "key.pem")
        )
        return context

    async def _fetch_stats_async(self, ids: list[str]) -> dict[str, dict[str, Any] | None]:
        """One short HTTP/1.0 request per container on its own connection.

        A general client (httpx's pool) spent most of a core managing 200
        concurrent connections; these requests need nothing but a socket, so
        they are written by hand: request line, read to EOF, parse the JSON.
        """
        version = self.client.api_version
        query = "stream=false" + ("&one-shot=true" if self._one_shot else "")
        host = self.config.host
        context = self._ssl_context() if host.startswith("tcp://") else None
        address = host.split("://", 1)[1]
        limit = asyncio.Semaphore(256)

        async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            if host.startswith("unix://"):
                return await asyncio.open_unix_connection(address)
            name, _, port = address.rpartition(":")
            return await asyncio.open_connection(name, int(port), ssl=context)

        async def one(cid: str) -> dict[str, Any] | None:
            async with limit:
                try:
                    reader, writer = await asyncio.wait_for(connect(), self.config.timeout)
                    writer.write(
                        f"GET /v{version}/containers/{cid}/stats?{query} HTTP/1.0\r\n"
                        f"Host: docker\r\n\r\n".encode()
                    )
                    raw = await asyncio.wait_for(reader.read(), self.config.timeout)
                    writer.close()
                except (OSError, TimeoutError, ssl.SSLError):
                    return None
            head, _, body = raw.partition(b"\r\n\r\n")
            if not head.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200")):
                return None
            try:
                return json.loads(body)
            except ValueError:
                return None

        results = await asyncio.gather(*(one(cid) for cid in ids))
        return dict(zip(ids, results, strict=True))

    def _fetch_stats_sync(self, cid: str) -> dict[str, Any] | None:
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
