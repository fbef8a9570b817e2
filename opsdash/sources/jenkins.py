"""Jenkins (remote access API) as a pipeline source.

A run is a build of one of the configured jobs (paths like ``folder/app``,
i.e. ``/job/folder/job/app``). One `tree=` request per job reads its newest
builds with their causes, revision and changes, all jobs at once. A run's jobs
are its Pipeline stages when the Pipeline Stage View plugin answers
``wfapi/describe``, else the build itself. The configured deploy is a job path:
its successful builds (on the deploy branch, if set) are deployments.

Authentication is HTTP Basic with user and API token, which Jenkins exempts
from CSRF; with a password instead, a POST refused for want of a crumb is sent
again once with one from ``/crumbIssuer``. Jenkins has no rate limits or ETags.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from opsdash.model import (
    PipelineJob,
    PipelineRun,
    PipelineSnapshot,
    RunStatus,
    VendorDeployment,
)
from opsdash.redact import clip
from opsdash.sources.base import SourceError
from opsdash.sources.ci import CiConfig, PipelineSource, first_line, tail
from opsdash.sources.http import HttpClient, HttpError, shape_error
from opsdash.sources.jenkins_map import actions_of, job_url, jobs_from, run_from, tree_query
from opsdash.sources.lazy_module import lazy
from opsdash.sources.settings import option

if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy("httpx")  # loaded on first use (opsdash.sources.lazy_module)

POST_OK = (200, 201, 202, 204, 302, 303, 403)  # 403: maybe a missing crumb, handled here
QUEUE_ITEM = re.compile(r"/queue/item/(\d+)/?")


@dataclass(frozen=True, slots=True, kw_only=True)
class JenkinsConfig(CiConfig):
    """One [[jenkins]] table: the builds of some jobs."""

    kind: ClassVar[str] = "jenkins"
    jobs: tuple[str, ...] = option(
        (), required='is required, e.g. ["folder/app"]', doc='job paths, folders with "/"'
    )
    user: str = option("", doc="the user of the API token")
    ref_parameter: str = option("", doc="the build parameter that carries the ref D asks for")


class JenkinsSource(PipelineSource):
    kind = "jenkins"
    config_class = JenkinsConfig
    queue_tries = 6  # queue item checks after a trigger (Jenkins' quiet period is 5 s)
    queue_interval = 1.0

    def __init__(self, config: JenkinsConfig, client: HttpClient | None = None):
        self.root = config.url.rstrip("/")
        super().__init__(config, client)
        self._crumb: dict[str, str] = {}

    def api_url(self) -> str:
        return self.root

    def headers(self) -> dict[str, str]:
        return {}  # an API token goes as the Basic auth password

    def auth(self) -> tuple[str, str] | None:
        secret = self.config.token or self.config.password
        return (self.config.user, secret) if self.config.user else None

    @property
    def job_paths(self) -> tuple[str, ...]:
        """The configured jobs, plus the deploy job (its builds are the deployments)."""
        jobs = tuple(j.strip("/") for j in self.config.jobs)
        deploy = self.config.deploy.strip("/")
        return jobs + ((deploy,) if deploy and deploy not in jobs else ())

    # --- reading ------------------------------------------------------------------

    async def fetch(self) -> PipelineSnapshot:
        jobs = self.job_paths
        bodies = await asyncio.gather(*(self._job(path) for path in jobs))
        runs: list[PipelineRun] = []
        deployments: list[VendorDeployment] = []
        for path, builds in zip(jobs, bodies, strict=True):
            for build in builds:
                run = self._run(path, build)
                runs.append(run)
                if run.is_deploy and run.status is RunStatus.SUCCESS and run.finished:
                    deployments.append(self._deployment(run))
        epoch = datetime.min.replace(tzinfo=datetime.now().astimezone().tzinfo)
        runs.sort(key=lambda r: (r.started or epoch, r.number or 0), reverse=True)
        return PipelineSnapshot(
            source=self.label,
            provider=self.kind,
            runs=tuple(runs[: max(self.config.runs, 1)]),
            deployments=tuple(deployments),
            quota="",
        )

    async def _job(self, path: str) -> list[dict[str, Any]]:
        url = f"{job_url(path)}/api/json"
        body = await self.client.get_json(url, {"tree": tree_query(self.config.runs)})
        if not isinstance(body, dict):
            raise shape_error("GET", self.root + url, TypeError("expected a job object"))
        builds = body.get("builds")
        if builds is None:  # a job that never ran still has "builds": []
            kind = str(body.get("_class") or "it").rsplit(".", 1)[-1]
            raise SourceError(
                f"{self.label}: {path} has no builds ({kind}); for a folder or multibranch"
                f" project, configure its jobs, e.g. {path}/main"
            )
        if not isinstance(builds, list):
            raise shape_error("GET", self.root + url, TypeError("builds is not a list"))
        return [b for b in builds if isinstance(b, dict) and isinstance(b.get("number"), int)]

    def _run(self, path: str, build: dict[str, Any]) -> PipelineRun:
        return run_from(path, build, source=self.label, root=self.root, is_deploy=self.is_deploy)

    def is_deploy(self, pipeline: str, branch: str) -> bool:
        deploy = self.config.deploy.strip("/")
        if not deploy or pipeline != deploy:
            return False
        return not self.config.deploy_branch or branch == self.config.deploy_branch

    def _deployment(self, run: PipelineRun) -> VendorDeployment:
        assert run.finished is not None
        return VendorDeployment(
            id=f"build:{run.id}",
            source=self.label,
            service=self.config.service_name,
            environment="production",
            version=run.sha or run.branch or f"build {run.number}",
            at=run.finished,
            result="success",
            url=run.url,
        )

    @staticmethod
    def _build_path(run: PipelineRun) -> str:
        if run.number is None:
            raise SourceError(f"{run.pipeline}: {run.id} is not a build")
        return f"{job_url(run.pipeline)}/{run.number}"

    async def fetch_jobs(self, run: PipelineRun) -> list[PipelineJob]:
        url = f"{self._build_path(run)}/wfapi/describe"
        try:
            body = await self.client.get_json(url)
        except HttpError as exc:
            if exc.status != 404:
                raise
            body = None  # not a Pipeline job, or no Stage View plugin
        return jobs_from(body, run)

    async def fetch_log(self, run: PipelineRun, job: PipelineJob) -> str:
        """The build's console (a stage's own log would miss its nested steps)."""
        response = await self.client.request("GET", f"{self._build_path(run)}/consoleText")
        return tail(response.text)

    # --- acting -------------------------------------------------------------------

    async def _post(
        self, path: str, data: dict[str, str] | None = None, retry: bool = True
    ) -> httpx.Response:
        """POST with the crumb if one was needed; a 'No valid crumb' 403 gets one, once."""
        response = await self.client.request(
            "POST", path, data=data, headers=self._crumb or None, ok=POST_OK
        )
        if response.status_code != 403:
            return response
        if retry and "crumb" in response.text.lower():
            self._crumb = await self._fetch_crumb()
            if self._crumb:
                return await self._post(path, data, retry=False)
        text = clip(re.sub(r"<[^>]+>", " ", clip(response.text, 4000)), 160)
        raise HttpError(
            self.client.redact(f"POST {path}: HTTP 403 Forbidden" + (f": {text}" if text else "")),
            403,
        )

    async def _fetch_crumb(self) -> dict[str, str]:
        """{field: crumb} from the crumb issuer; {} when CSRF protection is off."""
        try:
            body = await self.client.get_json("/crumbIssuer/api/json")
        except HttpError as exc:
            if exc.status == 404:
                return {}
            raise
        if not isinstance(body, dict) or not body.get("crumb"):
            return {}
        return {str(body.get("crumbRequestField") or "Jenkins-Crumb"): str(body["crumb"])}

    async def _parameters(self, run: PipelineRun) -> dict[str, str]:
        """The build's parameters, to run it again with the same ones."""
        url = f"{self._build_path(run)}/api/json"
        body = await self.client.get_json(url, {"tree": "actions[parameters[name,value]]"})
        params: dict[str, str] = {}
        for action in actions_of(body) if isinstance(body, dict) else []:
            for param in action.get("parameters") or []:
                if not isinstance(param, dict) or not param.get("name"):
                    continue
                value = param.get("value")
                if value is None or isinstance(value, dict | list):
                    continue  # passwords and files are not exported; Jenkins uses defaults
                params[str(param["name"])] = (
                    str(value).lower() if isinstance(value, bool) else str(value)
                )
        return params

    async def _trigger(self, path: str, params: dict[str, str] | None) -> str:
        """Start a build of the job at `path`; follow its queue item briefly."""
        endpoint = f"{job_url(path)}/{'buildWithParameters' if params else 'build'}"
        response = await self._post(endpoint, params)
        location = response.headers.get("location", "")
        match = QUEUE_ITEM.search(location)
        if response.status_code not in (201, 303) or match is None:
            return f"build of {path} requested (HTTP {response.status_code})"
        item = match.group(1)
        why = ""
        for attempt in range(self.queue_tries):
            if attempt:
                await asyncio.sleep(self.queue_interval)
            try:
                body = await self.client.get_json(f"/queue/item/{item}/api/json")
            except HttpError as exc:
                if exc.status == 404:
                    break  # dropped from the queue: it started a while ago
                raise
            if not isinstance(body, dict):
                break
            if body.get("cancelled"):
                raise SourceError(f"build of {path} was cancelled in the queue (item {item})")
            executable = body.get("executable")
            if isinstance(executable, dict) and isinstance(executable.get("number"), int):
                return f"build #{executable['number']} of {path} started"
            why = first_line(str(body.get("why") or ""), 120)
        return f"build of {path} queued (item {item}{': ' + why if why else ''})"

    async def do_rerun(self, run: PipelineRun, failed_only: bool) -> str:
        self._writable()
        self._build_path(run)
        params = await self._parameters(run)
        return await self._trigger(run.pipeline, params)

    async def do_cancel(self, run: PipelineRun) -> str:
        self._writable()
        if run.status.finished:
            raise SourceError(f"{run.pipeline} #{run.number} has already finished")
        await self._post(f"{self._build_path(run)}/stop")
        return f"stop of {run.pipeline} #{run.number} requested"

    @property
    def deploy_target(self) -> str:
        if not self.config.deploy:
            return ""
        return f"job {self.config.deploy.strip('/')} on {self.root}"

    async def do_deploy(self, ref: str) -> str:
        if not self.config.deploy:
            return await super().do_deploy(ref)
        self._writable()
        params = dict(self.config.deploy_inputs)
        if self.config.ref_parameter:
            params[self.config.ref_parameter] = ref
        return await self._trigger(self.config.deploy.strip("/"), params or None)
