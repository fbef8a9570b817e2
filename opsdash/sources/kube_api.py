"""One kubeconfig context's connection to its API server.

lightkube (pinned below 1.0, its last line on httpx) builds the httpx client
from the kubeconfig: the CA, client certificates, tokens, token files that
rotate and exec credential plugins. Requests go out raw and come back as
JSON dicts mapped by `kube_map`: 5,000 pods decode in a fraction of what
model objects would cost. Every request runs on the shared HTTP loop
(`sources.http`), so the UI thread never waits on a cluster.

Errors become one line: the API's own `Status` message where there is one
(https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/),
with every credential of the context masked before any cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsdash.logbuffer import LineCutter
from opsdash.redact import clip, remember
from opsdash.sources import kubeconfig
from opsdash.sources.base import SourceError
from opsdash.sources.http import USER_AGENT, _Loop, run_sync
from opsdash.sources.lazy_module import lazy

if TYPE_CHECKING:
    import httpx

    from opsdash.sources.kubernetes import KubernetesConfig
else:
    httpx = lazy("httpx")  # loaded on first use (opsdash.sources.lazy_module)

JSON = "application/json"


class KubeError(SourceError):
    """A request failed; `status` and `reason` are the API's (410 Gone, 409 Conflict...)."""

    def __init__(self, message: str, status: int | None = None, reason: str = ""):
        super().__init__(message)
        self.status = status
        self.reason = reason


def _status_message(response: httpx.Response) -> tuple[str, str]:
    """(reason, message) of a Status body, or the start of whatever came back."""
    try:
        body = json.loads(response.content[:65536] or b"{}")
    except ValueError:
        return "", response.text[:300]
    if isinstance(body, dict) and body.get("kind") == "Status":
        return str(body.get("reason") or ""), str(body.get("message") or "")
    return "", response.text[:300]


class KubeApi:
    """Requests to one context's API server, as coroutines and as blocking calls."""

    def __init__(self, config: KubernetesConfig, environ: Mapping[str, str]):
        self.config = config
        self.environ = environ
        self.server = ""
        self.context = config.context
        self._client: httpx.AsyncClient | None = None
        self._secrets: Any = None
        self._lock = threading.Lock()

    # --- connecting -------------------------------------------------------------

    def _single_config(self) -> Any:
        from lightkube.config.kubeconfig import KubeConfig

        if self.config.in_cluster:
            self.context = self.context or "in-cluster"
            return self._service_account(KubeConfig)
        files = kubeconfig.kubeconfig_files(self.config.kubeconfig, self.environ)
        merged = kubeconfig.load(files)
        name = self.config.context or merged.current_context
        if not name:
            raise SourceError(f"{merged.where()}: no current-context; set `context`")
        if name not in merged.contexts:
            known = ", ".join(merged.contexts) or "none"
            raise SourceError(f"{merged.where()}: no context {name!r} (contexts: {known})")
        self.context = name
        try:
            return KubeConfig.from_dict(merged.document, fname=merged.files[0]).get(name)
        except Exception as exc:  # noqa: BLE001 - lightkube's ConfigError and friends
            raise SourceError(f"{merged.where()}: context {name!r}: {clip(exc, 200)}") from None

    def _service_account(self, kube_config: Any) -> Any:
        """In a pod: the API's service address, the mounted CA, and the token
        file (re-read when the kubelet rotates it; never kept with its newline)."""
        from lightkube.config.models import Cluster, User

        account = kubeconfig.SERVICE_ACCOUNT
        host = self.environ.get("KUBERNETES_SERVICE_HOST", "")
        port = self.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host or not (account / "token").is_file():
            raise SourceError(
                f"in_cluster: no service account here (KUBERNETES_SERVICE_HOST and {account}/token)"
            )
        if ":" in host:
            host = f"[{host}]"
        namespace = account / "namespace"
        config = kube_config.from_one(
            cluster=Cluster(
                server=f"https://{host}:{port}", certificate_auth=str(account / "ca.crt")
            ),
            user=User(token_file=str(account / "token")),
            namespace=namespace.read_text().strip() if namespace.is_file() else None,
        )
        return config.get()

    def _remember_secrets(self, single: Any) -> None:
        user = getattr(single, "user", None)
        values = [
            getattr(user, attr, None) or ""
            for attr in ("token", "password", "client_key_data", "client_cert_data")
        ]
        token_file = getattr(user, "token_file", None)
        if token_file:
            with contextlib.suppress(OSError):
                values.append(Path(token_file).read_text().strip())
        users = [getattr(user, "username", None) or ""]
        self._secrets = remember([v for v in values if isinstance(v, str)], users)

    def client(self) -> httpx.AsyncClient:
        """The connection, built on first use (reads the kubeconfig and its files)."""
        with self._lock:
            if self._client is None:
                from lightkube.config.client_adapter import AsyncClient, ConnectionParams

                single = self._single_config()
                self._remember_secrets(single)
                self.server = str(single.cluster.server)
                params = ConnectionParams(timeout=httpx.Timeout(self.config.timeout))
                try:
                    self._client = AsyncClient(single, params)
                except Exception as exc:  # noqa: BLE001 - bad CA or key files
                    raise SourceError(f"context {self.context!r}: {clip(exc, 200)}") from None
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                run_sync(client.aclose(), timeout=2)

    # --- requests -------------------------------------------------------------------

    def error(self, method: str, path: str, exc: BaseException | httpx.Response) -> KubeError:
        where = f"{method} {path}"
        if isinstance(exc, httpx.Response):
            reason, message = _status_message(exc)
            text = f"{where}: {exc.status_code} {reason or exc.reason_phrase}: {message}"
            return KubeError(clip(text, 300), exc.status_code, reason)
        if isinstance(exc, KubeError):
            return exc
        if isinstance(exc, httpx.TimeoutException):
            return KubeError(clip(f"{where}: no answer within {self.config.timeout:g}s", 300))
        detail = str(exc) or type(exc).__name__
        return KubeError(clip(f"{where}: {detail}", 300))

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = JSON,
    ) -> dict[str, Any]:
        client = self.client()
        content = None if body is None else json.dumps(body).encode()
        headers = {"Accept": JSON, "User-Agent": USER_AGENT}
        if content is not None:
            headers["Content-Type"] = content_type
        try:
            response = await client.request(
                method, path, params=params, content=content, headers=headers
            )
        except (httpx.HTTPError, OSError) as exc:
            raise self.error(method, path, exc) from None
        if response.status_code >= 400:
            raise self.error(method, path, response)
        try:
            decoded = response.json() if response.content else {}
        except ValueError:
            raise KubeError(f"{method} {path}: not JSON") from None
        return decoded if isinstance(decoded, dict) else {}

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self.send("GET", path, params=params)

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """`send` from a worker thread."""
        return run_sync(self.send(method, path, **kwargs), timeout=self.config.timeout + 5)

    async def lines(
        self, path: str, params: Mapping[str, Any], read_timeout: float | None
    ) -> AsyncIterator[bytes]:
        """A streaming GET (a watch or a followed log), chunk by chunk."""
        client = self.client()
        timeout = httpx.Timeout(self.config.timeout, read=read_timeout)
        try:
            async with client.stream(
                "GET", path, params=params, timeout=timeout, headers={"User-Agent": USER_AGENT}
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise self.error("GET", path, response)
                async for chunk in response.aiter_bytes():
                    yield chunk
        except (httpx.HTTPError, OSError) as exc:
            raise self.error("GET", path, exc) from None


class PodLogStream:
    """A pod container's log as lines for the log screen; `close()` from any thread.

    The request runs on the HTTP loop and hands chunks over a bounded queue, so
    a flood waits on the screen rather than filling memory."""

    _END = object()

    def __init__(self, api: KubeApi, path: str, params: Mapping[str, Any]):
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=256)
        self._closed = threading.Event()
        self.cutter = LineCutter()
        follow = str(params.get("follow", "")).lower() == "true"
        self._future = asyncio.run_coroutine_threadsafe(
            self._pump(api, path, params, None if follow else api.config.timeout), _Loop.get()
        )

    async def _put(self, item: Any) -> None:
        while not self._closed.is_set():
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                await asyncio.sleep(0.05)

    async def _pump(self, api: KubeApi, path: str, params: Mapping[str, Any], read: Any) -> None:
        try:
            async for chunk in api.lines(path, params, read):
                await self._put(chunk)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - handed to the reader
            await self._put(exc)
        await self._put(self._END)

    def __iter__(self) -> Iterator[str]:
        while not self._closed.is_set():
            item = self._queue.get()
            if item is self._END or self._closed.is_set():
                break
            if isinstance(item, BaseException):
                raise item
            yield from self.cutter.feed(item)
        last = self.cutter.flush()
        if last is not None and not self._closed.is_set():
            yield last

    def close(self) -> None:
        self._closed.set()
        self._future.cancel()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(self._END)
