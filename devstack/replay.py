"""A real HTTP server on 127.0.0.1 that replays vendor-shaped responses.

For the APIs that cannot run here (GitHub, GitLab, Jenkins). Tests register
replies per method and path (optionally per query), the server answers them in
order (the last one repeats) and records every request, so a test can assert the
exact method, path, headers and body opsdash sent. Stdlib only.

Fixtures are JSON files shaped ``{"doc": <vendor doc URL>, "status": 200,
"headers": {...}, "body": <what the vendor documents>}``; `load_fixture` reads one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devstack.local_http import LocalHttpServer, QuietHandler


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or str/bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)
    raw: bool = False  # send `body` as text even if it is a str holding JSON


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    @classmethod
    def read(cls, handler: BaseHTTPRequestHandler) -> Request:
        """The request a handler is serving, its body read."""
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("content-length") or 0)
        return cls(
            handler.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in handler.headers.items()},
            handler.rfile.read(length) if length else b"",
        )


Handler = Callable[[Request], Reply]


@dataclass
class _Route:
    method: str
    path: str
    query: dict[str, str]
    replies: list[Reply | Handler]

    def matches(self, request: Request) -> bool:
        return (
            self.method == request.method
            and self.path == request.path
            and all(request.arg(k) == v for k, v in self.query.items())
        )


def load_fixture(path: Path | str, **replace: Any) -> Reply:
    """A fixture file as a Reply; `replace` overrides top-level body keys."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    body = data.get("body")
    if replace and isinstance(body, dict):
        body = {**body, **replace}
    return Reply(int(data.get("status", 200)), body, dict(data.get("headers", {})))


class ReplayServer(LocalHttpServer):
    """`with ReplayServer() as server: server.add("GET", "/x", Reply(body={...}))`."""

    thread_name = "replay-server"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self._routes: list[_Route] = []
        self._lock = threading.Lock()

    # --- setup ------------------------------------------------------------------

    def add(
        self,
        method: str,
        path: str,
        *replies: Reply | Handler,
        query: dict[str, str] | None = None,
    ) -> None:
        """Answer `method path` (and `query`, if given) with `replies` in order.

        A later `add` for the same route replaces the earlier one. Routes with a
        query match before routes without.
        """
        with self._lock:
            self._routes = [
                r
                for r in self._routes
                if (r.method, r.path, r.query) != (method, path, query or {})
            ]
            self._routes.append(_Route(method, path, dict(query or {}), list(replies)))
            self._routes.sort(key=lambda r: -len(r.query))

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()
            self.requests.clear()

    def calls(self, method: str | None = None, path: str | None = None) -> list[Request]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- serving ------------------------------------------------------------------

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            route = next((r for r in self._routes if r.matches(request)), None)
            if route is None:
                return Reply(404, {"message": "Not Found (no replay route)"})
            reply = route.replies.pop(0) if len(route.replies) > 1 else route.replies[0]
        return reply(request) if callable(reply) else reply

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(QuietHandler):
            def _serve(self) -> None:
                request = Request.read(self)
                reply = server._answer(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if isinstance(reply.body, bytes):
                    payload, kind = reply.body, "application/octet-stream"
                elif isinstance(reply.body, str):
                    payload, kind = reply.body.encode(), "text/plain; charset=utf-8"
                elif reply.body is None:
                    payload, kind = b"", ""
                else:
                    payload, kind = json.dumps(reply.body).encode(), "application/json"
                named = {k.lower() for k in reply.headers}
                headers = [("Content-Type", kind)] if kind and "content-type" not in named else []
                headers += [(k, v.replace("{url}", server.url)) for k, v in reply.headers.items()]
                self.send_reply(reply.status, payload, headers)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        return _Handler
