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
    attempt: int = 1  # the try shown (Airflow's try_number); its log is of this try
    attempts: int = 1  # how many tries there were: the log screen steps between them
    operator: str = ""  # what runs it: an Airflow operator, a Kubeflow component

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
    # The vendor's id of the pipeline when it is not its name (a Kubeflow
    # pipeline version id); "" when `pipeline` is the id (an Airflow dag_id).
    pipeline_id: str = ""
    # Parameters the run was started with (Airflow conf, Kubeflow runtime
    # parameters), values as JSON text; shown literally, secrets redacted.
    parameters: tuple[tuple[str, str], ...] = ()
    # What came out beyond pass/fail, for the run row: a TFX run's evaluator
    # blessing and pusher outcome ("blessed · pushed"); "" when not known.
    verdict: str = ""
    pushed: bool = False  # a model was pushed (a TFX Pusher succeeded)
    is_training: bool = False  # a run of the configured training pipeline

    @property
    def key(self) -> str:
        return f"{self.source}/{self.id}"

    @property
    def pipeline_key(self) -> str:
        """What a trigger or a pause of this run's pipeline names."""
        return self.pipeline_id or self.pipeline

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
    kind: str = "app"  # "model" for a pipeline run that pushed a model (TFX Pusher)


@dataclass(frozen=True, slots=True)
class PipelineDefinition:
    """A pipeline that can be started: an Airflow DAG, a Kubeflow pipeline
    version. Shown with `P` in the Pipelines panel, with or without runs."""

    source: str  # the source's label
    provider: str
    id: str  # what a trigger names (dag_id; pipeline version id)
    name: str  # shown: the DAG id, the pipeline's display name
    paused: bool | None = None  # None where the vendor has no pause
    next_run: datetime | None = None
    schedule: str = ""
    tags: tuple[str, ...] = ()
    owners: str = ""
    problem: str = ""  # e.g. the import error of its file; "" when none
    url: str = ""
    is_deploy: bool = False
    is_training: bool = False

    @property
    def key(self) -> str:
        return f"{self.source}/{self.id}"


@dataclass(frozen=True, slots=True)
class PipelineSnapshot:
    """One poll of one CI source."""

    source: str
    provider: str
    runs: tuple[PipelineRun, ...] = ()
    deployments: tuple[VendorDeployment, ...] = ()
    quota: str = ""  # remaining rate limit, e.g. "4,980/5,000 left"
    # Orchestrators (Airflow, Kubeflow): the pipelines that can be started.
    pipelines: tuple[PipelineDefinition, ...] = ()
    # Problems worth a line in the panel that are not a failed poll, e.g.
    # "2 DAG files fail to import: dags/broken.py (SyntaxError ...)".
    notes: tuple[str, ...] = ()
