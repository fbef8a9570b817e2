"""Docker Engine (and Swarm): polls over http.client (docker_http.py), the
docker SDK's low-level APIClient for logs, actions and ssh:// hosts.

Follows the engine's container events (docker_events.py) and lists and
inspects again only what they name, with a full resync on (re)connect and
every RESYNC_SECONDS; lists Swarm services on a manager; reads details and logs
on demand. Container stats come from one stream per running container, drained
by each poll (docker_stats_stream.py; ssh:// hosts: docker_stats.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from opsdash.config_checks import Invalid
from opsdash.model import (
    Container,
    ContainerDetails,
    DockerSnapshot,
)
from opsdash.sources import docker_contexts
from opsdash.sources.base import DEFAULT_REFRESH, DEFAULT_TIMEOUT, Detection, Source, SourceError
from opsdash.sources.docker_contexts import TLSFiles
from opsdash.sources.docker_events import ContainerEvents
from opsdash.sources.docker_http import EngineError, NotFound
from opsdash.sources.docker_logs import LogStream, open_logs
from opsdash.sources.docker_map import (
    container_from,
    details_from,
    listed_facts,
    row_facts,
    services_from,
)
from opsdash.sources.docker_stats import OneShotSampler, Sampler, StatsTuple
from opsdash.sources.docker_stats_stream import StreamSampler
from opsdash.sources.settings import expand_user, fixed, option

if TYPE_CHECKING:
    import docker

    from opsdash.sources.docker_http import EngineHTTP
    from opsdash.sources.docker_http_sdk import SDKReader


DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"
INSPECT_BUDGET = 0.5  # seconds a poll waits for inspects before showing the list
RESYNC_SECONDS = 60.0  # a full list and info even while events flow (docker_events.py)


def docker_host(value: str) -> str:
    if not re.match(r"^(unix|tcp|ssh|npipe)://", value):
        raise Invalid("must start with unix://, tcp:// or ssh:// (e.g. ssh://user@box)")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class DockerHostConfig:
    """One [[docker]] table: an engine, local or remote."""

    kind: ClassVar[str] = "docker"
    name: str = option(
        doc="shown in the header and the HOST column; unique",
        default_doc='`"local"`, then `"docker1"`, ...',
    )
    host: str = option(
        f"unix://{DEFAULT_DOCKER_SOCKET}",
        doc="unix://, tcp:// or ssh:// URL of the engine",
        env=("DOCKER_HOST",),
        blank_is_default=True,
        check=docker_host,
        default_doc="$DOCKER_HOST, else the local socket",
    )
    context: str = option(
        "",
        doc="a Docker context (`docker context ls`): its endpoint and TLS material "
        "instead of host, tls_verify and cert_path",
    )
    tls_verify: bool = option(False, doc="verify the daemon's certificate against ca.pem")
    cert_path: str = option(
        "", doc="directory holding ca.pem, cert.pem and key.pem", check=expand_user
    )
    use_ssh_client: bool = option(
        True,
        doc="ssh:// through the system ssh binary (honours ~/.ssh/config); "
        "false: docker-py's paramiko",
    )
    read_only: bool = option(False, doc="refuse actions on this engine only")
    refresh: float = option(DEFAULT_REFRESH, doc="seconds between polls", from_refresh=True)
    timeout: float = option(DEFAULT_TIMEOUT, doc="seconds one API call may take")
    stats: bool = option(True, doc="CPU % and memory of running containers")
    stats_concurrency: int = option(16, doc="how many stats/inspect calls run at once")
    pull: bool = option(
        True, doc="R pulls the tag first; false: always recreate from the local image"
    )
    shell: tuple[str, ...] = option(
        ("/bin/sh",),
        doc='what E runs in the selected container (docker exec -it), e.g. ["/bin/bash", "-l"]',
        blank_is_default=True,
    )
    # Filled from the context's files (docker_contexts.resolved), not keys.
    context_tls: TLSFiles | None = fixed(None)  # noqa: RUF009 - frozen, never shared
    context_origin: str = fixed("")  # the meta.json read; "" not read yet
    context_problem: str = fixed("")  # why autodetection could not read it

    @classmethod
    def default_name(cls, index: int, values: dict[str, Any]) -> str:
        if values.get("context"):
            return values["context"]
        return f"docker{index}" if index else "local"

    def completed(self) -> DockerHostConfig:
        """The config reader's last step: a `context` read into host and TLS."""
        return docker_contexts.resolved(self)


def default_docker_host(environ=os.environ) -> str:
    return environ.get("DOCKER_HOST") or f"unix://{DEFAULT_DOCKER_SOCKET}"


class DockerSource(Source):
    kind = "docker"
    feeds = DockerSnapshot
    config_class = DockerHostConfig
    setup_hint = f"set DOCKER_HOST or start Docker ({DEFAULT_DOCKER_SOCKET})"

    @classmethod
    def autodetect(cls, detection: Detection) -> tuple[DockerHostConfig, ...]:
        """DOCKER_HOST (with DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) if set, else the
        context DOCKER_CONTEXT or `docker context use` chose, else the default
        socket if it exists, else nothing."""
        env = detection.environ
        if not env.get("DOCKER_HOST"):
            chosen = docker_contexts.detected(cls.config_class, env, detection.refresh)
            if chosen:
                return chosen
        if env.get("DOCKER_HOST"):
            return (
                DockerHostConfig(
                    name="local",
                    host=env["DOCKER_HOST"],
                    tls_verify=env.get("DOCKER_TLS_VERIFY", "") not in ("", "0"),
                    cert_path=env.get("DOCKER_CERT_PATH", ""),
                    refresh=detection.refresh,
                ),
            )
        if Path(DEFAULT_DOCKER_SOCKET).exists():
            return (
                DockerHostConfig(
                    name="local", host=default_docker_host(env), refresh=detection.refresh
                ),
            )
        return ()

    def __init__(self, config: DockerHostConfig):
        super().__init__(config.name, config.refresh, config.timeout)
        self.config = config
        self.read_only = config.read_only
        self._client: docker.APIClient | None = None
        self._reader: EngineHTTP | SDKReader | None = None
        self._client_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=config.stats_concurrency, thread_name_prefix=f"docker-{config.name}"
        )
        self._stats = self._sampler()
        self._events = ContainerEvents(self)
        self.blocking_stats = False  # True: the first poll waits for stats (CLI commands)
        self._inspect_cache: dict[str, tuple[tuple[str, str], dict[str, Any]]] = {}
        # What the last poll saw, reused while no event says otherwise.
        self._listed: list[dict[str, Any]] | None = None
        self._inspecting: dict[str, futures.Future[None]] = {}  # container id -> its inspect
        self._following = False
        self._resynced_at = 0.0
        self._manager = False
        self._engine_version = ""
        self._rows: tuple[Container, ...] = ()
        self._last: DockerSnapshot | None = None

    def _sampler(self) -> Sampler:
        """Streams where the engine's socket is ours to open (unix://, tcp://);
        one-shot samples over the bounded ssh connections otherwise."""
        if self.config.host.startswith(("unix://", "tcp://")):
            return StreamSampler(self, self._pool)
        return OneShotSampler(self, self._pool)

    # --- connection -------------------------------------------------------

    def _connect(self) -> docker.APIClient:
        from opsdash.sources.docker_client import connect

        return connect(self.config)

    def _explain(self, exc: BaseException) -> str:
        from opsdash.sources.docker_client import explain

        return explain(self.config, exc)

    @property
    def reader(self) -> EngineHTTP | SDKReader:
        """What the polls, events and stats read through: no SDK on unix:// and tcp://."""
        from opsdash.sources.docker_client import open_reader

        with self._client_lock:
            reader = self._reader
        if reader is None:
            try:
                reader = open_reader(self.config, lambda: self.client)
            except (EngineError, OSError) as exc:
                raise SourceError(self._explain(exc)) from None
            with self._client_lock:
                if self._reader is None:
                    self._reader = reader
                else:
                    reader.close()
                reader = self._reader
        return reader

    @property
    def client(self) -> docker.APIClient:
        """The SDK's client (logs, actions, ssh:// hosts), loaded when first asked for."""
        import docker.errors  # the SDK loads with the first connection, after the first frame

        with self._client_lock:
            if self._client is None:
                try:
                    self._client = self._connect()
                except (docker.errors.DockerException, docker_contexts.ContextError) as exc:
                    raise SourceError(self._explain(exc)) from None
            return self._client

    def _drop_client(self) -> None:
        with self._client_lock:
            client, self._client = self._client, None
            reader, self._reader = self._reader, None
        for each in (reader, client):
            if each is not None:
                with contextlib.suppress(Exception):
                    each.close()

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one read call; connection failures drop the clients so the next poll reconnects."""
        try:
            return fn(*args, **kwargs)
        except NotFound:
            raise
        except (EngineError, OSError) as exc:
            if not isinstance(exc, EngineError):
                self._drop_client()
            raise SourceError(self._explain(exc)) from None

    # --- polling ------------------------------------------------------------

    def poll(self) -> DockerSnapshot:
        """List and inspect only what changed: a poll with no container event
        (and stats off) returns what the last one did, costing no API call."""
        api = self.reader
        self._events.follow()
        if self._listed is None:
            self._events.wait_following(min(1.0, self.config.timeout))
        changes = self._events.take()
        now = time.monotonic()
        resync = (
            not changes.following
            or changes.resync
            or self._listed is None
            or now - self._resynced_at >= RESYNC_SECONDS
        )
        if resync or changes.swarm:
            info = self._call(api.info)
            swarm = info.get("Swarm") or {}
            self._manager = bool(swarm.get("ControlAvailable"))
            self._engine_version = str(info.get("ServerVersion", ""))
            self._resynced_at = now
        if changes.resync:
            self._inspect_cache.clear()  # events may have been missed: inspect all again
        if resync or changes.ids:
            self._listed = [listed_facts(raw) for raw in self._call(api.containers, all=True)]
            for cid in changes.ids:
                self._inspect_cache.pop(cid, None)
            self._following = changes.following
            known = {c["Id"] for c in self._listed}
            for cid in [c for c in self._inspect_cache if c not in known]:
                del self._inspect_cache[cid]
            self._inspect_listed(self._listed, changes.ids)
            self._rows = ()
        elif self._inspects_landed():
            self._rows = ()
        listed = self._listed or []
        running_ids = [c["Id"] for c in listed if c.get("State") == "running"]
        stats = self._stats.sampled(running_ids, self.blocking_stats) if self.config.stats else {}
        containers = self._containers(listed, stats)
        services = (
            services_from(
                self.name,
                self._call(api.services),
                self._call(api.tasks, filters={"desired-state": "running"}),
            )
            if self._manager
            else ()
        )
        if (
            self._last is not None
            and containers is self._last.containers
            and services == self._last.services
        ):
            return self._last
        self._last = DockerSnapshot(
            host=self.name,
            containers=containers,
            services=services,
            swarm_manager=self._manager,
            engine_version=self._engine_version,
        )
        return self._last

    def _containers(
        self, listed: list[dict[str, Any]], stats: dict[str, StatsTuple | None]
    ) -> tuple[Container, ...]:
        """The rows, rebuilt only when the list, an inspect or a container's
        stats changed: an unchanged poll returns the very same tuple (the panel
        skips it). `_rows` is emptied whenever the list or the inspects change."""
        rows = self._rows
        if len(rows) == len(listed) and all(
            (row.cpu_percent, row.memory_used, row.memory_limit)
            == (stats.get(row.id) or (None, None, None))
            for row in rows
        ):
            return rows
        self._rows = tuple(
            container_from(self.name, raw, self._detail_of(raw), stats.get(raw["Id"]))
            for raw in listed
        )
        return self._rows

    def _inspect_listed(self, listed: list[dict[str, Any]], named: frozenset[str]) -> None:
        """Inspect the containers whose cached inspect is not fresh, waiting at
        most INSPECT_BUDGET: with 1,000 new containers the list shows at once
        (health and exit codes read from the status line) and the inspects
        land in the next polls. One still in flight from an earlier poll is not
        asked again, unless an event named its container since (it may have
        read the state from before the event)."""
        for raw in listed:
            cid = raw["Id"]
            running = self._inspecting.get(cid)
            if self._fresh(raw) or (running and not running.done() and cid not in named):
                continue
            self._inspecting[cid] = self._pool.submit(self._inspect, raw)
        budget = self.config.timeout if self.blocking_stats else INSPECT_BUDGET
        futures.wait(self._inspecting.values(), timeout=budget)

    def _inspects_landed(self) -> bool:
        """Inspects that outlasted the last poll's budget have finished since."""
        if not self._inspecting or any(not f.done() for f in self._inspecting.values()):
            return False
        self._inspecting.clear()
        return True

    def _inspect_key(self, raw: dict[str, Any]) -> tuple[str, str]:
        """When a cached inspect is still right.

        Without events (the stream is down), the status line ("Up 5 minutes
        (healthy)", "Restarting (1) ...") changes whenever health, start time or
        restarts do, so an unchanged line means the cached inspect is still
        right. While events flow they say what changed (the poll drops what
        they name), and the status line's minutes ticking by are no reason to
        inspect again; uptime is computed from StartedAt either way.
        """
        return (raw.get("State", ""), "" if self._following else raw.get("Status", ""))

    def _fresh(self, raw: dict[str, Any]) -> bool:
        cached = self._inspect_cache.get(raw["Id"])
        return cached is not None and cached[0] == self._inspect_key(raw)

    def _detail_of(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        cached = self._inspect_cache.get(raw["Id"])
        return cached[1] if cached else None

    def _inspect(self, raw: dict[str, Any]) -> None:
        """In the pool: inspect one container into the cache."""
        try:
            detail = self.reader.inspect_container(raw["Id"])
        except (SourceError, EngineError, OSError):
            return  # removed between list and inspect; else the cached inspect, if any, stays
        self._inspect_cache[raw["Id"]] = (self._inspect_key(raw), row_facts(detail))

    # --- on demand ------------------------------------------------------------

    def details(self, container_id: str) -> ContainerDetails:
        """Full inspect of one container; environment values are dropped here."""
        api = self.reader
        try:
            raw = self._call(api.inspect_container, container_id)
        except NotFound:
            raise SourceError(f"container {container_id[:12]} no longer exists") from None
        image_id = raw.get("Image", "")
        digests: tuple[str, ...] = ()
        with contextlib.suppress(SourceError, NotFound):
            digests = tuple(self._call(api.inspect_image, image_id).get("RepoDigests") or ())
        return details_from(self.name, raw, digests)

    def logs(
        self,
        container_id: str,
        tail: int = 1000,
        follow: bool = True,
        *,
        since: float | None = None,
        timestamps: bool = False,
    ) -> LogStream:
        """A stream of the container's log lines (stdout and stderr interleaved);
        `since`: from that Unix time on; `timestamps`: each line stamped."""
        return open_logs(self, container_id, tail, follow, since, timestamps)

    def service_logs(
        self,
        service_id: str,
        service_name: str,
        tail: int = 1000,
        follow: bool = True,
        *,
        since: float | None = None,
    ) -> LogStream:
        """Every task's lines of a Swarm service on one stream, stamped, each
        named `service.slot` (`opsdash.sources.docker_service_logs`)."""
        from opsdash.sources.docker_service_logs import open_service_logs

        return open_service_logs(self, service_id, service_name, tail, follow, since)

    def close(self) -> None:
        self._events.close()
        self._stats.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._drop_client()
