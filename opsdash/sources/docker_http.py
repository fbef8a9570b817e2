"""The Docker source's read path over the standard library's http.client.

Why not the docker SDK: with requests, urllib3 and charset_normalizer it is
about 200 modules and 9 MiB of resident memory (measured in one process after
`import opsdash.app`), for a handful of GET requests. httpx, which the HTTP
sources use, costs 5 MiB where no such source is configured; http.client,
ssl and json cost 1 MiB. So a dashboard that only watches a unix:// or tcp://
engine never imports the SDK: only the logs screen, the actions and ssh://
hosts (docker_ssh.py) load it, when first needed (docker_client.connect).

The method names and arguments are those of the SDK's APIClient that the
source calls (`info`, `containers`, `inspect_container`, ...), so an ssh://
host's APIClient serves the same source through `SDKReader`. Failures to
reach the engine are OSErrors (whose text docker_client.explain reads); an
answer that is an error is an `EngineError`, `NotFound` for a 404.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import socket
import ssl
import urllib.parse
from collections.abc import Iterator
from typing import Any


class EngineError(Exception):
    """The engine answered with an error status."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status} {message}".strip())
        self.status = status


class NotFound(EngineError):
    """404: the container or image is gone."""


class EngineConnectionError(OSError):
    """The connection broke mid-answer (http.client's own errors are not OSErrors)."""


class EngineTimeout(EngineConnectionError, TimeoutError):
    """The engine did not answer within the timeout."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _filters(filters: dict[str, Any]) -> str:
    """The engine wants every filter as a list of strings, as the SDK sends them."""
    return json.dumps(
        {
            key: [str(v).lower() if isinstance(v, bool) else v for v in value]
            if isinstance(value, list | tuple)
            else [str(value).lower() if isinstance(value, bool) else value]
            for key, value in filters.items()
        }
    )


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="/:@")


class EventStream:
    """The engine's `/events` as decoded JSON objects; `close()` from any
    thread ends the iteration (it shuts the socket down under the read)."""

    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse):
        self._conn = conn
        self._response = response

    def __iter__(self) -> Iterator[Any]:
        while True:
            line = self._response.readline()
            if not line:
                return
            line = line.strip()
            if line:
                with contextlib.suppress(ValueError):
                    yield json.loads(line)

    def close(self) -> None:
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._conn.close()


class EngineHTTP:
    """A unix:// or tcp:// (optionally TLS) engine's read API.

    The API version is the engine's own (`/version`'s ApiVersion), asked on
    construction, as the SDK's version="auto" does; requests then go to
    `/v<version>/...`. Connections are kept alive in a pool, one per thread
    at a time (the source's inspects run in parallel).
    """

    def __init__(self, host: str, timeout: float, context: ssl.SSLContext | None = None):
        self.host = host
        self.timeout = timeout
        self._context = context
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()
        self._version = ""
        self._version = str(self._get("/version").get("ApiVersion", ""))
        if not self._version:
            raise EngineError(0, f"{host} gave no API version")

    @property
    def api_version(self) -> str:
        return self._version

    # --- connections ----------------------------------------------------------

    def _new_connection(self, timeout: float) -> http.client.HTTPConnection:
        scheme, _, address = self.host.partition("://")
        if scheme == "unix":
            return _UnixConnection(address, timeout)
        name, _, port = address.rstrip("/").rpartition(":")
        if self._context is not None:
            return http.client.HTTPSConnection(
                name, int(port), timeout=timeout, context=self._context
            )
        return http.client.HTTPConnection(name, int(port), timeout=timeout)

    def _url(self, path: str, params: dict[str, Any] | None = None) -> str:
        prefix = f"/v{self._version}" if self._version else ""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return f"{prefix}{path}{query}"

    def _send(self, conn: http.client.HTTPConnection, url: str) -> http.client.HTTPResponse:
        try:
            conn.request("GET", url, headers={"Host": "docker"})
            return conn.getresponse()
        except TimeoutError as exc:
            conn.close()
            raise EngineTimeout(f"Read timed out. ({exc})") from exc
        except http.client.HTTPException as exc:
            conn.close()
            raise EngineConnectionError(f"Connection aborted: {exc!r}") from exc
        except OSError:
            conn.close()
            raise

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        url = self._url(path, params)
        try:
            conn = self._idle.get_nowait()
            reused = True
        except queue.Empty:
            conn, reused = self._new_connection(self.timeout), False
        try:
            response = self._send(conn, url)
        except (ConnectionError, EngineConnectionError):
            if not reused:
                raise
            # A kept-alive connection the engine closed meanwhile: once more, fresh.
            conn = self._new_connection(self.timeout)
            response = self._send(conn, url)
        try:
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if isinstance(exc, TimeoutError):
                raise EngineTimeout(f"Read timed out. ({exc})") from exc
            raise EngineConnectionError(f"Connection broken: {exc!r}") from exc
        if response.will_close:
            conn.close()
        else:
            self._idle.put(conn)
        return self._decode(response.status, body)

    @staticmethod
    def _decode(status: int, body: bytes) -> Any:
        try:
            value = json.loads(body) if body else None
        except ValueError:
            value = None
        if status >= 400:
            message = value.get("message", "") if isinstance(value, dict) else ""
            message = message or body.decode("utf-8", errors="replace")[:300]
            raise (NotFound if status == 404 else EngineError)(status, " ".join(message.split()))
        return value

    # --- the APIClient calls the source makes ---------------------------------

    def info(self) -> dict[str, Any]:
        return self._get("/info")

    def containers(self, all: bool = False) -> list[dict[str, Any]]:
        return self._get("/containers/json", {"all": 1 if all else 0, "size": 0}) or []

    def inspect_container(self, container: str) -> dict[str, Any]:
        return self._get(f"/containers/{_quote(container)}/json")

    def inspect_image(self, image: str) -> dict[str, Any]:
        return self._get(f"/images/{_quote(image)}/json")

    def services(self) -> list[dict[str, Any]]:
        return self._get("/services") or []

    def tasks(self, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        params = {"filters": _filters(filters)} if filters else None
        return self._get("/tasks", params) or []

    def events(self, decode: bool = True, filters: dict[str, Any] | None = None) -> EventStream:
        """A stream with no read timeout (events come when they come); the
        connect and the answer's head keep the timeout."""
        params = {"filters": _filters(filters)} if filters else None
        conn = self._new_connection(self.timeout)
        response = self._send(conn, self._url("/events", params))
        if response.status >= 400:
            body = response.read()
            conn.close()
            self._decode(response.status, body)
        if conn.sock is not None:
            conn.sock.settimeout(None)
        return EventStream(conn, response)

    def close(self) -> None:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return
            conn.close()
