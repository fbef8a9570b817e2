"""The part every HTTP source shares: one `HttpClient` built from its config,
the blocking bridge its worker-thread calls cross, the quota note, and close.

Seven modules used to build the client and the bridge each in their own words;
they differed only in the base path, the headers and the auth they send. A
subclass now says just that, through `api_url`, `headers` and `auth`, and the
secrets it sends (`secrets`) so every error line has them redacted.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from opsdash.sources.base import Source
from opsdash.sources.http import HttpClient, run_sync

T = TypeVar("T")


class HttpSource(Source):
    """A source that talks to one HTTP API through one `HttpClient`.

    `client` is injectable so tests can hand in one pointed at a replay server;
    without it the client is built from the config and the hooks below.
    """

    def __init__(self, config: Any, client: HttpClient | None = None):
        super().__init__(config.name, config.refresh, config.timeout)
        self.config = config
        self.read_only = getattr(config, "read_only", False)
        self.client = client if client is not None else self.make_client()

    # --- what differs per vendor ------------------------------------------------

    def api_url(self) -> str:
        """The base every request path is joined to."""
        return self.config.url

    def headers(self) -> dict[str, str]:
        """A bearer token, where the config has one (MLflow, Prometheus)."""
        token = getattr(self.config, "token", "")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def auth(self) -> tuple[str, str] | None:
        """Basic auth from user and password, where the config has them."""
        user = getattr(self.config, "user", "")
        return (user, getattr(self.config, "password", "")) if user else None

    def secrets(self) -> tuple[str, ...]:
        """What the client must redact from every line it writes."""
        return (getattr(self.config, "token", ""), getattr(self.config, "password", ""))

    def make_client(self) -> HttpClient:
        return HttpClient(
            self.api_url(),
            headers=self.headers() or None,
            auth=self.auth(),
            ca_bundle=self.config.ca_bundle,
            timeout=self.config.timeout,
            secrets=self.secrets(),
        )

    # --- the bridge -------------------------------------------------------------

    def _sync(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the HTTP loop from a worker thread. The wait is four
        client deadlines: a call may make a few requests, each with its retries."""
        return run_sync(coro, self.client.deadline * 4)

    def health_note(self) -> str:
        """Shown in the header beside `ok`: the rate limit left, where there is one."""
        return str(self.client.quota)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
