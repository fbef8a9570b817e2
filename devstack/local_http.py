"""An http.server on 127.0.0.1 in a daemon thread, for the test stand-ins
(the vendor replay server, the model-accuracy exporter). Stdlib only."""

from __future__ import annotations

import ssl
import sys
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # a client hanging up is fine


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1, no request log on stderr, and replies a client that hangs up
    (a timeout test) cannot break."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def send_reply(self, status: int, payload: bytes, headers: Iterable[tuple[str, str]]) -> None:
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD" and status not in (204, 304):
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


class LocalHttpServer:
    """start() serves `handler()` on a free port; stop() ends it; usable with `with`."""

    thread_name = "local-http"

    def __init__(self) -> None:
        self._httpd: ThreadingHTTPServer | None = None
        self._last_port = 0  # a restart serves on the same port, as a restarted server does

    def handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def ssl_context(self) -> ssl.SSLContext | None:
        """A server-side context to serve HTTPS instead of HTTP (None: plain HTTP)."""
        return None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start() the server first"
        return self._httpd.server_address[1]

    def start(self):
        self._httpd = _Server(("127.0.0.1", self._last_port), self.handler())
        self._last_port = self._httpd.server_address[1]
        context = self.ssl_context()
        if context is not None:  # the handshake then runs in the request's thread
            self._httpd.socket = context.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        threading.Thread(
            target=self._httpd.serve_forever,
            args=(0.05,),
            name=self.thread_name,
            daemon=True,
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
