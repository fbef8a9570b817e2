"""GitHub Actions: workflow runs, their jobs and logs, reruns, cancels, dispatches.

Reads `GET /repos/{owner}/{repo}/actions/runs` (or the runs of each configured
workflow) with conditional requests, so an unchanged poll is a 304 that does
not count against the rate limit. Deployments are the successful runs of the
configured deploy workflow and, when environments are configured, GitHub's own
deployments of those environments with their latest status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urljoin, urlsplit

from opsdash.model import (
    PipelineJob,
    PipelineRun,
    PipelineSnapshot,
    RunStatus,
    VendorDeployment,
)
from opsdash.redact import clip
from opsdash.sources.base import Detection, SourceError
from opsdash.sources.checkout import env_token, origin
from opsdash.sources.ci import (
    LOG_TAIL_BYTES,
    CiConfig,
    PipelineSource,
    tail,
)
from opsdash.sources.github_map import (
    deployment_from,
    job_from,
    map_status,  # noqa: F401 - part of this module's interface
    parse_time,
    run_deployment,
    run_from,
)
from opsdash.sources.http import (
    USER_AGENT,
    HttpClient,
    HttpError,
    shape_error,
    ssl_context,
)
from opsdash.sources.lazy_module import lazy
from opsdash.sources.settings import Invalid, option, token_option, url_option

if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy("httpx")  # loaded on first use (opsdash.sources.lazy_module)

DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
DEPLOYMENTS_PER_PAGE = 100  # GitHub's largest page
HISTORY_DAYS = 90  # how far back deployments are read: the longest DORA window
MAX_DEPLOYMENT_PAGES = 50  # a bound on one poll's reading, whatever the server says
STATUS_REQUESTS_AT_ONCE = 8  # GitHub asks for few concurrent requests (secondary limits)


def owner_name(value: str) -> str:
    if value.count("/") != 1:
        raise Invalid(f'must be "owner/name", not {value!r}')
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class GitHubConfig(CiConfig):
    """One [[github]] table: a repository's workflow runs."""

    kind: ClassVar[str] = "github"
    token_env: ClassVar[tuple[str, ...]] = ("GITHUB_TOKEN", "GH_TOKEN")
    url: str = url_option(DEFAULT_API, "GitHub Enterprise: https://github.example.com/api/v3")
    project: str = option(toml="repo", required=True, check=owner_name, doc="owner/name")
    jobs: tuple[str, ...] = option(
        (), toml="workflows", doc="only these workflows (file name or id)", default_doc="all"
    )
    token: str = token_option(token_env)
    environments: tuple[str, ...] = option(
        (), doc="also read GitHub deployments of these environments and their statuses"
    )


class GitHubSource(PipelineSource):
    kind = "github"
    config_class = GitHubConfig
    setup_hint = "run opsdash inside a GitHub checkout with GITHUB_TOKEN set"
    can_rerun_failed = True
    can_rerun_running = False  # a run in progress must end (or be cancelled) first

    @classmethod
    def autodetect(cls, detection: Detection) -> tuple[GitHubConfig, ...]:
        """A github.com checkout with GITHUB_TOKEN (or GH_TOKEN) set shows its runs."""
        found = origin(detection.cwd)
        if found is None or found[0] != "github.com" or found[1].count("/") != 1:
            return ()
        token = env_token(detection.environ, GitHubConfig.token_env)
        if not token:
            return ()
        project = found[1]
        return (GitHubConfig(name=project.rsplit("/", 1)[-1], project=project, token=token),)

    def __init__(self, config: GitHubConfig, client: HttpClient | None = None):
        super().__init__(config, client)
        self.repo = config.project.strip().strip("/")
        # Settled deployments by vendor id ("deployment:<id>"): their status is final.
        self._settled: dict[str, VendorDeployment] = {}
        # The vendor ids the store already holds for this source (set by whoever
        # built the source with a store): what an earlier run recorded is not read again.
        self.recorded: Callable[[], Collection[str]] | None = None
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # tests replay a date

    def api_url(self) -> str:
        return self.config.url or DEFAULT_API

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        return headers

    def auth(self) -> None:
        return None  # the token only

    def secrets(self) -> tuple[str, ...]:
        return (self.config.token,)

    # --- paths and errors -------------------------------------------------------

    @property
    def _base(self) -> str:
        owner, _, name = self.repo.partition("/")
        if not owner or not name or "/" in name:
            raise SourceError(f'{self.label}: project must be "owner/repo", not {self.repo!r}')
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    def _shape(self, method: str, path: str, exc: BaseException) -> HttpError:
        """A body that decoded but is not what GitHub documents: one line, no secret."""
        return HttpError(clip(shape_error(method, path, exc), 300))

    # --- reading ------------------------------------------------------------------

    async def fetch(self) -> PipelineSnapshot:
        base = self._base
        limit = max(1, self.config.runs)
        params: dict[str, Any] = {"per_page": min(limit, 100)}
        if self.config.branch:
            params["branch"] = self.config.branch
        queries = [(f"{base}/actions/runs", params)]
        if self.config.jobs:
            queries = [(self._workflow_runs(base, wf), params) for wf in self.config.jobs]
            deploy = self.config.deploy
            if deploy and deploy not in self.config.jobs:
                # Its successful runs are deployments: read them too, on the deploy branch.
                branch = self.config.deploy_branch or self.config.branch
                deploy_params = {**params, "branch": branch} if branch else params
                queries.append((self._workflow_runs(base, deploy), deploy_params))
        paths = [path for path, _params in queries]

        def items(body: Any) -> list[Any]:
            return body["workflow_runs"]

        pages = await asyncio.gather(
            *(
                self.client.get_pages(path, query, items=items, limit=limit, conditional=True)
                for path, query in queries
            )
        )
        runs: dict[str, PipelineRun] = {}
        for path, page in zip(paths, pages, strict=True):
            for raw in page:
                try:
                    run = self._run(raw)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise self._shape("GET", path, exc) from None
                if run.id not in runs:
                    runs[run.id] = run
        newest = sorted(
            runs.values(),
            key=lambda r: (r.created or datetime.min.replace(tzinfo=UTC), int(r.id or 0)),
            reverse=True,
        )
        deployments = [
            self._run_deployment(r) for r in newest if r.is_deploy and r.status is RunStatus.SUCCESS
        ]
        if self.config.environments:
            deployments += await self._environment_deployments(base)
        return PipelineSnapshot(
            source=self.label,
            provider=self.kind,
            runs=tuple(newest[:limit]),
            deployments=tuple(deployments),
            quota=str(self.client.quota),
        )

    @staticmethod
    def _workflow_runs(base: str, workflow: str) -> str:
        return f"{base}/actions/workflows/{quote(workflow, safe='')}/runs"

    def _run(self, raw: dict[str, Any]) -> PipelineRun:
        return run_from(raw, source=self.label, project=self.repo, is_deploy=self._is_deploy_run)

    def _is_deploy_run(self, path: str, workflow_id: Any, branch: str) -> bool:
        """The deploy workflow, named by file name, path or numeric id."""
        names = [path.rsplit("/", 1)[-1], path]
        if workflow_id is not None:
            names.append(str(workflow_id))
        return any(name and self.is_deploy(name, branch) for name in names)

    @property
    def _environment(self) -> str:
        return self.config.environments[0] if self.config.environments else "production"

    def _run_deployment(self, run: PipelineRun) -> VendorDeployment:
        return run_deployment(run, self.config.service_name, self._environment)

    async def _environment_deployments(self, base: str) -> list[VendorDeployment]:
        """The settled deployments of the configured environments, back to the
        start of the longest DORA window.

        GitHub lists deployments newest first, a page at a time with `Link
        rel="next"`. Pages are followed until one reaches past HISTORY_DAYS or
        holds only deployments already known (settled here, or recorded in the
        store by an earlier run): a first start or a restart after downtime reads
        back as far as it must, an unchanged poll reads one page (a 304). A
        settled deployment's status is read once; only the ones still under way
        are asked again.
        """
        path = f"{base}/deployments"
        lists = await asyncio.gather(
            *(self._deployments_of(path, env) for env in self.config.environments)
        )
        found = [d for deployments in lists for d in deployments]
        gate = asyncio.Semaphore(STATUS_REQUESTS_AT_ONCE)

        async def latest(deployment: dict[str, Any]) -> VendorDeployment | None:
            try:
                deployment_id = int(deployment["id"])
            except (KeyError, TypeError, ValueError) as exc:
                raise self._shape("GET", path, exc) from None
            status_path = f"{path}/{deployment_id}/statuses"
            async with gate:
                statuses = await self.client.get_json(
                    status_path, {"per_page": 1}, conditional=True
                )
            try:
                return self._deployment(deployment, statuses[0] if statuses else None)
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                raise self._shape("GET", status_path, exc) from None

        results = await asyncio.gather(*(latest(d) for d in found))
        for deployment in results:
            if deployment is not None:
                self._settled[deployment.id] = deployment
        oldest = self.clock() - timedelta(days=HISTORY_DAYS)
        self._settled = {k: v for k, v in self._settled.items() if v.at >= oldest}
        return sorted(self._settled.values(), key=lambda d: d.at, reverse=True)

    async def _deployments_of(self, path: str, environment: str) -> list[dict[str, Any]]:
        """The deployments of one environment whose status must be read."""
        oldest = self.clock() - timedelta(days=HISTORY_DAYS)
        recorded: Collection[str] | None = None
        unknown: list[dict[str, Any]] = []
        url: str | None = path
        params: dict[str, Any] | None = {
            "environment": environment,
            "per_page": DEPLOYMENTS_PER_PAGE,
        }
        for _page in range(MAX_DEPLOYMENT_PAGES):
            if url is None:
                break
            body, url = await self.client.get_page(url, params, conditional=True)
            params = None  # the next URL carries them
            if not isinstance(body, list):
                raise self._shape("GET", path, TypeError("expected a list"))
            fresh = 0
            for raw in body:
                try:
                    vendor_id = f"deployment:{int(raw['id'])}"
                    created = parse_time(raw["created_at"])
                except (KeyError, TypeError, ValueError) as exc:
                    raise self._shape("GET", path, exc) from None
                if created is not None and created < oldest:
                    url = None  # older than the longest window: the rest is too
                    continue
                if vendor_id in self._settled:
                    continue
                if recorded is None:  # read once per poll, and only when needed
                    recorded = self.recorded() if self.recorded is not None else ()
                if vendor_id in recorded:
                    continue
                fresh += 1
                unknown.append(raw)
            if not fresh:
                break  # a page of known deployments: what follows is known too
        return unknown

    def _deployment(
        self, raw: dict[str, Any], status: dict[str, Any] | None
    ) -> VendorDeployment | None:
        return deployment_from(raw, status, source=self.label, service=self.config.service_name)

    async def fetch_jobs(self, run: PipelineRun) -> list[PipelineJob]:
        path = f"{self._base}/actions/runs/{quote(run.id, safe='')}/jobs"
        jobs = await self.client.get_pages(
            path,
            {"filter": "latest", "per_page": 100},
            items=lambda body: body["jobs"],
            limit=1000,
            conditional=True,
        )
        try:
            return [job_from(raw) for raw in jobs]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._shape("GET", path, exc) from None

    async def fetch_log(self, run: PipelineRun, job: PipelineJob) -> str:
        path = f"{self._base}/actions/jobs/{quote(job.id, safe='')}/logs"
        response = await self.client.request("GET", path, ok=(200, 302))
        if response.status_code == 200:
            return tail(response.text)
        location = response.headers.get("location")
        if not location:
            raise HttpError(f"GET {path}: redirect without a Location", 302)
        return await self._download(urljoin(str(response.request.url), location))

    async def _download(self, url: str) -> str:
        """The pre-signed log URL: no Authorization header may go there."""
        where = f"GET {urlsplit(url).path[:80] or '/'}"  # never the query: it is the signature
        verify = ssl_context(self.config.ca_bundle) if url.startswith("https") else True
        keep = LOG_TAIL_BYTES * 4  # bytes, so multi-byte text still fills the tail
        data = bytearray()
        try:
            async with (
                httpx.AsyncClient(
                    headers={"User-Agent": USER_AGENT},
                    verify=verify,
                    timeout=httpx.Timeout(self.config.timeout, connect=min(self.config.timeout, 5)),
                    follow_redirects=True,
                    max_redirects=3,
                ) as plain,
                plain.stream("GET", url) as response,
            ):
                if response.status_code != 200:
                    raise HttpError(
                        f"{where}: HTTP {response.status_code} {response.reason_phrase}",
                        response.status_code,
                    )
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > 2 * keep:
                        del data[:-keep]
        except httpx.TimeoutException:
            raise HttpError(f"{where}: no answer within {self.config.timeout:g}s") from None
        except httpx.HTTPError as exc:
            reason = clip(exc, 120) or type(exc).__name__
            raise HttpError(
                self.client.redact(f"{where}: cannot download the log: {reason}")
            ) from None
        return tail(bytes(data[-keep:]).decode("utf-8", errors="replace"))

    # --- acting -------------------------------------------------------------------

    @staticmethod
    def _name(run: PipelineRun) -> str:
        return f"{run.pipeline} #{run.number if run.number is not None else run.id}"

    async def do_rerun(self, run: PipelineRun, failed_only: bool) -> str:
        self._writable()
        action = "rerun-failed-jobs" if failed_only else "rerun"
        path = f"{self._base}/actions/runs/{quote(run.id, safe='')}/{action}"
        await self.client.request("POST", path, ok=(201,))
        what = "failed jobs of " if failed_only else ""
        return f"{what}{self._name(run)} queued again"

    async def do_cancel(self, run: PipelineRun) -> str:
        self._writable()
        path = f"{self._base}/actions/runs/{quote(run.id, safe='')}/cancel"
        try:
            await self.client.request("POST", path, ok=(202,))
        except HttpError as exc:
            if exc.status == 409:
                number = run.number if run.number is not None else run.id
                raise HttpError(f"run #{number} is already finished", 409) from None
            raise
        return f"cancelling {self._name(run)}"

    @property
    def deploy_target(self) -> str:
        return f"workflow {self.config.deploy} on {self.repo}" if self.config.deploy else ""

    async def do_deploy(self, ref: str) -> str:
        if not self.config.deploy:
            return await super().do_deploy(ref)
        self._writable()
        ref = ref.strip() or self.default_ref
        body: dict[str, Any] = {"ref": ref}
        if self.config.deploy_inputs:
            body["inputs"] = dict(self.config.deploy_inputs)
        workflow = quote(self.config.deploy, safe="")
        path = f"{self._base}/actions/workflows/{workflow}/dispatches"
        await self.client.request("POST", path, json_body=body, ok=(204,))
        return f"workflow {self.config.deploy} dispatched on {ref}"
