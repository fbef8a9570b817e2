"""The pipelines a Kubeflow source shows, and each one's newest version.

D creates a run of a pipeline's newest version; the P screen lists them. A
pipeline's newest version is read when the pipeline is first seen, when a run
names a version not seen before (one was uploaded), and every few polls (the
source says when, `all_versions`); any version id seen, the newest or an older
one on a run, names its pipeline, so D on an old run starts the newest version.
"""

from __future__ import annotations

import asyncio
from typing import Any

from opsdash.sources import kubeflow_map as kmap
from opsdash.sources.base import SourceError
from opsdash.sources.kubeflow_list import Get, items_of

PIPELINE_PAGES = 5  # pages of pipelines read (of 100 each)

Pairs = list[tuple[dict[str, Any], dict[str, Any] | None]]  # (pipeline, its newest version)


class PipelineCatalog:
    """What the source knows of the server's pipelines and their versions."""

    def __init__(self, get: Get, config: Any):
        self._get = get
        self.config = config
        self.versions: dict[str, str] = {}  # pipeline version id -> pipeline id
        self.pipelines: dict[str, tuple[str, str]] = {}  # pipeline id -> (name, newest version)
        self.newest: dict[str, dict[str, Any] | None] = {}  # pipeline id -> newest version
        self.run_versions: dict[str, str] = {}  # version id seen on runs -> pipeline id
        self.fresh: set[str] = set()  # pipelines whose newest version this poll read

    def names(self) -> dict[str, str]:
        """Pipeline id -> display name."""
        return {pid: name for pid, (name, _v) in self.pipelines.items()}

    def wanted(self, pipeline: dict[str, Any]) -> bool:
        wanted = self.config.pipelines
        if not wanted:
            return True
        ids = {str(pipeline.get("pipeline_id") or ""), str(pipeline.get("display_name") or "")}
        extra = {self.pipeline_of(p) for p in (self.config.deploy, self.config.training) if p}
        return bool(ids & (set(wanted) | extra))

    def pipeline_of(self, name: str) -> str:
        """The pipeline id a version id names (known once a version list or a run
        named it); any other name as it is."""
        return self.versions.get(name) or self.run_versions.get(name) or name

    async def read(
        self, all_versions: bool = False
    ) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """The wanted pipelines with their newest versions. A version is asked for
        a pipeline seen for the first time, or for all with `all_versions`."""
        params: dict[str, Any] = {"page_size": 100}
        if self.config.namespace:
            params["namespace"] = self.config.namespace
        pipelines: list[dict[str, Any]] = []
        for _ in range(PIPELINE_PAGES):
            body = await self._get("/pipelines", params)
            pipelines += items_of(body, "pipelines", f"{kmap.API}/pipelines")
            token = body.get("next_page_token")
            if not token:
                break
            params = {**params, "page_token": token}
        pipelines = [p for p in pipelines if p.get("pipeline_id") and self.wanted(p)]
        names = {str(p["pipeline_id"]): str(p.get("display_name") or "") for p in pipelines}
        stale = [pid for pid in names if all_versions or pid not in self.newest]
        await self.refresh(stale)
        self.fresh = set(stale)
        for pid, name in names.items():
            self.pipelines[pid] = (name or pid, self.pipelines.get(pid, ("", ""))[1])
        return [(p, self.newest.get(str(p["pipeline_id"]))) for p in pipelines]

    async def refresh(self, pipeline_ids: list[str]) -> None:
        newest = await asyncio.gather(*(self._newest_version(pid) for pid in pipeline_ids))
        for pid, version in zip(pipeline_ids, newest, strict=True):
            self.newest[pid] = version
            vid = str((version or {}).get("pipeline_version_id") or "")
            self.pipelines[pid] = (self.pipelines.get(pid, (pid, ""))[0], vid)
            if vid:
                self.versions[vid] = pid

    async def _newest_version(self, pipeline_id: str) -> dict[str, Any] | None:
        path = f"/pipelines/{pipeline_id}/versions"
        body = await self._get(path, {"page_size": 1, "sort_by": "created_at desc"})
        versions = items_of(body, "pipeline_versions", kmap.API + path)
        return versions[0] if versions else None

    async def note_runs(self, bodies: list[dict[str, Any]], pairs: Pairs) -> Pairs:
        """Learn the versions the listed runs name; a version not seen before means
        its pipeline has a newer newest version: read it again (unless this poll did)."""
        refs = {ref for ref in map(kmap.reference_of, bodies) if ref[1]}
        new = {(pid, vid) for pid, vid in refs if vid not in self.run_versions}
        self.run_versions |= {vid: pid for pid, vid in new}
        stale = {pid for pid, vid in new if vid not in self.versions and pid in self.newest}
        stale -= self.fresh
        if not stale:
            return pairs
        await self.refresh(sorted(stale))
        return [(p, self.newest.get(str(p["pipeline_id"]))) for p, _v in pairs]

    async def resolve(self, pipeline: str, label: str) -> tuple[str, str, str]:
        """(pipeline id, version id, name) for a version id, pipeline id or name.
        A run's older version (D on that run) stands for its pipeline: the new run
        is of the pipeline's newest version, as for a pipeline named."""
        for attempt in range(2):
            named = self.pipeline_of(pipeline)  # an older version id too
            for pid, (name, newest) in self.pipelines.items():
                if named in (pid, name) and newest:
                    return pid, newest, name
            if not attempt:
                await self.read(all_versions=True)  # uploaded since the last poll
        raise SourceError(f"{label}: no pipeline or pipeline version {pipeline!r} to run")
