"""What every CI source (GitHub Actions, GitLab CI, Jenkins, Buildbot) offers.

`poll()` returns a `PipelineSnapshot`. The other methods are blocking too and
are called from worker threads: the run's jobs and a job's log for the details
screen, and the mutating calls behind r / F / c / D. Each provider module maps
its vendor's words onto `RunStatus`; nothing here knows a vendor.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import ClassVar

from opsdash.model import PipelineJob, PipelineRun, PipelineSnapshot, RunStatus
from opsdash.sources.base import DEFAULT_REMOTE_REFRESH, DEFAULT_TIMEOUT, SourceError
from opsdash.sources.http import HttpClient
from opsdash.sources.http_source import HttpSource

LOG_TAIL_BYTES = 64 * 1024  # a job log's tail: enough for the failure, cheap to fetch


@dataclass(frozen=True, slots=True, kw_only=True)
class CiConfig:
    """What every CI table ([[github]], [[gitlab]], [[jenkins]], [[buildbot]]) holds;
    each provider's module subclasses it with its `kind` and its own keys."""

    kind: ClassVar[str]
    name: str
    url: str  # API base URL (GitHub Enterprise: https://host/api/v3)
    project: str = ""  # GitHub owner/repo, GitLab group/project (or numeric id)
    jobs: tuple[str, ...] = ()  # GitHub workflows, Jenkins job paths, Buildbot builders
    branch: str = ""  # show only runs of this branch
    token: str = field(default="", repr=False)
    user: str = ""
    password: str = field(default="", repr=False)
    deploy: str = ""  # the deploy workflow / job / Buildbot force scheduler
    deploy_branch: str = ""  # its successful runs here are deployments; D's default ref
    deploy_inputs: tuple[tuple[str, str], ...] = ()  # inputs / variables / parameters
    ref_parameter: str = ""  # Jenkins parameter (Buildbot field) that carries the ref
    environments: tuple[str, ...] = ()  # GitHub/GitLab deployments of these environments
    service: str = ""  # what the deployments deploy (DORA); default: project or name
    ca_bundle: str = ""
    runs: int = 30  # newest runs shown
    read_only: bool = False
    refresh: float = DEFAULT_REMOTE_REFRESH
    timeout: float = DEFAULT_TIMEOUT

    @property
    def provider(self) -> str:
        return self.kind

    @property
    def service_name(self) -> str:
        return self.service or self.project or self.name


class PipelineSource(HttpSource):
    """A CI system. Subclasses implement the coroutines; the bridge runs them."""

    kind: ClassVar[str]
    feeds = PipelineSnapshot
    # What r, F, c and D mean for this provider, for the confirmation dialog.
    can_rerun_failed: ClassVar[bool] = False
    can_rerun_running: ClassVar[bool] = True

    config: CiConfig

    def __init__(self, config: CiConfig, client: HttpClient | None = None):
        super().__init__(config, client)

    def poll(self) -> PipelineSnapshot:
        return self._sync(self.fetch())

    # --- reading ----------------------------------------------------------------

    @abc.abstractmethod
    async def fetch(self) -> PipelineSnapshot:
        """The newest runs (and vendor deployments when configured)."""

    @abc.abstractmethod
    async def fetch_jobs(self, run: PipelineRun) -> list[PipelineJob]:
        """The run's jobs (stages, steps) with their status and times."""

    @abc.abstractmethod
    async def fetch_log(self, run: PipelineRun, job: PipelineJob) -> str:
        """The tail of one job's log, as plain text (rendered literally by the UI)."""

    def jobs(self, run: PipelineRun) -> list[PipelineJob]:
        return self._sync(self.fetch_jobs(run))

    def log_tail(self, run: PipelineRun, job: PipelineJob) -> str:
        return self._sync(self.fetch_log(run, job))

    # --- acting -----------------------------------------------------------------

    @property
    def deploy_target(self) -> str:
        """What D triggers, in words; "" when no deploy is configured."""
        return ""

    @property
    def default_ref(self) -> str:
        return self.config.deploy_branch or self.config.branch or "main"

    async def do_rerun(self, run: PipelineRun, failed_only: bool) -> str:
        raise SourceError(f"{self.kind} cannot rerun runs from opsdash")

    async def do_cancel(self, run: PipelineRun) -> str:
        raise SourceError(f"{self.kind} cannot cancel runs from opsdash")

    async def do_deploy(self, ref: str) -> str:
        raise SourceError(f"no deploy is configured for {self.label}")

    def rerun(self, run: PipelineRun, failed_only: bool = False) -> str:
        """Returns one line saying what happened (e.g. "build #13 queued")."""
        return self._sync(self.do_rerun(run, failed_only))

    def cancel(self, run: PipelineRun) -> str:
        return self._sync(self.do_cancel(run))

    def deploy(self, ref: str) -> str:
        return self._sync(self.do_deploy(ref))

    # --- helpers for providers ----------------------------------------------------

    def _writable(self) -> None:
        """A backstop for the UI's refusal: a read-only source never sends a mutation."""
        if self.read_only:
            raise SourceError(f"{self.label} is read-only")

    def is_deploy(self, pipeline: str, branch: str) -> bool:
        """A run of the configured deploy workflow/job (on the deploy branch, if set)."""
        deploy = self.config.deploy
        if not deploy or (pipeline != deploy and not pipeline.endswith(f"/{deploy}")):
            return False
        return not self.config.deploy_branch or branch == self.config.deploy_branch


def status_from(mapping: dict[str, RunStatus], word: str | None, default: RunStatus) -> RunStatus:
    """Map a vendor word, case-insensitively; unknown words fall back to `default`."""
    return mapping.get((word or "").lower(), default)


def first_line(text: str | None, width: int = 200) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line[:width]


def tail(text: str, limit: int = LOG_TAIL_BYTES) -> str:
    """The last `limit` characters, cut at a line start."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    newline = cut.find("\n")
    return cut[newline + 1 :] if newline >= 0 else cut
