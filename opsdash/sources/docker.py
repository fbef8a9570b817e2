"""Docker Engine (and Swarm) through the docker SDK's low-level APIClient.

Lists and inspects containers and Swarm services on each poll, reads details
and logs on demand. Container stats come from a sampler thread beside the polls
(opsdash.sources.docker_stats, which says why it asks for all at once), so the
list never waits for them.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import docker
import docker.errors
import requests.exceptions
from docker.tls import TLSConfig

from opsdash.config_checks import Invalid
from opsdash.logbuffer import LineCutter
from opsdash.model import (
    ContainerDetails,
    DockerSnapshot,
)
from opsdash.sources.base import DEFAULT_REFRESH, DEFAULT_TIMEOUT, Detection, Source, SourceError
from opsdash.sources.docker_map import container_from, details_from, services_from
from opsdash.sources.docker_ssh import SSHAPIClient, ssh_reason
from opsdash.sources.docker_stats import StatsSampler
from opsdash.sources.settings import expand_user, option


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__


class LogStream:
    """Log lines of one container, each at most `logbuffer.MAX_LINE` characters
    (an endless line is cut, not kept); `close()` from any thread stops it."""

    def __init__(self, stream: Any):
        self._stream = stream
        self._closed = threading.Event()
        self.cutter = LineCutter()

    def __iter__(self) -> Iterator[str]:
        try:
            for chunk in self._stream:
                if self._closed.is_set():
                    return
                yield from self.cutter.feed(chunk)
        except Exception:
            if not self._closed.is_set():
                raise
        last = self.cutter.flush()
        if last is not None and not self._closed.is_set():
            yield last

    def close(self) -> None:
        """Returns at once: closing the HTTP response may wait on the socket."""
        self._closed.set()

        def close_response() -> None:
            with contextlib.suppress(Exception):
                self._stream.close()

        threading.Thread(target=close_response, name="close-log-stream", daemon=True).start()


class _TLSAPIClient(docker.APIClient):
    """An APIClient that trusts only the configured CA.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace a session's own CA
    bundle (psf/requests#3829), so with either set every TLS Docker host fails to
    verify. The version is fetched in the constructor, hence the hook here.
    """

    def _retrieve_server_version(self) -> str:
        self.trust_env = False
        return super()._retrieve_server_version()


DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"


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

    @classmethod
    def default_name(cls, index: int, values: dict[str, Any]) -> str:
        return f"docker{index}" if index else "local"


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
        default socket if it exists, else nothing."""
        env = detection.environ
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
        self._client_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(
            max_workers=config.stats_concurrency, thread_name_prefix=f"docker-{config.name}"
        )
        self._stats = StatsSampler(self, self._pool)
        self.blocking_stats = False  # True: the first poll waits for stats (CLI commands)
        self._inspect_cache: dict[str, tuple[tuple[str, str], dict[str, Any]]] = {}

    # --- connection -------------------------------------------------------

    def _connect(self) -> docker.APIClient:
        tls: TLSConfig | bool = False
        if self.config.host.startswith("tcp://") and (
            self.config.tls_verify or self.config.cert_path
        ):
            cert_dir = self.config.cert_path or os.path.expanduser("~/.docker")
            tls = TLSConfig(
                client_cert=(os.path.join(cert_dir, "cert.pem"), os.path.join(cert_dir, "key.pem")),
                ca_cert=os.path.join(cert_dir, "ca.pem"),
                verify=self.config.tls_verify,
            )
        ssh = self.config.host.startswith("ssh://")
        if ssh and self.config.use_ssh_client:
            client: docker.APIClient = SSHAPIClient(
                self.config.host,
                timeout=max(1, int(self.config.timeout)),
                max_pool_size=self.config.stats_concurrency + 4,
            )
        else:
            client_class = _TLSAPIClient if tls else docker.APIClient
            client = client_class(
                base_url=self.config.host,
                version="auto",
                timeout=max(1, int(self.config.timeout)),
                tls=tls,
                max_pool_size=self.config.stats_concurrency + 4,
            )
        return client

    @property
    def client(self) -> docker.APIClient:
        with self._client_lock:
            if self._client is None:
                try:
                    self._client = self._connect()
                except docker.errors.DockerException as exc:
                    raise SourceError(self._explain(exc)) from None
            return self._client

    def _drop_client(self) -> None:
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def _explain(self, exc: BaseException) -> str:
        reason = ssh_reason(exc)
        if reason is not None:
            return f"{self.config.host}: {reason}"
        text = _one_line(exc)
        if "Install paramiko" in text:
            return (
                f"{self.config.host}: use_ssh_client = false needs the paramiko package "
                "(pip install 'opsdash[paramiko]'); the default uses your ssh binary"
            )
        if "Connection refused" in text or "No such file or directory" in text:
            return f"cannot connect to Docker at {self.config.host}: daemon not running"
        if isinstance(exc, requests.exceptions.Timeout) or "timed out" in text.lower():
            return f"Docker at {self.config.host} did not answer within {self.config.timeout:g}s"
        if "Permission denied" in text:
            return f"permission denied on {self.config.host} (are you in the docker group?)"
        return f"Docker at {self.config.host}: {text}"

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one API call; connection failures drop the client so the next poll reconnects."""
        try:
            return fn(*args, **kwargs)
        except docker.errors.NotFound:
            raise
        except (
            requests.exceptions.RequestException,
            docker.errors.DockerException,
            OSError,
        ) as exc:
            if not isinstance(exc, docker.errors.APIError):
                self._drop_client()
            raise SourceError(self._explain(exc)) from None

    # --- polling ------------------------------------------------------------

    def poll(self) -> DockerSnapshot:
        api = self.client
        info = self._call(api.info)
        listed = self._call(api.containers, all=True)
        swarm = info.get("Swarm") or {}
        manager = bool(swarm.get("ControlAvailable"))

        inspected = list(self._pool.map(self._inspect_cached, listed))
        running_ids = [c["Id"] for c in listed if c.get("State") == "running"]
        stats = self._stats.sampled(running_ids, self.blocking_stats) if self.config.stats else {}
        known = {c["Id"] for c in listed}
        for cid in list(self._inspect_cache):
            if cid not in known:
                del self._inspect_cache[cid]

        containers = tuple(
            container_from(self.name, raw, detail, stats.get(raw["Id"]))
            for raw, detail in zip(listed, inspected, strict=True)
        )
        services = (
            services_from(
                self.name,
                self._call(api.services),
                self._call(api.tasks, filters={"desired-state": "running"}),
            )
            if manager
            else ()
        )
        return DockerSnapshot(
            host=self.name,
            containers=containers,
            services=services,
            swarm_manager=manager,
            engine_version=str(info.get("ServerVersion", "")),
        )

    def _inspect_cached(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        """Inspect only when the list's state or status line changed.

        The status line ("Up 5 minutes (healthy)", "Restarting (1) ...") changes
        whenever health, start time or restarts do, so an unchanged line means
        the cached inspect is still right; uptime is computed from StartedAt.
        """
        cid = raw["Id"]
        key = (raw.get("State", ""), raw.get("Status", ""))
        cached = self._inspect_cache.get(cid)
        if cached and cached[0] == key:
            return cached[1]
        try:
            detail = self.client.inspect_container(cid)
        except docker.errors.NotFound:
            return None  # removed between list and inspect
        except (requests.exceptions.RequestException, docker.errors.DockerException):
            return cached[1] if cached else None
        self._inspect_cache[cid] = (key, detail)
        return detail

    # --- on demand ------------------------------------------------------------

    def details(self, container_id: str) -> ContainerDetails:
        """Full inspect of one container; environment values are dropped here."""
        api = self.client
        try:
            raw = self._call(api.inspect_container, container_id)
        except docker.errors.NotFound:
            raise SourceError(f"container {container_id[:12]} no longer exists") from None
        image_id = raw.get("Image", "")
        digests: tuple[str, ...] = ()
        with contextlib.suppress(SourceError, docker.errors.NotFound):
            digests = tuple(self._call(api.inspect_image, image_id).get("RepoDigests") or ())
        return details_from(self.name, raw, digests)

    def logs(self, container_id: str, tail: int = 1000, follow: bool = True) -> LogStream:
        """A stream of the container's log lines (stdout and stderr interleaved)."""
        stream = self._call(
            self.client.logs, container_id, stream=True, follow=follow, tail=tail, timestamps=False
        )
        return LogStream(stream)

    def close(self) -> None:
        self._stats.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._drop_client()
