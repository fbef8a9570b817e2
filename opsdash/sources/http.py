"""HTTP hygiene shared by every HTTP source (CI systems, MLflow, Prometheus).

One `HttpClient` per source wraps one `httpx.AsyncClient`. All clients run on
one background event loop thread, so a source's blocking `poll()` (called from a
worker thread) can fan out concurrent requests and the UI thread never waits.

What it does so that sources do not each do it again:
- connect/read timeouts; retries with exponential backoff and jitter on 5xx,
  timeouts and connection errors;
- rate limits: 429, or 403 with a rate-limit sign, blocks the client until
  `Retry-After` or the reset header; requests before then fail at once without
  touching the network; the remaining quota is kept for the source's health;
- conditional GETs (ETag / If-None-Match, Last-Modified): a 304 returns the
  cached body, so unchanged polls cost no rate limit where the API says so;
- pagination by the `Link: <...>; rel="next"` header (what the headers say is
  read by the pure functions of `http_sansio`, re-exported here);
- errors as one line naming method and path, with every secret redacted
  (`opsdash.redact`) before the line is cut. The client registers what it sends:
  the configured secrets, the Basic auth password (and its user, for the
  base64 form) and the values of credential headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from opsdash.redact import clip, redact, remember
from opsdash.sources.base import SourceError
from opsdash.sources.http_sansio import (
    DEFAULT_RATE_WAIT,  # noqa: F401 - re-exported
    Quota,
    next_link,
    quota_from,
    rate_limit_wait,
    with_params,
)
from opsdash.sources.lazy_module import lazy

if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy("httpx")  # loaded on first use (opsdash.sources.lazy_module)

T = TypeVar("T")

CREDENTIAL_HEADERS = frozenset({"authorization", "private-token", "job-token", "x-api-key"})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
SHORT_WAIT = 2.0  # a rate-limit wait this short is slept through instead of failing the poll

CACHE_ENTRIES = 512  # conditional-GET bodies kept per client
USER_AGENT = "opsdash (+https://github.com/opsdash)"


class HttpError(SourceError):
    """A request failed; the message is one line and holds no secret."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class RateLimited(HttpError):
    """The API asked us to wait until `until` (epoch seconds)."""

    def __init__(self, message: str, until: float, status: int | None = None):
        super().__init__(message, status)
        self.until = until


def _no_sniffio() -> None:
    """httpcore imports sniffio inside every request (twice) and takes asyncio
    when it is missing, as it is since anyio stopped needing it: a failed import
    is not remembered, so each one searched every directory on sys.path again
    (~660 searches a minute with the panels settled). A None in sys.modules makes
    the same import fail at once, with the same ImportError."""
    import importlib.util
    import sys

    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


class _Loop:
    """The one background event loop every HTTP client runs on."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None or cls._loop.is_closed():
                _no_sniffio()
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="opsdash-http", daemon=True)
                thread.start()
                cls._loop = loop
            return cls._loop


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run `coro` on the HTTP loop and wait for it from a (worker) thread."""
    future = asyncio.run_coroutine_threadsafe(coro, _Loop.get())
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise HttpError(f"no answer within {timeout:g}s") from None


def ssl_context(ca_bundle: str = "") -> ssl.SSLContext:
    """Verification always on; `ca_bundle` replaces the system CAs when given."""
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    return ssl.create_default_context()


class HttpClient:
    """One source's connection to one API. Coroutines run on the HTTP loop."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        ca_bundle: str = "",
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.secrets = tuple(s for s in secrets if s and len(s) >= 3)
        sent = [*self.secrets, *(auth[1:] if auth else ())]
        for name, value in (headers or {}).items():
            if name.lower() in CREDENTIAL_HEADERS:
                sent += [value, value.partition(" ")[2]]  # "Bearer <token>" and the token
        # Kept as long as the client: its secrets are redacted process-wide meanwhile.
        self._known_secrets = remember(sent, users=(auth[0],) if auth else ())
        self.quota = Quota()
        self.blocked_until = 0.0
        self.stats = {"requests": 0, "not_modified": 0, "retries": 0, "rate_limited": 0}
        self._sleep = sleep
        self._clock = clock
        # url -> (etag, last-modified, body, next page url)
        self._cache: dict[str, tuple[str, str, Any, str | None]] = {}
        self._headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self._auth = httpx.BasicAuth(*auth) if auth else None
        self._verify: ssl.SSLContext | bool = (
            ssl_context(ca_bundle) if base_url.startswith("https") else True
        )
        self._client: httpx.AsyncClient | None = None

    # --- sync bridge (for worker threads) ---------------------------------------

    @property
    def deadline(self) -> float:
        """Longest one call may take, retries included."""
        return self.timeout * (self.retries + 1) + self.backoff * 2 ** (self.retries + 1) + 5

    def call(self, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` on the HTTP loop, from a worker thread."""
        return run_sync(fn(*args, **kwargs), self.deadline * 4)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                run_sync(client.aclose(), 2.0)

    # --- errors -------------------------------------------------------------

    def redact(self, text: str) -> str:
        """Every secret any live client sends, in every encoding, masked."""
        return redact(text)

    def _where(self, method: str, url: str) -> str:
        parts = urlsplit(url)
        return self.redact(f"{method} {parts.path or '/'}")

    def _http_error(self, method: str, url: str, response: httpx.Response) -> HttpError:
        detail = ""
        with contextlib.suppress(ValueError, AttributeError):
            body = response.json()
            if isinstance(body, dict):
                # FastAPI (Airflow 3) and RFC 7807 (Airflow 2) say why in "detail".
                message = body.get("message") or body.get("error") or body.get("detail") or ""
                detail = message if isinstance(message, str) else json.dumps(message)
        if not detail and "json" not in response.headers.get("content-type", ""):
            # An HTML error page (Jenkins, proxies): its text, not its tags.
            # Redacted first: a tag inside an echoed secret must not hide it.
            detail = re.sub(
                r"<(script|style)\b.*?</\1>|<[^>]+>",
                " ",
                clip(response.text, 4000),
                flags=re.S | re.I,
            )
        detail = clip(detail, 160)
        text = f"{self._where(method, url)}: HTTP {response.status_code} {response.reason_phrase}"
        return HttpError(self.redact(f"{text}: {detail}" if detail else text), response.status_code)

    # --- requests -------------------------------------------------------------

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                headers=self._headers,
                auth=self._auth,
                verify=self._verify,
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
                follow_redirects=False,
            )
        return self._client

    def _check_blocked(self, method: str, url: str) -> None:
        now = self._clock()
        if self.blocked_until > now:
            until = datetime.fromtimestamp(self.blocked_until).astimezone()
            raise RateLimited(
                f"{self._where(method, url)}: rate limited, waiting until {until:%H:%M:%S}"
                f" ({self.blocked_until - now:.0f}s)",
                self.blocked_until,
            )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: Iterable[int] = (200, 201, 202, 204),
    ) -> httpx.Response:
        """One request with retries and rate-limit handling; raises HttpError."""
        url = self._url(path)
        accepted = set(ok)
        attempt = 0
        while True:
            self._check_blocked(method, url)
            self.stats["requests"] += 1
            try:
                response = await self._http().request(
                    method, url, params=params, json=json_body, data=data, headers=headers
                )
            except httpx.TimeoutException:
                error: HttpError = HttpError(
                    f"{self._where(method, url)}: no answer within {self.timeout:g}s"
                )
            except httpx.TransportError as exc:
                reason = clip(exc, 120) or type(exc).__name__
                error = HttpError(f"{self._where(method, url)}: cannot connect: {reason}")
            else:
                quota = quota_from(response.headers)
                if quota is not None:
                    self.quota = quota
                if response.status_code in accepted or response.status_code == 304:
                    return response
                wait = rate_limit_wait(response, self._clock())
                if wait is not None:
                    self.stats["rate_limited"] += 1
                    if wait <= SHORT_WAIT and attempt < self.retries:
                        attempt += 1
                        await self._sleep(wait)
                        continue
                    self.blocked_until = self._clock() + wait
                    until = datetime.fromtimestamp(self.blocked_until).astimezone()
                    raise RateLimited(
                        f"{self._where(method, url)}: rate limited (HTTP {response.status_code}),"
                        f" waiting until {until:%H:%M:%S}",
                        self.blocked_until,
                        response.status_code,
                    )
                error = self._http_error(method, url, response)
                if response.status_code not in RETRY_STATUSES:
                    raise error
            if attempt >= self.retries or method not in ("GET", "HEAD"):
                # Mutations are not repeated blindly: a POST that timed out may have landed.
                raise error
            attempt += 1
            self.stats["retries"] += 1
            delay = self.backoff * 2 ** (attempt - 1)
            await self._sleep(delay + random.uniform(0, delay))

    async def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        conditional: bool = False,
    ) -> Any:
        """GET and decode JSON; with `conditional`, reuse the body on 304."""
        body, _next = await self.get_page(path, params, conditional=conditional)
        return body

    async def get_page(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        conditional: bool = False,
    ) -> tuple[Any, str | None]:
        """GET one page: its decoded body and the `rel="next"` URL, if any."""
        url = with_params(self._url(path), params)
        cached = self._cache.get(url) if conditional else None
        headers = {}
        if cached is not None:
            etag, modified, _body, _next = cached
            if etag:
                headers["If-None-Match"] = etag
            if modified:
                headers["If-Modified-Since"] = modified
        response = await self.request("GET", url, headers=headers or None)
        if response.status_code == 304:
            if cached is None:
                raise HttpError(f"{self._where('GET', url)}: 304 without a cached copy")
            self.stats["not_modified"] += 1
            return cached[2], cached[3]
        body = self.decode(response, "GET", url)
        following = next_link(response.headers)
        if conditional:
            etag = response.headers.get("etag", "")
            modified = response.headers.get("last-modified", "")
            if etag or modified:
                if len(self._cache) >= CACHE_ENTRIES:
                    self._cache.pop(next(iter(self._cache)))  # the oldest: memory stays bounded
                self._cache[url] = (etag, modified, body, following)
        return body, following

    def decode(self, response: httpx.Response, method: str, url: str) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise HttpError(
                f"{self._where(method, url)}: malformed response: not JSON"
                f" ({kind}, {len(response.content)} bytes)"
            ) from None

    async def get_pages(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        items: Callable[[Any], list[Any]] = lambda body: body,
        limit: int = 100,
        conditional: bool = False,
    ) -> list[Any]:
        """Follow `Link rel="next"` until `limit` items are collected."""
        collected: list[Any] = []
        url: str | None = with_params(self._url(path), params)
        while url is not None and len(collected) < limit:
            body, following = await self.get_page(url, conditional=conditional)
            try:
                page = items(body)
            except (KeyError, TypeError, AttributeError) as exc:
                raise shape_error("GET", url, exc) from None
            if not isinstance(page, list):
                raise shape_error("GET", url, TypeError("expected a list"))
            collected.extend(page)
            url = following
        return collected[:limit]


def shape_error(method: str, url: str, exc: BaseException) -> HttpError:
    """A response that decoded but is not shaped as documented."""
    path = urlsplit(url).path or url
    return HttpError(f"{method} {path}: unexpected response shape ({type(exc).__name__}: {exc})")
