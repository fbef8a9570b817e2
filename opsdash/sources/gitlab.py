"""GitLab CI (REST API v4) as a pipeline source.

A run is a pipeline of one project. The list endpoint is cheap but thin, so
each listed pipeline's details (user, start and finish times) and its commit's
title are fetched as well; both are cached (a pipeline's details by its
`updated_at`, which moves with each status change; commit titles by sha), so an
unchanged poll costs one list request (and one per configured environment's
deployments); a pipeline that moved on costs one more. A first poll (every
cron `snapshot`) reads the titles from one listing of the newest commits.

The configured deploy names a *job*: a successful pipeline (on the deploy
branch, if set) with a successful job of that name is a deploy run, and a
deployment. With `environments`, GitLab's own deployments of those
environments are reported instead (both at once would count each deploy twice).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

from opsdash.model import (
    PipelineJob,
    PipelineRun,
    PipelineSnapshot,
    RunStatus,
    VendorDeployment,
)
from opsdash.sources.base import Detection
from opsdash.sources.checkout import env_token, origin
from opsdash.sources.ci import CiConfig, PipelineSource, first_line, status_from, tail
from opsdash.sources.gitlab_map import STATUSES, deployments_from, jobs_from, parse_time, run_from
from opsdash.sources.http import HttpClient, HttpError, shape_error
from opsdash.sources.settings import option, token_option, url_option

T = TypeVar("T")

PER_PAGE_MAX = 100
TITLES_ONE_BY_ONE = 3  # more unknown commit titles than this: one listing first
CONCURRENCY = 8  # detail/commit/job requests in flight at once per poll


def _dicts(body: Any, method: str, url: str) -> list[dict[str, Any]]:
    """A documented list of objects, or a one-line shape error."""
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise shape_error(method, url, TypeError("expected a list of objects"))
    return body


async def _bounded(semaphore: asyncio.Semaphore, coros: Iterable[Awaitable[T]]) -> list[T]:
    """Run `coros` concurrently, no more at once than `semaphore` allows."""

    async def one(coro: Awaitable[T]) -> T:
        async with semaphore:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coros)))


@dataclass(frozen=True, slots=True, kw_only=True)
class GitLabConfig(CiConfig):
    """One [[gitlab]] table: a project's pipelines."""

    kind: ClassVar[str] = "gitlab"
    token_env: ClassVar[tuple[str, ...]] = ("GITLAB_TOKEN",)
    url: str = url_option("https://gitlab.com", "self-managed: your GitLab's URL")
    project: str = option(required=True, doc="path or numeric id")
    token: str = token_option(token_env, "sent as PRIVATE-TOKEN; ${ENV} reference")
    environments: tuple[str, ...] = option(
        (), doc="also read GitLab deployments of these environments"
    )


class GitLabSource(PipelineSource):
    kind = "gitlab"
    config_class = GitLabConfig
    setup_hint = "inside a GitLab checkout with GITLAB_TOKEN set"

    @classmethod
    def autodetect(cls, detection: Detection) -> tuple[GitLabConfig, ...]:
        """A checkout whose origin is a GitLab host, with GITLAB_TOKEN set."""
        found = origin(detection.cwd)
        if found is None or "gitlab" not in found[0]:
            return ()
        token = env_token(detection.environ, GitLabConfig.token_env)
        if not token:
            return ()
        host, project = found
        name = project.rsplit("/", 1)[-1]
        return (GitLabConfig(name=name, url=f"https://{host}", project=project, token=token),)

    # GitLab's retry reruns only the failed and canceled jobs, which is what F means.
    can_rerun_failed = True

    def __init__(self, config: GitLabConfig, client: HttpClient | None = None):
        self.web = config.url.rstrip("/").removesuffix("/api/v4")
        super().__init__(config, client)
        self.project = config.project
        self.base = f"/projects/{quote(str(config.project), safe='')}"
        # pipeline id -> (updated_at, details) for finished pipelines
        self._details: dict[int, tuple[str, dict[str, Any]]] = {}
        self._titles: dict[str, str] = {}  # sha -> commit title
        # pipeline id -> (updated_at, finish time of its successful deploy job or None)
        self._deploy_jobs: dict[int, tuple[str, datetime | None]] = {}

    def api_url(self) -> str:
        return f"{self.web}/api/v4"

    def headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self.config.token} if self.config.token else {}

    def auth(self) -> None:
        return None  # the token only

    def secrets(self) -> tuple[str, ...]:
        return (self.config.token,)

    # --- reading ------------------------------------------------------------------

    async def fetch(self) -> PipelineSnapshot:
        try:
            return await self._fetch()
        except HttpError as exc:
            if exc.status == 401:
                raise HttpError(
                    f"{exc} (check the token of {self.label}: it needs the read_api scope)",
                    exc.status,
                ) from None
            raise

    async def _fetch(self) -> PipelineSnapshot:
        runs_wanted = self.config.runs
        params: dict[str, Any] = {
            "per_page": min(PER_PAGE_MAX, runs_wanted),
            "order_by": "id",
            "sort": "desc",
        }
        if self.config.branch:
            params["ref"] = self.config.branch
        url = f"{self.base}/pipelines"
        listed = _dicts(await self.client.get_pages(url, params, limit=runs_wanted), "GET", url)
        for item in listed:
            if not isinstance(item.get("id"), int):
                raise shape_error("GET", url, KeyError("pipeline without a numeric id"))

        wanted_deploys = [p for p in listed if self._may_be_deploy(p)]
        shas = sorted({str(p.get("sha")) for p in listed if p.get("sha")})
        use_environments = bool(self.config.environments)
        await self._recent_titles([sha for sha in shas if sha not in self._titles])
        limit = asyncio.Semaphore(CONCURRENCY)
        details_task = _bounded(limit, (self._detail(p) for p in listed))
        titles_task = _bounded(limit, (self._title(sha) for sha in shas))
        deploys_task = _bounded(limit, (self._deploy_job(p) for p in wanted_deploys))
        environments_task = _bounded(
            limit, (self._environment_deployments(name) for name in self.config.environments)
        )
        details, titles, deploy_times, environment_lists = await asyncio.gather(
            details_task, titles_task, deploys_task, environments_task
        )

        title_of = dict(zip(shas, titles, strict=True))
        deploy_at = {p["id"]: at for p, at in zip(wanted_deploys, deploy_times, strict=True) if at}
        runs = [
            self._run(item, detail, title_of.get(str(item.get("sha")), ""), item["id"] in deploy_at)
            for item, detail in zip(listed, details, strict=True)
        ]
        if use_environments:
            deployments = [d for batch in environment_lists for d in batch]
        else:
            deployments = [
                self._pipeline_deployment(run, deploy_at[int(run.id)])
                for run in runs
                if int(run.id) in deploy_at
            ]
        self._prune({p["id"] for p in listed}, set(shas))
        return PipelineSnapshot(
            source=self.label,
            provider=self.kind,
            runs=tuple(runs),
            deployments=tuple(deployments),
            quota=str(self.client.quota),
        )

    def _prune(self, ids: set[int], shas: set[str]) -> None:
        """Keep the caches to what the newest listing still shows."""
        self._details = {k: v for k, v in self._details.items() if k in ids}
        self._deploy_jobs = {k: v for k, v in self._deploy_jobs.items() if k in ids}
        self._titles = {k: v for k, v in self._titles.items() if k in shas}

    async def _detail(self, item: dict[str, Any]) -> dict[str, Any]:
        """The pipeline's details, asked again only when its updated_at moved.

        Not only finished pipelines: one waiting on a manual job, created or
        running keeps its details until its status changes, and every change
        moves updated_at. Caching finished ones only cost a request per such
        pipeline on every poll (15 of 30 on a project with manual deploys)."""
        pipeline_id = item["id"]
        updated = str(item.get("updated_at") or "")
        cached = self._details.get(pipeline_id)
        if cached is not None and cached[0] == updated:
            return cached[1]
        url = f"{self.base}/pipelines/{pipeline_id}"
        try:
            detail = await self.client.get_json(url)
        except HttpError as exc:
            if exc.status == 404:  # deleted between the list and now
                return {}
            raise
        if not isinstance(detail, dict):
            raise shape_error("GET", url, TypeError("expected an object"))
        if updated:  # GitLab moves updated_at with every status change of the pipeline
            self._details[pipeline_id] = (updated, detail)
        return detail

    async def _recent_titles(self, missing: list[str]) -> None:
        """Many titles unknown (a first poll, every cron `snapshot`): one listing
        of the newest commits holds most of them, instead of one request each.
        Best effort: what it lacks (or if it fails) is asked one by one."""
        if len(missing) <= TITLES_ONE_BY_ONE:
            return
        url = f"{self.base}/repository/commits"
        params: dict[str, Any] = {"per_page": PER_PAGE_MAX}
        if self.config.branch:
            params["ref_name"] = self.config.branch
        try:
            commits = await self.client.get_json(url, params)
        except HttpError:
            return
        wanted = set(missing)
        for commit in commits if isinstance(commits, list) else ():
            sha = commit.get("id") if isinstance(commit, dict) else None
            if sha in wanted:
                self._titles[sha] = first_line(commit.get("title") or commit.get("message"))

    async def _title(self, sha: str) -> str:
        """A commit's title (first line), cached per sha; "" if it is gone or hidden."""
        if sha in self._titles:
            return self._titles[sha]
        url = f"{self.base}/repository/commits/{quote(sha, safe='')}"
        try:
            commit = await self.client.get_json(url)
        except HttpError as exc:
            if exc.status not in (403, 404):
                raise
            commit = {}
        title = (
            first_line(commit.get("title") or commit.get("message"))
            if isinstance(commit, dict)
            else ""
        )
        self._titles[sha] = title
        return title

    def _may_be_deploy(self, item: dict[str, Any]) -> bool:
        if not self.config.deploy or item.get("status") != "success":
            return False
        return not self.config.deploy_branch or item.get("ref") == self.config.deploy_branch

    async def _deploy_job(self, item: dict[str, Any]) -> datetime | None:
        """When the pipeline's successful deploy job finished; None if it has none."""
        pipeline_id = item["id"]
        updated = str(item.get("updated_at") or "")
        cached = self._deploy_jobs.get(pipeline_id)
        if cached is not None and cached[0] == updated:
            return cached[1]
        url = f"{self.base}/pipelines/{pipeline_id}/jobs"
        jobs = _dicts(
            await self.client.get_pages(
                url, {"scope[]": "success", "per_page": PER_PAGE_MAX}, limit=1000
            ),
            "GET",
            url,
        )
        at: datetime | None = None
        for job in jobs:
            if job.get("name") == self.config.deploy and job.get("status") == "success":
                at = parse_time(job.get("finished_at")) or parse_time(item.get("updated_at"))
                break
        self._deploy_jobs[pipeline_id] = (updated, at)
        return at

    async def _environment_deployments(self, environment: str) -> list[VendorDeployment]:
        url = f"{self.base}/deployments"
        params = {
            "environment": environment,
            "order_by": "updated_at",
            "sort": "desc",
            "per_page": 20,
        }
        items = _dicts(await self.client.get_json(url, params), "GET", url)
        return deployments_from(
            items, source=self.label, service=self.config.service_name, environment=environment
        )

    def _run(
        self, item: dict[str, Any], detail: dict[str, Any], title: str, is_deploy: bool
    ) -> PipelineRun:
        return run_from(
            item,
            detail,
            source=self.label,
            project=str(self.project),
            web=self.web,
            title=title,
            is_deploy=is_deploy,
        )

    def _pipeline_deployment(self, run: PipelineRun, at: datetime) -> VendorDeployment:
        return VendorDeployment(
            id=f"pipeline:{run.id}",
            source=self.label,
            service=self.config.service_name,
            environment="production",
            version=run.sha or run.branch,
            at=at,
            result="success",
            url=run.url,
        )

    async def fetch_jobs(self, run: PipelineRun) -> list[PipelineJob]:
        url = f"{self.base}/pipelines/{run.id}/jobs"
        jobs = _dicts(
            await self.client.get_pages(url, {"per_page": PER_PAGE_MAX}, limit=1000), "GET", url
        )
        return jobs_from(jobs)

    async def fetch_log(self, run: PipelineRun, job: PipelineJob) -> str:
        response = await self.client.request("GET", f"{self.base}/jobs/{job.id}/trace")
        return tail(response.text)

    # --- acting -------------------------------------------------------------------

    async def _post(self, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.client.request("POST", path, json_body=body)
        reply = self.client.decode(response, "POST", self.client.base_url + path)
        if not isinstance(reply, dict):
            raise shape_error("POST", path, TypeError("expected a pipeline object"))
        return reply

    @staticmethod
    def _title_of(run: PipelineRun) -> str:
        return f"pipeline #{run.number}" if run.number is not None else f"pipeline {run.id}"

    async def do_rerun(self, run: PipelineRun, failed_only: bool) -> str:
        self._writable()
        reply = await self._post(f"{self.base}/pipelines/{run.id}/retry")
        status = str(reply.get("status") or "?")
        if status_from(STATUSES, status, RunStatus.RUNNING).finished:
            return (
                f"{self._title_of(run)} not rerun: GitLab retries only failed or canceled"
                f" jobs and it has none ({status})"
            )
        return (
            f"{self._title_of(run)} retried: GitLab reruns its failed and canceled jobs"
            f" (now {status})"
        )

    async def do_cancel(self, run: PipelineRun) -> str:
        self._writable()
        reply = await self._post(f"{self.base}/pipelines/{run.id}/cancel")
        return f"cancel of {self._title_of(run)} requested (now {reply.get('status') or '?'})"

    @property
    def deploy_target(self) -> str:
        if not self.config.deploy:
            return ""
        return f"pipeline on {self.project} (job {self.config.deploy})"

    async def do_deploy(self, ref: str) -> str:
        if not self.config.deploy:
            return await super().do_deploy(ref)
        self._writable()
        body: dict[str, Any] = {"ref": ref}
        if self.config.deploy_inputs:
            body["variables"] = [
                {"key": key, "value": str(value), "variable_type": "env_var"}
                for key, value in self.config.deploy_inputs
            ]
        reply = await self._post(f"{self.base}/pipeline", body)
        number = reply.get("iid", reply.get("id", "?"))
        return f"pipeline #{number} created on {ref}"
