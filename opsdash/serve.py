"""`opsdash serve`: the dashboard in a browser, through textual-serve.

textual-serve runs one app process per websocket, through a shell command;
this module builds that command (every word `shlex.quote`d: the same Python,
the same config and options as the `opsdash serve` that runs it), puts
`serve_auth.Guard` in front of every route, and names each browser session for
the audit log: `web:<session id>@<host>`, handed to its app process in
`OPSDASH_ACTOR` (what `opsdash.actions.runner.current_actor` reads). The app
process is `--read-only` unless `--allow-actions`.

Imported only by the `serve` command: textual-serve (and aiohttp) are the
optional extra `opsdash[serve]`.
"""

from __future__ import annotations

import contextvars
import logging
import os
import secrets
import shlex
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aiohttp import WSCloseCode, web
from textual_serve.server import Server

from opsdash.actions.runner import ACTOR_ENV
from opsdash.serve_auth import Guard, PathOnlyAccessLogger, TokenError, checked_token, is_loopback

TOKEN_ENV = "OPSDASH_SERVE_TOKEN"

log = logging.getLogger("opsdash.serve")

# The session the websocket being handled belongs to. aiohttp handles each
# request in its own task, so the name set in `handle_websocket` is the one
# `command` reads while textual-serve spawns that request's app process.
_session: contextvars.ContextVar[str] = contextvars.ContextVar("opsdash_web_session", default="")


class ServeError(Exception):
    """Why `opsdash serve` does not start: one line, never the token."""


@dataclass(frozen=True)
class ServeSettings:
    host: str
    port: int
    public_url: str
    token: str
    token_generated: bool  # made here: the printed URL carries it
    allow_actions: bool

    @property
    def url_with_token(self) -> str:
        return f"{self.public_url}/?token={self.token}"


def read_token(token_file: Path | None, environ: dict[str, str]) -> str | None:
    """The token of `--token-file` (first) or $OPSDASH_SERVE_TOKEN, or None."""
    if token_file is not None:
        try:
            text = token_file.expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ServeError(f"--token-file {token_file}: cannot read it: {reason}") from None
        where = f"--token-file {token_file}"
    elif environ.get(TOKEN_ENV):
        text, where = environ[TOKEN_ENV], f"${TOKEN_ENV}"
    else:
        return None
    try:
        return checked_token(text, where)
    except TokenError as exc:
        raise ServeError(str(exc)) from None


def default_public_url(host: str, port: int) -> str:
    """Where the browser goes: the bound address, or this machine's name for a wildcard."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def settings_for(
    *,
    host: str,
    port: int,
    public_url: str | None,
    token_file: Path | None,
    allow_actions: bool,
    environ: dict[str, str],
) -> ServeSettings:
    """The checked settings; ServeError when a reachable address has no token."""
    if not 1 <= port <= 65535:
        raise ServeError("--port: must be from 1 to 65535")
    token = read_token(token_file, environ)
    generated = token is None
    if token is None:
        if not is_loopback(host):
            raise ServeError(
                f"--host {host} is not a loopback address: give a token "
                f"(--token-file PATH or ${TOKEN_ENV}) so that only its holders get in"
            )
        token = secrets.token_urlsafe(32)
    url = (public_url or default_public_url(host, port)).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ServeError("--public-url: must start with http:// or https://")
    return ServeSettings(host, port, url, token, generated, allow_actions)


def app_command(global_args: Sequence[str], python: str = sys.executable) -> str:
    """The shell command of one app process: this Python, `-m opsdash`, the
    global options given, `tui`; every word quoted."""
    words = [python, "-m", "opsdash", *global_args, "tui"]
    return " ".join(shlex.quote(word) for word in words)


def session_command(command: str, session: str) -> str:
    """`command` run as `session`: `exec env OPSDASH_ACTOR=... <command>`."""
    return f"exec env {shlex.quote(f'{ACTOR_ENV}={session}')} {command}"


class OpsdashServer(Server):
    """textual-serve's Server with the guard on every route and a name per session."""

    def __init__(self, app_command: str, settings: ServeSettings):
        self._app_command = app_command
        self.settings = settings
        self.guard = Guard.for_url(settings.token, settings.public_url)
        self._open: set[web.WebSocketResponse] = set()  # closed on shutdown
        super().__init__(
            app_command,
            host=settings.host,
            port=settings.port,
            title="opsdash",
            public_url=settings.public_url,
        )

    @property  # type: ignore[override]
    def command(self) -> str:
        """Read by textual-serve when it spawns a websocket's app process."""
        session = _session.get()
        if not session:  # never spawn an unnamed session
            raise RuntimeError("an app process outside a browser session")
        return session_command(self._app_command, session)

    @command.setter
    def command(self, value: str) -> None:
        self._app_command = value

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.guard.middleware)
        app.on_response_prepare.append(self.guard.add_headers)
        return app

    async def on_startup(self, app: web.Application) -> None:
        mode = "actions allowed" if self.settings.allow_actions else "read-only"
        url = self.settings.url_with_token if self.settings.token_generated else None
        shown = url or f"{self.settings.public_url}/?token=<your token>"
        print(f"opsdash serve: {shown} ({mode}; Ctrl+C stops it)", flush=True)

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service) -> None:
        self._open.add(websocket)
        try:
            await super()._process_messages(websocket, app_service)
        finally:
            self._open.discard(websocket)

    async def on_shutdown(self, app: web.Application) -> None:
        """Each open session ends as if its tab closed: textual-serve then tells
        its app process to quit (a cancelled handler would leave it running)."""
        for websocket in list(self._open):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"opsdash serve stopped")

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        session = f"web:{secrets.token_hex(4)}@{socket.gethostname()}"
        log.info("session %s from %s started", session, request.remote)
        name = _session.set(session)
        try:
            return await super().handle_websocket(request)
        finally:
            _session.reset(name)
            log.info("session %s ended", session)


def run(global_args: Sequence[str], settings: ServeSettings) -> int:
    """Serve until Ctrl+C or SIGTERM; the token stays out of the app processes' environment."""
    os.environ.pop(TOKEN_ENV, None)
    from opsdash.redact import remember

    kept = remember([settings.token])  # redacted from the event log while serving
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    server = OpsdashServer(app_command(global_args), settings)
    try:
        web.run_app(
            server._make_app(),
            host=settings.host,
            port=settings.port,
            access_log_class=PathOnlyAccessLogger,
            print=None,
            # open websockets (a browser tab each) would hold Ctrl+C for a minute
            shutdown_timeout=3.0,
        )
    except OSError as exc:
        print(
            f"opsdash serve: cannot listen on {settings.host}:{settings.port}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    finally:
        del kept
    return 0
