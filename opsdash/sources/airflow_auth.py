"""Logging in to Airflow 3: a JWT from ``POST /auth/token``, renewed before it
expires and once more when the API refuses it (401).

Airflow 3's API takes ``Authorization: Bearer <JWT>``; the simple, FAB and
Keycloak auth managers hand one out for ``{"username", "password"}`` at
``/auth/token``. Its lifetime is ``[api_auth] jwt_expiration_time`` (a day by
default, minutes where a team sets it so), read from the token's own ``exp``
claim: the token is renewed when a tenth of its life (at least 30 s) is left,
so a long session never shows an error for it. Every token is registered for
redaction as soon as it arrives and forgotten once replaced.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from typing import Any

from opsdash.redact import Secrets, remember
from opsdash.sources.base import SourceError
from opsdash.sources.http import HttpClient, HttpError

MIN_MARGIN = 30.0  # seconds before `exp` a token is renewed, at least
UNKNOWN_LIFETIME = 300.0  # a token without a readable `exp` is renewed after this


def expiry_of(token: str) -> float | None:
    """The `exp` claim of a JWT (epoch seconds), read without verifying it:
    only to know when to ask for a new one."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
        return float(exp) if isinstance(exp, int | float) else None
    except (IndexError, ValueError, AttributeError):
        return None


class TokenKeeper:
    """The current JWT of one Airflow source, renewed before it expires.

    Runs on the HTTP loop: `header()` is awaited before each request."""

    def __init__(
        self,
        client: HttpClient,
        token_url: str,
        username: str,
        password: str,
        label: str,
        clock: Callable[[], float] = time.time,
    ):
        self.client = client
        self.token_url = token_url
        self.username = username
        self.password = password
        self.label = label
        self.clock = clock
        self.logins = 0
        self._token = ""
        self._renew_at = 0.0
        self._known: Secrets | None = None
        self._lock: asyncio.Lock | None = None

    async def header(self) -> dict[str, str]:
        if not self._token or self.clock() >= self._renew_at:
            await self.renew(stale=self._token)
        return {"Authorization": f"Bearer {self._token}"}

    async def renew(self, stale: str = "") -> None:
        """A new token, unless a concurrent request already replaced `stale`."""
        if self._lock is None:
            self._lock = asyncio.Lock()  # made on the HTTP loop, where it is used
        async with self._lock:
            if self._token and self._token != stale and self.clock() < self._renew_at:
                return
            token = await self._login()
            now = self.clock()
            exp = expiry_of(token)
            life = (exp - now) if exp is not None else UNKNOWN_LIFETIME
            self._renew_at = now + max(0.0, life - max(MIN_MARGIN, life / 10))
            if exp is not None and life <= MIN_MARGIN:
                self._renew_at = now + max(1.0, life / 2)  # very short lives: halfway
            self._known = remember([token])  # redacted from now on; the old one forgotten
            self._token = token
            self.logins += 1

    @property
    def token(self) -> str:
        return self._token

    async def _login(self) -> str:
        body = {"username": self.username, "password": self.password}
        try:
            response = await self.client.request(
                "POST", self.token_url, json_body=body, ok=(200, 201)
            )
        except HttpError as exc:
            if exc.status in (400, 401, 403, 422):
                raise SourceError(
                    f"{self.label}: login as {self.username} at {self.token_url} refused"
                    f" (HTTP {exc.status}): wrong user or password?"
                ) from None
            raise
        reply: Any = self.client.decode(response, "POST", self.token_url)
        token = reply.get("access_token") if isinstance(reply, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceError(f"{self.label}: {self.token_url} answered without an access_token")
        return token
