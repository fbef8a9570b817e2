"""A real HTTP server on 127.0.0.1 that echoes the request's credentials back.

The worst a CI server, a registry or a proxy in front of one can do with an
error body: quote the `Authorization` and `PRIVATE-TOKEN` headers and the query
string it was sent, and the bare credential inside them URL-encoded,
`quote_plus`-encoded, base64-encoded and JSON-escaped. Every answer is an error
(`status`), shaped so that each vendor's error path reads it: a JSON body with
`message` (GitHub, GitLab, MLflow), `error` (Buildbot JSON-RPC, Prometheus's
envelope) and `status: error`, or an HTML page (Jenkins, proxies).

`pad` puts that many filler characters before the echo (which begins with the
bare credential), so the credential straddles the place where a message used to be cut (160 and 200 characters).
`succeed` names paths that answer 200 (Buildbot's login) so the request that
matters gets through to its error path. Stdlib only.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from devstack.local_http import LocalHttpServer, QuietHandler

SHAPES = ("json", "nested", "html")


@dataclass(frozen=True)
class EchoMode:
    status: int = 401
    shape: str = "json"  # json: message is a string; nested: an object; html: a page
    pad: int = 0  # filler before the echo in `message` ...
    error_pad: int = 0  # ... and in `error`


def bare_credentials(headers: dict[str, str]) -> list[str]:
    """The credentials inside the headers: the token after the scheme, or Basic's
    password alone and then user:password."""
    found: list[str] = []
    for name in ("authorization", "private-token"):
        value = headers.get(name, "")
        scheme, _, rest = value.partition(" ")
        if not value:
            continue
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(rest, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                continue
            found += [pair.partition(":")[2], pair]
        else:
            found.append(rest if rest and scheme.lower() in ("bearer", "token") else value)
    return [c for c in found if c]


def echo_text(headers: dict[str, str], query: str) -> str:
    """What a careless server writes back about the request it refused."""
    parts = []
    for credential in bare_credentials(headers):  # the bare token first: `pad` puts it at the cut
        parts += [
            f"raw={credential}",
            f"url={quote(credential, safe='')}",
            f"plus={quote_plus(credential)}",
            f"b64={base64.b64encode(credential.encode()).decode()}",
            f"json={json.dumps(credential)[1:-1]}",
        ]
    parts += [
        f"Authorization: {headers.get('authorization', '')}",
        f"PRIVATE-TOKEN: {headers.get('private-token', '')}",
        f"query: {query}",
    ]
    return " | ".join(parts)


class EchoAuthServer(LocalHttpServer):
    """`with EchoAuthServer(EchoMode(401)) as server: ...`; `server.mode = ...` switches."""

    thread_name = "echo-auth-server"

    def __init__(self, mode: EchoMode | None = None, succeed: dict[str, Any] | None = None):
        super().__init__()
        self.mode = mode or EchoMode()
        self.succeed = dict(succeed or {})  # path -> JSON body answered with 200
        self._lock = threading.Lock()
        self._requests: list[tuple[str, str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> list[tuple[str, str, dict[str, str]]]:
        """(method, path, lower-case headers) of every request so far."""
        with self._lock:
            return list(self._requests)

    def body(self, headers: dict[str, str], query: str) -> tuple[str, bytes]:
        mode = self.mode
        echo = echo_text(headers, query)
        message = "." * mode.pad + echo
        if mode.shape == "html":
            page = f"<html><head><title>Error {mode.status}</title></head><body><pre>{message}"
            return "text/html", f"{page}</pre></body></html>".encode()
        body = {
            "message": {"detail": message} if mode.shape == "nested" else message,
            "error": "." * mode.error_pad + echo,
            "status": "error",
            "errorType": "unauthorized",
            "error_code": "UNAUTHENTICATED",
        }
        return "application/json", json.dumps(body).encode()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(QuietHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server._requests.append((self.command, parts.path, headers))
                if parts.path in server.succeed:
                    status = 200
                    kind, payload = "application/json", json.dumps(server.succeed[parts.path])
                    payload = payload.encode()
                else:
                    status = server.mode.status
                    kind, payload = server.body(headers, parts.query)
                self.send_reply(status, payload, [("Content-Type", kind)])

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        return _Handler
