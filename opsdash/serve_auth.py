"""The browser view's door: textual-serve has no authentication of its own, so
`opsdash serve` puts this aiohttp middleware in front of every route.

The rules, in the order a browser meets them:

- the page (`/`) opened with `?token=` is served when the token matches, and
  sets an HttpOnly, SameSite=Strict cookie (textual.js builds the websocket URL
  with its own query, so the token cannot travel there: the cookie does);
- every other request (the page without `?token=`, `/static`, `/ws`,
  `/download`, anything unknown) needs that cookie;
- a request that says where it comes from must come from the served page: an
  `Origin` must be the public URL's origin, a `Sec-Fetch-Site` must be
  `same-origin` or `none`; the websocket must send an `Origin` (browsers always
  do), so another page, even on another port of the same host (which is the
  same *site* for the cookie), cannot drive the dashboard;
- anything else is 403 with a body that says nothing about the token.

Tokens are compared with `hmac.compare_digest`; the cookie holds an HMAC of the
token, not the token; the access log writes the path without its query, so
the token never reaches a log. Imports aiohttp only (no Textual).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

MIN_TOKEN_LENGTH = 16
FORBIDDEN = "403 forbidden: open the URL that `opsdash serve` printed, with its ?token=\n"
_FROM_THE_PAGE = frozenset({"same-origin", "none"})  # Sec-Fetch-Site values accepted

log = logging.getLogger("opsdash.serve")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenError(ValueError):
    """A token that cannot be used; the message never holds the token."""


def checked_token(token: str, where: str) -> str:
    """The token, stripped; TokenError when it is empty, several lines or short."""
    token = token.strip()
    if not token or any(c.isspace() for c in token):
        raise TokenError(f"{where} does not hold one token (one line, no spaces)")
    if len(token) < MIN_TOKEN_LENGTH:
        raise TokenError(
            f"{where}: the token is too short (at least {MIN_TOKEN_LENGTH} characters)"
        )
    return token


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost`; any other name counts as reachable."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def origin_of(url: str) -> str:
    """`scheme://host[:port]` as a browser sends it in `Origin` (default ports dropped)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class Guard:
    """The token, the one origin pages may come from, and the cookie's name
    (per port: cookies ignore ports, two `opsdash serve` on one host must not
    overwrite each other's)."""

    token: str
    origin: str
    cookie_name: str = "opsdash_serve"

    @classmethod
    def for_url(cls, token: str, public_url: str) -> Guard:
        port = urlsplit(public_url).port or ""
        return cls(token, origin_of(public_url), f"opsdash_serve{port}")

    @property
    def secure(self) -> bool:
        return self.origin.startswith("https://")

    @property
    def cookie_value(self) -> str:
        return hmac.new(self.token.encode(), b"opsdash serve cookie", hashlib.sha256).hexdigest()

    def token_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.token.encode())

    def cookie_matches(self, request: web.Request) -> bool:
        given = request.cookies.get(self.cookie_name, "")
        return bool(given) and hmac.compare_digest(given.encode(), self.cookie_value.encode())

    def from_the_page(self, request: web.Request, *, origin_required: bool) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            if origin_required:
                return False
        elif origin.lower() != self.origin:
            return False
        site = request.headers.get("Sec-Fetch-Site")
        return site is None or site.lower() in _FROM_THE_PAGE

    def refusal(self, request: web.Request) -> str | None:
        """Why this request is refused, for the server's log (never the token); None: let in."""
        if request.path == "/" and "token" in request.query:
            return None if self.token_matches(request.query["token"]) else "wrong token"
        if not self.cookie_matches(request):
            return "no token"
        websocket = request.path == "/ws"
        if not self.from_the_page(request, origin_required=websocket):
            return f"Origin {request.headers.get('Origin', '(none)')[:100]!r} is not {self.origin}"
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        why = self.refusal(request)
        if why is not None:
            log.warning(
                "refused %s %s from %s: %s", request.method, request.path, request.remote, why
            )
            return web.Response(status=403, text=FORBIDDEN)
        response = await handler(request)
        if request.path == "/" and "token" in request.query and not response.prepared:
            response.set_cookie(
                self.cookie_name,
                self.cookie_value,
                path="/",
                httponly=True,
                samesite="Strict",
                secure=self.secure,
            )
        return response

    async def add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """Every response: no Referer carrying `?token=` anywhere, no framing, no caching of the page."""
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        if request.path == "/":
            response.headers["Cache-Control"] = "no-store"


class PathOnlyAccessLogger(AbstractAccessLogger):
    """aiohttp's access log without query strings or headers (the page's URL holds the token)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %.3fs',
            request.remote,
            request.method,
            request.path,
            response.status,
            time,
        )
