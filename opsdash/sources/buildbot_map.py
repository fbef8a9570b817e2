"""Buildbot's JSON as opsdash records: pure functions, no I/O (the sans-I/O idea).

`BuildbotSource` reads builds, pending build requests and steps from the REST
API (/api/v2); these say what they mean, so they are tested on bodies shaped as
Buildbot sends them without a master (tests/unit/test_vendor_mapping.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from opsdash.model import PipelineJob, PipelineRun, RunStatus
from opsdash.sources.ci import first_line

IsDeploy = Callable[[str, str], bool]  # (builder, branch) -> a run of the deploy?


def _never(_pipeline: str, _branch: str) -> bool:
    return False


# buildbot.process.results: code -> (status, word)
RESULTS: dict[int, tuple[RunStatus, str]] = {
    0: (RunStatus.SUCCESS, "success"),
    1: (RunStatus.SUCCESS, "warnings"),
    2: (RunStatus.FAILED, "failure"),
    3: (RunStatus.SKIPPED, "skipped"),
    4: (RunStatus.FAILED, "exception"),
    5: (RunStatus.FAILED, "retry"),
    6: (RunStatus.CANCELLED, "cancelled"),
}


def _time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value).astimezone()


def status_of(results: Any, complete: bool, state: str = "") -> tuple[RunStatus, str]:
    """(status, vendor word) of a build or step from its result code."""
    if not complete or results is None or results == -1:
        if complete:
            return RunStatus.FAILED, "unknown"
        return RunStatus.RUNNING, first_line(state, 60) or "building"
    return RESULTS.get(results, (RunStatus.FAILED, f"result {results}"))


def _prop(properties: Any, name: str) -> str:
    """A build property's value (properties are {name: [value, source]})."""
    if not isinstance(properties, dict):
        return ""
    value = properties.get(name)
    if isinstance(value, list) and value:
        value = value[0]
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def run_from(
    build: dict[str, Any],
    *,
    source: str,
    project: str,
    builders: Mapping[Any, str],
    forced: Collection[str] = (),
    www: str = "",
    is_deploy: IsDeploy = _never,
) -> PipelineRun:
    """A build (with its properties); a build of a force scheduler is "force"."""
    builderid = build.get("builderid")
    pipeline = builders.get(builderid, f"builder {builderid}")
    status, word = status_of(
        build.get("results"), bool(build.get("complete")), build.get("state_string") or ""
    )
    props = build.get("properties")
    branch = _prop(props, "branch")
    scheduler = _prop(props, "scheduler")
    number = build.get("number")
    return PipelineRun(
        source=source,
        provider="buildbot",
        project=project,
        pipeline=pipeline,
        id=str(build.get("buildid")),
        status=status,
        vendor_status=word,
        number=number if isinstance(number, int) else None,
        branch=branch,
        sha=_prop(props, "revision"),
        message=first_line(_prop(props, "reason")),
        actor=_prop(props, "owner"),
        event="force" if scheduler in forced else scheduler,
        created=_time(build.get("started_at")),
        started=_time(build.get("started_at")),
        finished=_time(build.get("complete_at")),
        url=f"{www}/#/builders/{builderid}/builds/{number}",
        is_deploy=is_deploy(pipeline, branch),
    )


def queued_from(
    request: dict[str, Any],
    buildset: dict[str, Any] | None,
    *,
    source: str,
    project: str,
    builders: Mapping[Any, str],
    www: str = "",
    is_deploy: IsDeploy = _never,
) -> PipelineRun:
    """A build request not yet claimed, with its buildset's source stamp."""
    builderid = request.get("builderid")
    pipeline = builders.get(builderid, f"builder {builderid}")
    stamps = (buildset or {}).get("sourcestamps") or [{}]
    stamp = stamps[0] if isinstance(stamps[0], dict) else {}
    branch = str(stamp.get("branch") or "")
    brid = request.get("buildrequestid")
    return PipelineRun(
        source=source,
        provider="buildbot",
        project=project,
        pipeline=pipeline,
        id=f"req-{brid}",
        status=RunStatus.QUEUED,
        vendor_status="pending",
        branch=branch,
        sha=str(stamp.get("revision") or ""),
        message=first_line((buildset or {}).get("reason")),
        created=_time(request.get("submitted_at")),
        url=f"{www}/#/buildrequests/{brid}",
        is_deploy=is_deploy(pipeline, branch),
    )


def jobs_from(steps: list[dict[str, Any]], run: PipelineRun) -> list[PipelineJob]:
    """A build's steps as its jobs, hidden ones left out."""
    jobs = []
    for step in steps:
        if step.get("hidden"):
            continue
        started = _time(step.get("started_at"))
        complete = bool(step.get("complete"))
        if started is None and not complete:
            status, word = RunStatus.QUEUED, "pending"
        else:
            status, word = status_of(step.get("results"), complete, step.get("state_string"))
        jobs.append(
            PipelineJob(
                id=str(step.get("stepid", step.get("number"))),
                name=str(step.get("name") or f"step {step.get('number')}"),
                status=status,
                vendor_status=word,
                started=started,
                finished=_time(step.get("complete_at")),
                url=run.url,
            )
        )
    return jobs
