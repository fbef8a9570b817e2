"""Buildbot (REST API v2 and its JSON-RPC control calls) as a pipeline source.

A run is a build of a builder; pending build requests show as queued runs
(id ``req-<buildrequestid>``). A job is a build step. The configured deploy is
a *force scheduler*: its builders' builds are the deploy runs, and their
successful builds are the deployments. Control calls are JSON-RPC POSTs to
the resource (`rebuild`, `stop`, `cancel`, `force`); their errors come back as
``{"error": {"code", "message"}}`` and become one-line `SourceError`s.

With `user`/`password`, opsdash logs in once through ``/auth/login`` (Basic)
and then sends the session cookie, as the web UI does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

from opsdash.model import (
    PipelineJob,
    PipelineRun,
    PipelineSnapshot,
    RunStatus,
    VendorDeployment,
)
from opsdash.redact import clip
from opsdash.sources.base import SourceError
from opsdash.sources.buildbot_map import (
    jobs_from,
    queued_from,
    run_from,
    status_of,  # noqa: F401 - part of this module's interface
)
from opsdash.sources.ci import CiConfig, PipelineSource, tail
from opsdash.sources.http import HttpClient, HttpError, shape_error
from opsdash.sources.settings import option

BUILD_PROPERTIES = ("branch", "revision", "owner", "reason", "scheduler")
RPC_STATUSES = (200, 201, 202, 204, 400, 403, 404, 500)  # JSON-RPC errors come with these
LOG_TAIL_LINES = 2000  # longer logs are read from their end through /contents


def rpc_error_text(error: Any) -> str:
    """The message of a JSON-RPC error, on one line (field errors joined)."""
    message = error.get("message", error) if isinstance(error, dict) else error
    if isinstance(message, dict):
        message = "; ".join(str(v) for v in message.values())
    return clip(message, 200)  # redacted before the cut


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildbotConfig(CiConfig):
    """One [[buildbot]] table: the builds of a master's builders."""

    kind: ClassVar[str] = "buildbot"
    jobs: tuple[str, ...] = option((), toml="builders", doc="these builders", default_doc="all")
    user: str = option("", doc="only when the master requires a login")
    password: str = option("", doc="${ENV} reference", secret=True)
    ref_parameter: str = option("branch", doc="the force field that carries the ref")


class BuildbotSource(PipelineSource):
    kind = "buildbot"
    config_class = BuildbotConfig

    def __init__(self, config: BuildbotConfig, client: HttpClient | None = None):
        self.www = config.url.rstrip("/")
        super().__init__(config, client)
        self._builders: dict[int, str] = {}  # builderid -> name
        self._schedulers: dict[str, tuple[str, ...]] | None = None  # force scheduler -> builders
        self._title: str | None = None
        self._logged_in = False
        self._logins = 0
        self._login_lock: asyncio.Lock | None = None
        self._rpc_id = 0

    def api_url(self) -> str:
        return f"{self.www}/api/v2"

    def headers(self) -> dict[str, str]:
        return {}  # Basic auth, or the session cookie of a login

    def secrets(self) -> tuple[str, ...]:
        return (self.config.password,)

    # --- plumbing ---------------------------------------------------------------

    async def _login(self, force: bool = False) -> None:
        """Basic login once, as the web UI does; the session cookie does the rest."""
        if not self.config.user or (self._logged_in and not force):
            return
        if self._login_lock is None:
            self._login_lock = asyncio.Lock()  # made on the HTTP loop, where it is used
        generation = self._logins
        async with self._login_lock:
            if self._logins != generation:
                return  # a concurrent request logged in meanwhile
            try:
                await self.client.request("GET", f"{self.www}/auth/login", ok=(200, 302, 303))
            except HttpError as exc:
                if exc.status not in (401, 403):
                    raise
                raise SourceError(
                    f"{self.label}: login as {self.config.user} at {self.www}/auth/login failed"
                    f" (HTTP {exc.status}): wrong user or password?"
                ) from None
            self._logins += 1
            self._logged_in = True

    async def _get(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """GET a collection and return its `key` list ({"builds": [...], "meta": ...})."""
        await self._login()
        try:
            body = await self.client.get_json(path, params or None)
        except HttpError as exc:
            if exc.status not in (401, 403) or not self.config.user:
                raise
            await self._login(force=True)  # the session expired: log in again, once
            body = await self.client.get_json(path, params or None)
        try:
            items = body[key]
            if not isinstance(items, list):
                raise TypeError(f"{key} is not a list")
        except (KeyError, TypeError) as exc:
            raise shape_error("GET", f"{self.www}/api/v2{path}", exc) from None
        return [item for item in items if isinstance(item, dict)]

    async def _rpc(self, path: str, method: str, params: dict[str, Any], retry: bool = True) -> Any:
        """One JSON-RPC call; returns its result or raises a one-line SourceError."""
        await self._login()
        self._rpc_id += 1
        body = {"jsonrpc": "2.0", "method": method, "params": params, "id": self._rpc_id}
        response = await self.client.request("POST", path, json_body=body, ok=(*RPC_STATUSES, 401))
        if response.status_code in (401, 403) and self.config.user and retry:
            await self._login(force=True)  # the session expired: log in again, once
            return await self._rpc(path, method, params, retry=False)
        try:
            reply = response.json()
        except ValueError:
            reply = None
        if isinstance(reply, dict) and reply.get("error"):
            raise SourceError(f"{method} {path} on {self.label}: {rpc_error_text(reply['error'])}")
        if response.status_code >= 300 or not isinstance(reply, dict):
            text = clip(response.text, 120)
            raise SourceError(
                f"{method} {path} on {self.label}: HTTP {response.status_code} {text}".rstrip()
            )
        return reply.get("result")

    async def _ensure_meta(self, refresh: bool = False) -> None:
        """Builders, force schedulers and the master's title; cached until a
        builder appears that the cache does not know (a reconfig)."""
        if self._builders and self._schedulers is not None and not refresh:
            return
        builders, schedulers = await asyncio.gather(
            self._get("/builders", "builders"), self._get("/forceschedulers", "forceschedulers")
        )
        self._builders = {
            int(b["builderid"]): str(b.get("name", b["builderid"]))
            for b in builders
            if "builderid" in b
        }
        self._schedulers = {
            str(s.get("name")): tuple(str(n) for n in s.get("builder_names") or ())
            for s in schedulers
        }
        if self._title is None:
            self._title = await self._master_title()

    async def _master_title(self) -> str:
        """The title the master's config gives itself (`c["title"]`), else "buildbot"."""
        try:
            response = await self.client.request("GET", f"{self.www}/config")
            title = response.json().get("title")
        except (HttpError, ValueError, AttributeError):
            return "buildbot"
        return str(title) if isinstance(title, str) and title.strip() else "buildbot"

    def _builder_id(self, name: str) -> int:
        for builderid, builder in self._builders.items():
            if builder == name:
                return builderid
        known = ", ".join(sorted(self._builders.values())) or "none"
        raise SourceError(f"{self.label}: no builder {name!r} on {self.www} (builders: {known})")

    @property
    def deploy_builders(self) -> tuple[str, ...]:
        """The builders of the configured deploy force scheduler (known after a poll)."""
        if not self.config.deploy or self._schedulers is None:
            return ()
        return self._schedulers.get(self.config.deploy, ())

    def is_deploy(self, pipeline: str, branch: str) -> bool:
        """A build of a builder of the deploy force scheduler (on the deploy branch, if set)."""
        if pipeline not in self.deploy_builders:
            return False
        return not self.config.deploy_branch or branch == self.config.deploy_branch

    def _url(self, builderid: Any, number: Any) -> str:
        return f"{self.www}/#/builders/{builderid}/builds/{number}"

    # --- reading ------------------------------------------------------------------

    async def fetch(self) -> PipelineSnapshot:
        await self._ensure_meta()
        builds, requests = await self._builds_and_requests()
        seen = {b.get("builderid") for b in builds} | {r.get("builderid") for r in requests}
        if any(isinstance(i, int) and i not in self._builders for i in seen):
            await self._ensure_meta(refresh=True)  # a builder added by a reconfig
        runs = [self._run(b) for b in builds]
        buildsets = await self._buildsets(requests) if requests else {}
        queued = [self._queued(r, buildsets.get(r.get("buildsetid"))) for r in requests]
        deployments = tuple(
            self._deployment(run, build)
            for run, build in zip(runs, builds, strict=True)
            if run.is_deploy and run.status is RunStatus.SUCCESS and run.finished is not None
        )
        return PipelineSnapshot(
            source=self.label,
            provider=self.kind,
            runs=tuple(queued + runs),
            deployments=deployments,
            quota=self.health_note(),
        )

    async def _builds_and_requests(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        limit = self.config.runs
        params: dict[str, Any] = {
            "order": "-buildid",
            "limit": limit,
            "property": list(BUILD_PROPERTIES),
        }
        pending = {"complete": "false", "claimed": "false", "order": "-buildrequestid"}
        if self.config.jobs:
            if not set(self.config.jobs) <= set(self._builders.values()):
                await self._ensure_meta(refresh=True)  # added by a reconfig, or a typo
            ids = [self._builder_id(name) for name in self.config.jobs]
            batches = await asyncio.gather(
                *(self._get(f"/builders/{i}/builds", "builds", **params) for i in ids),
                self._get("/buildrequests", "buildrequests", **pending),
            )
            builds = sorted(
                (b for batch in batches[:-1] for b in batch),
                key=lambda b: b.get("buildid") or 0,
                reverse=True,
            )[:limit]
            requests = [r for r in batches[-1] if r.get("builderid") in ids]
        else:
            builds, requests = await asyncio.gather(
                self._get("/builds", "builds", **params),
                self._get("/buildrequests", "buildrequests", **pending),
            )
        return builds, requests[:limit]

    async def _buildsets(self, requests: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
        """The pending requests' buildsets (reason, branch, revision), by id."""
        try:
            sets = await self._get("/buildsets", "buildsets", complete="false")
        except HttpError:
            return {}  # only decoration for queued runs
        wanted = {r.get("buildsetid") for r in requests}
        return {s.get("bsid"): s for s in sets if s.get("bsid") in wanted}

    def _run(self, build: dict[str, Any]) -> PipelineRun:
        return run_from(
            build,
            source=self.label,
            project=self._title or "buildbot",
            builders=self._builders,
            forced=self._schedulers or {},
            www=self.www,
            is_deploy=self.is_deploy,
        )

    def _queued(self, request: dict[str, Any], buildset: dict[str, Any] | None) -> PipelineRun:
        return queued_from(
            request,
            buildset,
            source=self.label,
            project=self._title or "buildbot",
            builders=self._builders,
            www=self.www,
            is_deploy=self.is_deploy,
        )

    def _deployment(self, run: PipelineRun, build: dict[str, Any]) -> VendorDeployment:
        assert run.finished is not None
        return VendorDeployment(
            id=f"build:{run.id}",
            source=self.label,
            service=self.config.service_name,
            environment="production",
            version=run.sha or run.branch or f"build {run.number}",
            at=run.finished,
            result=run.vendor_status,
            url=run.url,
        )

    @staticmethod
    def _build_id(run: PipelineRun) -> int:
        try:
            return int(run.id)
        except ValueError:
            raise SourceError(f"{run.pipeline}: {run.id} is a build request, not a build") from None

    async def fetch_jobs(self, run: PipelineRun) -> list[PipelineJob]:
        if run.id.startswith("req-"):
            return []  # no build yet, so no steps
        steps = await self._get(f"/builds/{self._build_id(run)}/steps", "steps")
        return jobs_from(steps, run)

    async def fetch_log(self, run: PipelineRun, job: PipelineJob) -> str:
        logs = await self._get(f"/steps/{job.id}/logs", "logs")
        if not logs:
            return ""
        log = next((lg for lg in logs if lg.get("slug") == "stdio"), logs[0])
        logid = log.get("logid")
        lines = log.get("num_lines")
        if isinstance(lines, int) and lines > LOG_TAIL_LINES and log.get("type") == "s":
            # Only the end: /contents pages by line; each stdio line starts with its
            # stream letter (o stdout, e stderr, h header), which /raw leaves out.
            chunks = await self._get(
                f"/logs/{logid}/contents",
                "logchunks",
                offset=lines - LOG_TAIL_LINES,
                limit=LOG_TAIL_LINES,
            )
            text = "".join(str(c.get("content", "")) for c in chunks)
            return tail("\n".join(line[1:] for line in text.split("\n")))
        await self._login()
        response = await self.client.request("GET", f"/logs/{logid}/raw")
        return tail(response.text)

    # --- acting -------------------------------------------------------------------

    @staticmethod
    def _request_id(result: Any) -> str:
        """The build request id in a force/rebuild result: [bsid, {builderid: brid}]."""
        try:
            return ", ".join(str(v) for v in result[1].values())
        except (TypeError, IndexError, KeyError, AttributeError):
            return "?"

    async def do_rerun(self, run: PipelineRun, failed_only: bool) -> str:
        self._writable()
        buildid = self._build_id(run)
        result = await self._rpc(f"/builds/{buildid}", "rebuild", {})
        return (
            f"rebuild of {run.pipeline} #{run.number} requested"
            f" (buildrequest {self._request_id(result)})"
        )

    async def do_cancel(self, run: PipelineRun) -> str:
        self._writable()
        reason = "stopped from opsdash"
        if run.id.startswith("req-"):
            brid = run.id.removeprefix("req-")
            await self._rpc(f"/buildrequests/{brid}", "cancel", {"reason": reason})
            return f"build request {brid} of {run.pipeline} cancelled"
        if run.status.finished:
            raise SourceError(f"{run.pipeline} #{run.number} has already finished")
        await self._rpc(f"/builds/{self._build_id(run)}", "stop", {"reason": reason})
        return f"stop of {run.pipeline} #{run.number} requested"

    @property
    def deploy_target(self) -> str:
        if not self.config.deploy:
            return ""
        return f"force scheduler {self.config.deploy} on {self.www}"

    async def do_deploy(self, ref: str) -> str:
        if not self.config.deploy:
            return await super().do_deploy(ref)
        self._writable()
        scheduler = self.config.deploy
        await self._ensure_meta()
        if scheduler not in (self._schedulers or {}):
            await self._ensure_meta(refresh=True)
        names = (self._schedulers or {}).get(scheduler)
        if names is None:
            known = ", ".join(sorted(self._schedulers or {})) or "none"
            raise SourceError(
                f"{self.label}: no force scheduler {scheduler!r} on {self.www}"
                f" (force schedulers: {known})"
            )
        if not names:
            raise SourceError(f"{self.label}: force scheduler {scheduler!r} has no builders")
        builder = names[0]
        params: dict[str, Any] = {
            "builderid": str(self._builder_id(builder)),
            "reason": "deploy from opsdash",
            self.config.ref_parameter or "branch": ref,
            **dict(self.config.deploy_inputs),
        }
        result = await self._rpc(f"/forceschedulers/{scheduler}", "force", params)
        return (
            f"deploy of {ref} requested: {builder} via {scheduler}"
            f" (buildrequest {self._request_id(result)})"
        )
