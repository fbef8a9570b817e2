"""MLflow's REST API as the registry source speaks it: JSON objects checked for
their documented shape (one clear line otherwise), `next_page_token` pages, and
at most CONCURRENCY requests in flight so a large registry does not flood it.

https://mlflow.org/docs/latest/api_reference/rest-api.html
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterator
from typing import Any, ClassVar, TypeVar

from opsdash.sources.http import HttpError, shape_error
from opsdash.sources.http_source import HttpSource

T = TypeVar("T")
API = "/api/2.0/mlflow"


class MlflowRest(HttpSource):
    """The requests under MlflowSource; it holds no registry knowledge."""

    PAGE_SIZE: ClassVar[int] = 100  # registered models / versions per page
    CONCURRENCY: ClassVar[int] = 6
    _limit: asyncio.Semaphore | None = None

    @contextlib.contextmanager
    def _shape(self, method: str, path: str) -> Iterator[None]:
        """Turn a body that is not shaped as documented into one clear line."""
        try:
            yield
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise shape_error(method, f"{self.client.base_url}{API}/{path}", exc) from None

    def _object(self, method: str, path: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            what = "an empty body" if body is None else f"JSON {type(body).__name__}"
            raise HttpError(f"{method} {API}/{path}: malformed response: {what}, not an object")
        return body

    async def _limited(self, awaitable: Awaitable[T]) -> T:
        if self._limit is None:
            self._limit = asyncio.Semaphore(self.CONCURRENCY)
        async with self._limit:
            return await awaitable

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self._limited(self.client.get_json(f"{API}/{path}", params))
        return self._object("GET", path, body)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.request("POST", f"{API}/{path}", json_body=body)
        decoded = self.client.decode(response, "POST", f"{API}/{path}")
        return self._object("POST", path, {} if decoded is None else decoded)

    async def _pages(
        self, path: str, params: dict[str, Any], key: str, limit: int, page_size: int = 0
    ) -> list[dict[str, Any]]:
        """Follow MLflow's `next_page_token` until `limit` items are read."""
        items: list[dict[str, Any]] = []
        token = ""
        page_size = page_size or self.PAGE_SIZE
        while len(items) < limit:
            page_params = {**params, "max_results": min(page_size, limit - len(items))}
            if token:
                page_params["page_token"] = token
            body = await self._get(path, page_params)
            with self._shape("GET", path):
                page = body.get(key, [])
                if not isinstance(page, list) or not all(isinstance(i, dict) for i in page):
                    raise TypeError(f"{key} is not a list of objects")
                token = str(body.get("next_page_token") or "")
            items.extend(page)
            if not page or not token:
                break
        return items[:limit]
