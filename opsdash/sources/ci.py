"""What every CI source (GitHub Actions, GitLab CI, Jenkins, Buildbot) offers.

`poll()` returns a `PipelineSnapshot`. The other methods are blocking too and
are called from worker threads: the run's jobs and a job's log for the details
screen, and the mutating calls behind r / F / c / D. Each provider module maps
its vendor's words onto `RunStatus`; nothing here knows a vendor.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar

from opsdash.model import PipelineJob, PipelineRun, PipelineSnapshot, RunStatus
from opsdash.sources.base import DEFAULT_REMOTE_REFRESH, DEFAULT_TIMEOUT, SourceError
from opsdash.sources.http import HttpClient
from opsdash.sources.http_source import HttpSource
from opsdash.sources.settings import ca_bundle, fixed, http_url, option

LOG_TAIL_BYTES = 64 * 1024  # a job log's tail: enough for the failure, cheap to fetch


@dataclass(frozen=True, slots=True, kw_only=True)
class CiConfig:
    """What every CI table ([[github]], [[gitlab]], [[jenkins]], [[buildbot]]) holds;
    each provider's module subclasses it with its `kind` and its own keys (a field
    that is `fixed` here is a key only where a provider declares it again)."""

    kind: ClassVar[str]
    name: str = option(
        doc="shown in the header and the SOURCE column; unique",
        default_doc="the repository's (project's) last part, else the kind",
    )
    url: str = option(doc="the API base URL", check=http_url)
    project: str = fixed("")  # GitHub owner/repo, GitLab group/project (or numeric id)
    jobs: tuple[str, ...] = fixed(())  # GitHub workflows, Jenkins job paths, Buildbot builders
    branch: str = option("", doc="show only runs of this branch")
    token: str = option("", doc="${ENV} reference; never shown, logged or audited", secret=True)
    user: str = fixed("")
    password: str = fixed("", secret=True)
    deploy: str = option("", doc="what D triggers and what counts as a deployment")
    deploy_branch: str = option(
        "", doc="successful deploy runs on this branch are deployments; D's default ref"
    )
    deploy_inputs: tuple[tuple[str, str], ...] = option(
        (), doc='workflow inputs / pipeline variables / build parameters, e.g. { env = "prod" }'
    )
    ref_parameter: str = fixed("")  # Jenkins parameter (Buildbot field) that carries the ref
    environments: tuple[str, ...] = fixed(())  # GitHub/GitLab deployments of these environments
    service: str = option(
        "",
        doc="the service its deployments deploy (DORA keys)",
        default_doc="the project, else the name",
    )
    ca_bundle: str = option(
        "", doc="PEM file of CAs to trust instead of the system ones", check=ca_bundle
    )
    runs: int = option(30, doc="newest runs shown")
    read_only: bool = option(False, doc="refuse r, F, c and D on this source")
    refresh: float = option(DEFAULT_REMOTE_REFRESH, doc="seconds between polls")
    timeout: float = option(DEFAULT_TIMEOUT, doc="seconds one request may take")

    @classmethod
    def default_name(cls, index: int, values: dict[str, Any]) -> str:
        """The repository's (project's) last part, else the kind; numbered from the second."""
        project = values.get("project") or ""
        name = project.rsplit("/", 1)[-1] if project else cls.kind
        return name if not index else f"{name}{index}"

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
