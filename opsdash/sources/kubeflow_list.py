"""The newest runs of a KFP server: `GET /apis/v2beta1/runs`, page by page.

Sorted ``created_at desc`` and narrowed on the server: the ``namespace`` and
``experiment_id`` parameters, and a `filter` of predicates (no archived runs;
``experiment_id IN`` for several experiments; ``pipeline_id IN`` for the
configured pipelines). KFP 2.0's server cannot filter runs on ``pipeline_id``
or ``experiment_id`` (they are not in its API-to-model field map) and answers
400. So after a 400 to a narrowed filter, the lister asks without those
predicates and filters the pages itself, reading at most `LOCAL_PAGES` pages,
and keeps doing so. `note` says so in the panel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opsdash.sources import kubeflow_map as kmap
from opsdash.sources.http import HttpError, shape_error

PAGE_SIZE = 50  # runs asked per request
LOCAL_PAGES = 10  # pages read at most when the runs are filtered here

Get = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


def items_of(body: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
    """A list field of a reply; absent or null is empty (proto JSON omits empty lists)."""
    items = body.get(key, [])
    if items is None:
        return []
    if not isinstance(items, list):
        raise shape_error("GET", path, TypeError(f"{key} is not a list"))
    return [item for item in items if isinstance(item, dict)]


class RunLister:
    def __init__(self, get: Get, config: Any) -> None:
        self.get = get
        self.config = config
        self.page_size = PAGE_SIZE
        self.filter_here = False  # the server refused a pipeline/experiment predicate

    @property
    def note(self) -> str:
        return (
            "this Kubeflow server cannot filter runs by pipeline or experiment:"
            f" opsdash filters the newest {self.page_size * LOCAL_PAGES}"
        )

    async def runs(self, pipeline_ids: list[str] | None) -> list[dict[str, Any]]:
        """The newest `runs` runs, of these pipelines (None: of all)."""
        narrowed = pipeline_ids is not None or len(self.config.experiments) > 1
        if narrowed and not self.filter_here:
            try:
                return await self._pages(pipeline_ids, local=False)
            except HttpError as exc:
                if exc.status != 400:
                    raise
                self.filter_here = True
        return await self._pages(pipeline_ids, local=narrowed)

    async def _pages(self, pipeline_ids: list[str] | None, local: bool) -> list[dict[str, Any]]:
        limit = max(self.config.runs, 1)
        experiments = self.config.experiments
        server_ids = None if local else pipeline_ids
        params: dict[str, Any] = {
            "sort_by": "created_at desc",
            "filter": kmap.runs_filter(() if local else experiments, server_ids),
        }
        if self.config.namespace:
            params["namespace"] = self.config.namespace
        if len(experiments) == 1:
            params["experiment_id"] = experiments[0]
        runs: list[dict[str, Any]] = []
        for _ in range(LOCAL_PAGES if local else limit):
            size = self.page_size if local else min(self.page_size, limit - len(runs))
            body = await self.get("/runs", {**params, "page_size": size})
            page = items_of(body, "runs", f"{kmap.API}/runs")
            if local:
                page = [r for r in page if kmap.run_matches(r, experiments, pipeline_ids)]
            runs += page
            token = body.get("next_page_token")
            if not token or len(runs) >= limit:
                break
            params["page_token"] = token
        return runs[:limit]
