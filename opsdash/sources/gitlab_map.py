"""GitLab's JSON as opsdash records: pure functions, no I/O (the sans-I/O idea).

`GitLabSource` lists, caches and fetches details; these say what a pipeline
(its list item merged with its details), a job or a deployment means, so they
are tested on the recorded bodies in tests/fixtures/gitlab without a server
(tests/unit/test_vendor_mapping.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsdash.model import PipelineJob, PipelineRun, RunStatus, VendorDeployment
from opsdash.sources.ci import status_from

# Pipeline and job statuses (doc/api/pipelines.md, doc/api/jobs.md).
STATUSES: dict[str, RunStatus] = {
    "created": RunStatus.QUEUED,
    "waiting_for_resource": RunStatus.QUEUED,
    "preparing": RunStatus.QUEUED,
    "pending": RunStatus.QUEUED,
    "scheduled": RunStatus.QUEUED,
    "manual": RunStatus.QUEUED,
    "running": RunStatus.RUNNING,
    "canceling": RunStatus.CANCELLED,
    "success": RunStatus.SUCCESS,
    "failed": RunStatus.FAILED,
    "canceled": RunStatus.CANCELLED,
    "skipped": RunStatus.SKIPPED,
}
FINISHED_DEPLOYMENTS = ("success", "failed", "canceled")  # created/running/blocked may change


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def run_from(
    item: dict[str, Any],
    detail: dict[str, Any],
    *,
    source: str,
    project: str,
    web: str,
    title: str = "",
    is_deploy: bool = False,
) -> PipelineRun:
    """A listed pipeline with its details (`{}` when not read); the list's status
    wins, being the newer of the two."""
    merged = {**item, **detail}
    word = str(item.get("status") or merged.get("status") or "")
    user = merged.get("user")
    actor = ""
    if isinstance(user, dict):
        actor = str(user.get("username") or user.get("name") or "")
    iid = merged.get("iid")
    return PipelineRun(
        source=source,
        provider="gitlab",
        project=project,
        pipeline=str(merged.get("name") or "pipeline"),
        id=str(item["id"]),
        status=status_from(STATUSES, word, RunStatus.RUNNING),
        vendor_status=word,
        number=iid if isinstance(iid, int) else None,
        branch=str(merged.get("ref") or ""),
        sha=str(merged.get("sha") or ""),
        message=title,
        actor=actor,
        event=str(merged.get("source") or ""),
        created=parse_time(merged.get("created_at")),
        started=parse_time(merged.get("started_at")),
        finished=parse_time(merged.get("finished_at")),
        url=str(merged.get("web_url") or f"{web}/{project}/-/pipelines/{item['id']}"),
        is_deploy=is_deploy,
    )


def jobs_from(jobs: list[dict[str, Any]]) -> list[PipelineJob]:
    """A pipeline's jobs in creation order, so the stages read top to bottom
    (GitLab lists newest first)."""
    out = []
    for job in sorted(jobs, key=lambda j: j.get("id") if isinstance(j.get("id"), int) else 0):
        word = str(job.get("status") or "")
        if word == "failed" and job.get("allow_failure"):
            word = "failed (allowed)"
        out.append(
            PipelineJob(
                id=str(job.get("id")),
                name=str(job.get("name") or f"job {job.get('id')}"),
                status=status_from(STATUSES, word.split(" ")[0], RunStatus.RUNNING),
                vendor_status=word,
                stage=str(job.get("stage") or ""),
                started=parse_time(job.get("started_at")),
                finished=parse_time(job.get("finished_at")),
                url=str(job.get("web_url") or ""),
            )
        )
    return out


def deployments_from(
    items: list[dict[str, Any]], *, source: str, service: str, environment: str
) -> list[VendorDeployment]:
    """An environment's finished deployments; the ones still under way may change."""
    out = []
    for item in items:
        status = str(item.get("status") or "")
        at = parse_time(item.get("finished_at")) or parse_time(item.get("updated_at"))
        if status not in FINISHED_DEPLOYMENTS or at is None or item.get("id") is None:
            continue
        env = item.get("environment")
        name = env.get("name") if isinstance(env, dict) else None
        deployable = item.get("deployable")
        web_url = deployable.get("web_url") if isinstance(deployable, dict) else None
        out.append(
            VendorDeployment(
                id=f"deployment:{item['id']}",
                source=source,
                service=service,
                environment=str(name or environment),
                version=str(item.get("sha") or item.get("ref") or ""),
                at=at,
                result=status,
                url=str(web_url or ""),
            )
        )
    return out
