"""A reverse proxy on 127.0.0.1 that counts the requests a client makes to a
real server (Buildbot, MLflow, Prometheus), as the replay server counts them
for the vendors that cannot run here. Stdlib only; one request at a time per
connection, bodies passed through as they are."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from devstack.local_http import LocalHttpServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host"}


class CountingProxy(LocalHttpServer):
    """`with CountingProxy("http://127.0.0.1:8080") as proxy:` then point the
    client at `proxy.url`; `proxy.requests` holds (method, path) of each request."""

    thread_name = "counting-proxy"

    def __init__(self, target: str) -> None:
        super().__init__()
        parts = urlsplit(target)
        self.target_host = parts.hostname or "127.0.0.1"
        self.target_port = parts.port or 80
        self.target_prefix = parts.path.rstrip("/")
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.target_prefix}"

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _forward(self) -> None:
                with proxy._lock:
                    proxy.requests.append((self.command, self.path.split("?", 1)[0]))
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = http.client.HTTPConnection(
                    proxy.target_host, proxy.target_port, timeout=60
                )
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                    self.send_response(answer.status, answer.reason)
                    for name, value in answer.getheaders():
                        if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD" and answer.status not in (204, 304):
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up
                finally:
                    upstream.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        return _Handler
