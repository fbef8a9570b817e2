"""What HTTP responses say, read without doing I/O (gidgethub's `sansio` idea):
the rate-limit quota, how long a limit asks us to wait, the next page's URL.

`HttpClient` (sources/http.py) does the requests; these pure functions are
what it decides with, tested on headers alone.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsdash.sources.lazy_module import lazy

if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy("httpx")  # loaded on first use (opsdash.sources.lazy_module)

DEFAULT_RATE_WAIT = 60.0  # GitHub's advice when a secondary limit names no time


@dataclass(frozen=True, slots=True)
class Quota:
    """What the rate-limit headers said last."""

    remaining: int | None = None
    limit: int | None = None
    reset: float | None = None  # epoch seconds

    def __str__(self) -> str:
        if self.remaining is None:
            return ""
        limit = f"/{self.limit:,}" if self.limit is not None else ""
        text = f"{self.remaining:,}{limit} left"
        if self.reset is not None and self.remaining == 0:
            text += f", resets {datetime.fromtimestamp(self.reset).astimezone():%H:%M:%S}"
        return text


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _header(headers: httpx.Headers, *names: str) -> str | None:
    for name in names:
        if name in headers:
            return headers[name]
    return None


def quota_from(headers: httpx.Headers) -> Quota | None:
    """GitHub `x-ratelimit-*` or GitLab `RateLimit-*` headers, if present."""
    remaining = _int(_header(headers, "x-ratelimit-remaining", "ratelimit-remaining"))
    if remaining is None:
        return None
    limit = _int(_header(headers, "x-ratelimit-limit", "ratelimit-limit"))
    reset = _int(_header(headers, "x-ratelimit-reset", "ratelimit-reset"))
    return Quota(remaining, limit, float(reset) if reset is not None else None)


def rate_limit_wait(response: httpx.Response, now: float) -> float | None:
    """Seconds to wait if this response is a rate limit, else None.

    Order as GitHub documents it: Retry-After, then the reset time when no
    request is left, then 60 s for a limit that names no time.
    """
    status = response.status_code
    if status not in (403, 429):
        return None
    headers = response.headers
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        seconds = _int(retry_after.strip())
        if seconds is None:
            with contextlib.suppress(TypeError, ValueError):
                from email.utils import parsedate_to_datetime

                seconds = int(parsedate_to_datetime(retry_after).timestamp() - now)
        return max(0.0, float(seconds if seconds is not None else DEFAULT_RATE_WAIT))
    quota = quota_from(headers)
    if quota is not None and quota.remaining == 0 and quota.reset is not None:
        return max(0.0, quota.reset - now)
    if status == 429:
        return DEFAULT_RATE_WAIT
    if "rate limit" in response.text[:2000].lower():
        return DEFAULT_RATE_WAIT  # GitHub's secondary limit: 403 with a message only
    return None


_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')


def next_link(headers: httpx.Headers) -> str | None:
    """The `rel="next"` URL of a `Link` header (GitHub, GitLab)."""
    for url, rels in _LINK.findall(headers.get("link", "")):
        if "next" in rels.split():
            return url
    return None


def with_params(url: str, params: Mapping[str, Any] | None) -> str:
    """`url` with `params` added to the query it already has.

    `httpx.URL(url, params=...)` replaces the query instead, so a `Link` next
    URL (`...?page=2`) would lose its page and page 1 would be fetched again.
    """
    return str(httpx.URL(url).copy_merge_params(params)) if params else url
