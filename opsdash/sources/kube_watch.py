"""List once, then watch: one resource type of one context, kept current.

The API's efficient-change-detection contract
(https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
- list in pages (`limit`, `continue`) and remember the list's `resourceVersion`;
- watch from it (`watch=1`, `allowWatchBookmarks=true`, `timeoutSeconds`),
  applying ADDED, MODIFIED and DELETED; a BOOKMARK only moves the version;
- when the server ends the watch (its timeout), watch again from the last
  version seen, with no list;
- 410 Gone (a version too old, on the watch request or as an ERROR event,
  or an expired `continue` token) is the only reason to list again;
- a connection that fails is retried with backoff (1 s doubling to 30 s);
  the error stays visible until a list or watch succeeds again.

Each event is mapped to its record as it arrives, so reading the current
state (`records`) is a copy of a dict, whatever the number of pods.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any

from opsdash.sources.kube_api import KubeApi, KubeError

PAGE = 500
BACKOFF_START = 1.0
BACKOFF_MAX = 30.0
UNAVAILABLE_RETRY = 120.0


class Gone(Exception):
    """The version we hold is too old: list again."""


def _uid(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")


class ResourceWatch:
    """One list+watch loop; runs as a task on the HTTP loop until cancelled."""

    def __init__(
        self,
        api: KubeApi,
        path: str,
        record: Callable[[dict[str, Any]], Any],
        changed: Callable[[], None],
        *,
        watch_seconds: tuple[int, int] = (240, 300),
    ):
        self.api = api
        self.path = path
        self.record = record
        self.changed = changed
        self.watch_seconds = watch_seconds
        self.items: dict[str, Any] = {}
        self.resource_version = ""
        self.synced = asyncio.Event()
        self.error = ""
        # Forbidden (RBAC) or not served (404): a note, not an error, retried slowly.
        self.unavailable = ""
        self.lists = 0  # how many times it listed (1 + one per 410)
        self.events = 0
        self.reconnects = 0
        self.last_data = 0.0  # loop time of the last bytes from the server
        self.sleep = asyncio.sleep

    # --- one round ---------------------------------------------------------------

    async def relist(self) -> None:
        items: dict[str, Any] = {}
        token = ""
        version = ""
        while True:
            params: dict[str, Any] = {"limit": PAGE}
            if token:
                params["continue"] = token
            try:
                page = await self.api.get(self.path, params)
            except KubeError as exc:
                if exc.status == 410 and token:  # the continue token expired: start over
                    items, token = {}, ""
                    continue
                raise
            for obj in page.get("items") or []:
                if isinstance(obj, dict):
                    items[_uid(obj)] = self.record(obj)
            meta = page.get("metadata") or {}
            version = str(meta.get("resourceVersion") or version)
            token = str(meta.get("continue") or "")
            if not token:
                break
        self.items = items
        self.resource_version = version
        self.last_data = asyncio.get_running_loop().time()
        self.lists += 1
        self.error = self.unavailable = ""
        self.synced.set()
        self.changed()

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        if not isinstance(obj, dict):
            return
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise Gone()
            raise KubeError(f"watch {self.path}: {obj.get('message') or obj}", obj.get("code"))
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self.resource_version = str(version)
        if kind == "BOOKMARK":
            return
        self.events += 1
        if kind == "DELETED":
            self.items.pop(_uid(obj), None)
        elif kind in ("ADDED", "MODIFIED"):
            self.items[_uid(obj)] = self.record(obj)
        else:
            return
        self.changed()

    async def watch(self) -> None:
        """Until the server closes the stream (its timeout) or 410."""
        seconds = random.randint(*self.watch_seconds)
        params = {
            "watch": "1",
            "allowWatchBookmarks": "true",
            "resourceVersion": self.resource_version,
            "timeoutSeconds": str(seconds),
        }
        pending = b""
        try:
            async for chunk in self.api.lines(self.path, params, read_timeout=seconds + 30):
                self.error = ""
                self.last_data = asyncio.get_running_loop().time()
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        self.apply(json.loads(line))
        except KubeError as exc:
            if exc.status == 410:
                raise Gone() from None
            raise

    async def run(self) -> None:
        backoff = BACKOFF_START
        loop = asyncio.get_running_loop()
        while True:
            try:
                if not self.resource_version:
                    await self.relist()
                began, events = loop.time(), self.events
                await self.watch()
                if loop.time() - began < 1 and self.events == events:
                    await self.sleep(backoff)  # a server that ends every watch at once
                    backoff = min(backoff * 2, BACKOFF_MAX)
                else:
                    backoff = BACKOFF_START
            except Gone:
                self.resource_version = ""
            except KubeError as exc:
                if exc.status not in (403, 404) or self.resource_version:
                    await self._failed(exc, backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
                    continue
                self.unavailable, self.error = str(exc), ""
                if self.items:
                    self.items = {}
                    self.changed()
                self.synced.set()
                await self.sleep(UNAVAILABLE_RETRY)
            except ValueError as exc:
                await self._failed(exc, backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _failed(self, exc: Exception, backoff: float) -> None:
        self.error = str(exc) or type(exc).__name__
        self.reconnects += 1
        await self.sleep(backoff * (0.75 + random.random() / 2))
