"""What every CI source (GitHub Actions, GitLab CI, Jenkins, Buildbot) offers.

`poll()` returns a `PipelineSnapshot`. The other methods are blocking too and
are called from worker threads: the run's jobs and a job's log for the details
screen, and the mutating calls behind r / F / c / D. Each provider module maps
its vendor's words onto `RunStatus`; nothing here knows a vendor.
"""

from __future__ import annotations

import abc
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

from opsdash.config import PipelineConfig
from opsdash.model import PipelineJob, PipelineRun, PipelineSnapshot, RunStatus
from opsdash.sources.base import Source, SourceError
from opsdash.sources.http import HttpClient

T = TypeVar("T")
LOG_TAIL_BYTES = 64 * 1024  # a job log's tail: enough for the failure, cheap to fetch


class PipelineSource(Source):
    """A CI system. Subclasses implement the coroutines; the bridge runs them."""

    kind: ClassVar[str]
    # What r, F, c and D mean for this provider, for the confirmation dialog.
    can_rerun_failed: ClassVar[bool] = False

    def __init__(self, config: PipelineConfig, client: HttpClient):
        super().__init__(config.name, config.refresh, config.timeout)
        self.config = config
        self.client = client
        self.read_only = config.read_only

    # --- the bridge -------------------------------------------------------------

    def _sync(self, coro: Coroutine[Any, Any, T]) -> T:
        from opsdash.sources.http import run_sync

        return run_sync(coro, self.client.deadline * 4)

    def poll(self) -> PipelineSnapshot:
        return self._sync(self.fetch())

    def health_note(self) -> str:
        """Shown in the header beside `ok`: the rate limit left, where there is one."""
        return str(self.client.quota)

    def close(self) -> None:
        self.client.close()

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
