"""GitHub's JSON as opsdash records: pure functions, no I/O (the sans-I/O idea).

`GitHubSource` fetches and pages; these say what a workflow run, a job or a
deployment with its latest status means, so they are tested on the recorded
bodies in tests/fixtures/github without a server (tests/unit/test_vendor_mapping.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opsdash.model import PipelineJob, PipelineRun, PipelineStep, RunStatus, VendorDeployment
from opsdash.sources.ci import first_line, status_from

_PENDING = {
    "queued": RunStatus.QUEUED,
    "requested": RunStatus.QUEUED,
    "waiting": RunStatus.QUEUED,
    "pending": RunStatus.QUEUED,
    "in_progress": RunStatus.RUNNING,
}
_CONCLUSIONS = {
    "success": RunStatus.SUCCESS,
    "failure": RunStatus.FAILED,
    "timed_out": RunStatus.FAILED,
    "startup_failure": RunStatus.FAILED,
    "action_required": RunStatus.FAILED,
    "cancelled": RunStatus.CANCELLED,
    "skipped": RunStatus.SKIPPED,
    "neutral": RunStatus.SKIPPED,
    "stale": RunStatus.SKIPPED,
}
# Deployment states that will not change any more; a deployment is reported
# once it reaches one (the store keeps the first result it sees for an id).
_SETTLED_DEPLOYMENT_STATES = frozenset({"success", "failure", "error", "inactive"})


def map_status(status: str | None, conclusion: str | None) -> RunStatus:
    """A run's, job's or step's status and conclusion as one RunStatus."""
    if (status or "").lower() != "completed":
        return status_from(_PENDING, status, RunStatus.RUNNING)
    return status_from(_CONCLUSIONS, conclusion, RunStatus.SKIPPED)


def vendor_words(status: str | None, conclusion: str | None) -> str:
    return f"{status}/{conclusion}" if conclusion else str(status or "")


def parse_time(value: Any) -> datetime | None:
    """GitHub's ISO 8601 timestamps ("2026-03-01T10:00:00Z") as aware datetimes."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise TypeError(f"timestamp is a {type(value).__name__}, not text")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"bad timestamp {value[:40]!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _login(user: Any) -> str:
    return str(user.get("login") or "") if isinstance(user, dict) else ""


def workflow_file(path: str | None) -> str:
    """ ".github/workflows/deploy.yml@refs/heads/main" -> ".github/workflows/deploy.yml"."""
    return (path or "").split("@", 1)[0]


def run_from(
    raw: dict[str, Any],
    *,
    source: str,
    project: str,
    is_deploy: Callable[[str, Any, str], bool] = lambda _path, _id, _branch: False,
) -> PipelineRun:
    """One of `workflow_runs`. `is_deploy(path, workflow_id, branch)` says whether
    it is a run of the configured deploy workflow."""
    status, conclusion = raw["status"], raw.get("conclusion")
    mapped = map_status(status, conclusion)
    path = workflow_file(raw.get("path"))
    branch = raw.get("head_branch") or ""
    commit = raw.get("head_commit") or {}
    message = commit.get("message") if isinstance(commit, dict) else None
    created = parse_time(raw.get("created_at"))
    return PipelineRun(
        source=source,
        provider="github",
        project=project,
        pipeline=raw.get("name") or path.rsplit("/", 1)[-1] or str(raw.get("workflow_id", "")),
        id=str(int(raw["id"])),
        status=mapped,
        vendor_status=vendor_words(status, conclusion),
        number=raw.get("run_number"),
        branch=branch,
        sha=raw.get("head_sha") or "",
        message=first_line(message or raw.get("display_title")),
        actor=_login(raw.get("actor")) or _login(raw.get("triggering_actor")),
        event=raw.get("event") or "",
        created=created,
        started=None if mapped is RunStatus.QUEUED else parse_time(raw.get("run_started_at")),
        finished=parse_time(raw.get("updated_at")) if mapped.finished else None,
        url=raw.get("html_url") or "",
        attempt=int(raw.get("run_attempt") or 1),
        is_deploy=is_deploy(path, raw.get("workflow_id"), branch),
    )


def job_from(raw: dict[str, Any]) -> PipelineJob:
    """One of a run's `jobs`, with its steps."""
    status, conclusion = raw["status"], raw.get("conclusion")
    mapped = map_status(status, conclusion)
    steps = tuple(
        PipelineStep(
            name=str(step["name"]),
            status=map_status(step["status"], step.get("conclusion")),
            vendor_status=vendor_words(step["status"], step.get("conclusion")),
            number=step.get("number"),
            started=parse_time(step.get("started_at")),
            finished=parse_time(step.get("completed_at")),
        )
        for step in raw.get("steps") or ()
    )
    return PipelineJob(
        id=str(int(raw["id"])),
        name=str(raw["name"]),
        status=mapped,
        vendor_status=vendor_words(status, conclusion),
        started=None if mapped is RunStatus.QUEUED else parse_time(raw.get("started_at")),
        finished=parse_time(raw.get("completed_at")) if mapped.finished else None,
        url=raw.get("html_url") or "",
        steps=steps,
    )


def run_deployment(run: PipelineRun, service: str, environment: str) -> VendorDeployment:
    """A successful run of the deploy workflow, as a deployment."""
    return VendorDeployment(
        id=f"run:{run.id}",
        source=run.source,
        service=service,
        environment=environment,
        version=run.sha,
        at=run.finished or run.started or run.created or datetime.now(UTC),
        result="success",
        url=run.url,
    )


def deployment_from(
    raw: dict[str, Any], status: dict[str, Any] | None, *, source: str, service: str
) -> VendorDeployment | None:
    """A deployment and its latest status; None until the status settles."""
    if status is None:
        return None  # created, no status yet
    state = str(status["state"]).lower()
    if state not in _SETTLED_DEPLOYMENT_STATES:
        return None  # queued, pending, in_progress: reported once it settles
    # An inactive status is dated when it was superseded: use the deployment's own time.
    settled = None if state == "inactive" else parse_time(status.get("created_at"))
    at = settled or parse_time(raw["created_at"])
    if at is None:
        raise ValueError("deployment without created_at")
    return VendorDeployment(
        id=f"deployment:{int(raw['id'])}",
        source=source,
        service=service,
        environment=str(status.get("environment") or raw.get("environment") or ""),
        version=str(raw.get("sha") or ""),
        at=at,
        # GitHub marks a successful deployment "inactive" once a newer one
        # succeeds: it was deployed, so it counts as a success.
        result="success" if state == "inactive" else state,
        url=str(status.get("log_url") or status.get("target_url") or ""),
    )
