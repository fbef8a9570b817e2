"""Pipelines of every CI system in one shape: runs, their jobs, and deploys.

Each source maps its vendor's words onto `RunStatus` and keeps the vendor's own
word in `vendor_status`, so the panel can be uniform and the details honest.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


def elapsed(
    started: datetime | None, finished: datetime | None, now: datetime | None
) -> float | None:
    """Seconds from start to finish, or to `now` while still running."""
    if started is None:
        return None
    end = finished or now
    if end is None:
        return None
    return max(0.0, (end - started).total_seconds())


@dataclass(frozen=True, slots=True)
class PipelineStep:
    name: str
    status: RunStatus
    vendor_status: str = ""
    number: int | None = None
    started: datetime | None = None
    finished: datetime | None = None


@dataclass(frozen=True, slots=True)
class PipelineJob:
    """A job (GitHub, GitLab), stage (Jenkins) or step (Buildbot) of a run."""

    id: str
    name: str
    status: RunStatus
    vendor_status: str = ""
    stage: str = ""
    started: datetime | None = None
    finished: datetime | None = None
    url: str = ""
    steps: tuple[PipelineStep, ...] = ()

    @property
    def key(self) -> str:
        return self.id

    def duration_s(self, now: datetime | None = None) -> float | None:
        return elapsed(self.started, self.finished, now if not self.status.finished else None)


@dataclass(frozen=True, slots=True)
class PipelineRun:
    source: str  # the source's label, e.g. "github:api"
    provider: str  # github, gitlab, jenkins, buildbot
    project: str  # repository, project path, Jenkins job path or Buildbot master
    pipeline: str  # workflow, pipeline name, Jenkins job or Buildbot builder
    id: str  # the vendor's run id, as text
    status: RunStatus
    vendor_status: str = ""  # the vendor's own word(s), e.g. "completed/timed_out"
    number: int | None = None
    branch: str = ""
    sha: str = ""
    message: str = ""  # first line of the commit message (or the build reason)
    actor: str = ""
    event: str = ""  # push, workflow_dispatch, schedule, force, ...
    created: datetime | None = None
    started: datetime | None = None
    finished: datetime | None = None
    url: str = ""
    attempt: int = 1
    is_deploy: bool = False  # a run of the configured deploy workflow/job/pipeline

    @property
    def key(self) -> str:
        return f"{self.source}/{self.id}"

    def duration_s(self, now: datetime | None = None) -> float | None:
        """Ticks while running (pass `now`); fixed once finished."""
        return elapsed(self.started, self.finished, now if not self.status.finished else None)


@dataclass(frozen=True, slots=True)
class VendorDeployment:
    """A deployment the CI system itself reports (GitHub deployments, GitLab
    deployments, or a successful run of the configured deploy job)."""

    id: str  # unique within the source, for deduplication
    source: str
    service: str
    environment: str
    version: str  # commit sha
    at: datetime
    result: str  # success, failed, ...
    url: str = ""


@dataclass(frozen=True, slots=True)
class PipelineSnapshot:
    """One poll of one CI source."""

    source: str
    provider: str
    runs: tuple[PipelineRun, ...] = ()
    deployments: tuple[VendorDeployment, ...] = ()
    quota: str = ""  # remaining rate limit, e.g. "4,980/5,000 left"
