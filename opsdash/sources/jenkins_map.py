"""Jenkins' JSON as opsdash records: pure functions, no I/O (the sans-I/O idea).

`JenkinsSource` asks for a job's builds with a `tree=` query and for a build's
Pipeline Stage View; these say what a build and its stages mean, so they are
tested on the recorded bodies in tests/fixtures/jenkins without a server
(tests/unit/test_vendor_mapping.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from opsdash.model import PipelineJob, PipelineRun, RunStatus
from opsdash.sources.ci import first_line, status_from

# hudson.model.Result
RESULTS: dict[str, RunStatus] = {
    "success": RunStatus.SUCCESS,
    "unstable": RunStatus.FAILED,
    "failure": RunStatus.FAILED,
    "aborted": RunStatus.CANCELLED,
    "not_built": RunStatus.SKIPPED,
}
# Pipeline Stage View's StatusExt
STAGE_STATUSES: dict[str, RunStatus] = {
    "success": RunStatus.SUCCESS,
    "failed": RunStatus.FAILED,
    "unstable": RunStatus.FAILED,
    "aborted": RunStatus.CANCELLED,
    "in_progress": RunStatus.RUNNING,
    "paused_pending_input": RunStatus.RUNNING,
    "not_executed": RunStatus.SKIPPED,
    "skipped": RunStatus.SKIPPED,
}
# Cause classes -> the event word the panel shows
CAUSES = {
    "hudson.model.Cause$UserIdCause": "manual",
    "hudson.model.Cause$RemoteCause": "remote",
    "hudson.model.Cause$UpstreamCause": "upstream",
    "hudson.triggers.TimerTrigger$TimerTriggerCause": "schedule",
    "hudson.triggers.SCMTrigger$SCMTriggerCause": "push",
    "com.cloudbees.jenkins.GitHubPushCause": "push",
    "jenkins.branch.BranchIndexingCause": "indexing",
    "jenkins.branch.BranchEventCause": "push",
}
BUILD_FIELDS = (
    "number,url,result,building,inProgress,timestamp,duration,estimatedDuration,queueId,"
    "displayName,description,"
    "actions[causes[shortDescription,userId,userName],lastBuiltRevision[SHA1,branch[name]]],"
    "changeSets[items[msg,commitId]]"
)


def tree_query(builds: int) -> str:
    """The `tree=` of a job's api/json: its newest `builds` builds and their facts."""
    return f"name,fullName,url,builds[{BUILD_FIELDS}]{{0,{builds}}}"


def job_url(path: str) -> str:
    """``folder/app`` -> ``/job/folder/job/app`` (each name URL-encoded)."""
    names = [n for n in path.strip("/").split("/") if n]
    return "".join(f"/job/{quote(n, safe='')}" for n in names)


def _time(millis: Any) -> datetime | None:
    if isinstance(millis, bool) or not isinstance(millis, int | float) or millis <= 0:
        return None
    return datetime.fromtimestamp(millis / 1000).astimezone()


def _branch_name(name: Any) -> str:
    """``refs/remotes/origin/main`` or ``origin/main`` -> ``main``."""
    text = str(name or "")
    for prefix in ("refs/remotes/", "refs/heads/"):
        text = text.removeprefix(prefix)
    return text.removeprefix("origin/")


def actions_of(build: dict[str, Any]) -> list[dict[str, Any]]:
    actions = build.get("actions")
    return [a for a in actions if isinstance(a, dict)] if isinstance(actions, list) else []


def _revision(build: dict[str, Any]) -> tuple[str, str]:
    """(branch, sha) of the first git checkout the build recorded."""
    for action in actions_of(build):
        revision = action.get("lastBuiltRevision")
        if isinstance(revision, dict):
            branches = revision.get("branch")
            branch = ""
            if isinstance(branches, list) and branches and isinstance(branches[0], dict):
                branch = _branch_name(branches[0].get("name"))
            return branch, str(revision.get("SHA1") or "")
    return "", ""


def _causes(build: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        cause
        for action in actions_of(build)
        if isinstance(action.get("causes"), list)
        for cause in action["causes"]
        if isinstance(cause, dict)
    ]


def _message(build: dict[str, Any], sha: str, causes: list[dict[str, Any]]) -> str:
    """The built commit's message, else the build description, else why it started."""
    items = [
        item
        for change_set in build.get("changeSets") or []
        if isinstance(change_set, dict)
        for item in change_set.get("items") or []
        if isinstance(item, dict)
    ]
    if items:
        item = next((i for i in items if sha and i.get("commitId") == sha), items[-1])
        if item.get("msg"):
            return first_line(str(item["msg"]))
    if build.get("description"):
        return first_line(str(build["description"]))
    return first_line(str(causes[0].get("shortDescription") or "")) if causes else ""


def _status(build: dict[str, Any]) -> tuple[RunStatus, str]:
    result = build.get("result")
    if result is None or build.get("building"):
        return RunStatus.RUNNING, str(result or "building")
    return status_from(RESULTS, str(result), RunStatus.FAILED), str(result)


def run_from(
    path: str,
    build: dict[str, Any],
    *,
    source: str,
    root: str,
    is_deploy: Callable[[str, str], bool] = lambda _path, _branch: False,
) -> PipelineRun:
    """One of a job's `builds`; `path` is the job's path ("shop/app")."""
    status, word = _status(build)
    branch, sha = _revision(build)
    causes = _causes(build)
    actor = next(
        (
            str(c.get("userName") or c.get("userId"))
            for c in causes
            if c.get("userId") or c.get("userName")
        ),
        "",
    )
    event = next((CAUSES[c["_class"]] for c in causes if c.get("_class") in CAUSES), "")
    started = _time(build.get("timestamp"))
    finished = None
    duration = build.get("duration")
    if status.finished and started is not None and isinstance(duration, int | float):
        finished = _time(build["timestamp"] + duration)
    number = build["number"]
    return PipelineRun(
        source=source,
        provider="jenkins",
        project=path,
        pipeline=path,
        id=f"{path}#{number}",
        status=status,
        vendor_status=word,
        number=number,
        branch=branch,
        sha=sha,
        message=_message(build, sha, causes),
        actor=actor,
        event=event or ("manual" if actor else ""),
        created=started,
        started=started,
        finished=finished,
        url=str(build.get("url") or f"{root}{job_url(path)}/{number}/"),
        is_deploy=is_deploy(path, branch),
    )


def jobs_from(body: Any, run: PipelineRun) -> list[PipelineJob]:
    """A build's stages (`wfapi/describe`); a build without them is one job."""
    stages = body.get("stages") if isinstance(body, dict) else None
    if not isinstance(stages, list) or not stages:
        return [
            PipelineJob(
                id="build",
                name=run.pipeline,
                status=run.status,
                vendor_status=run.vendor_status,
                started=run.started,
                finished=run.finished,
                url=run.url,
            )
        ]
    jobs = []
    for stage in stages:
        if not isinstance(stage, dict):
            continue
        word = str(stage.get("status") or "")
        status = status_from(STAGE_STATUSES, word, RunStatus.RUNNING)
        started = _time(stage.get("startTimeMillis"))
        duration = stage.get("durationMillis")
        finished = None
        if status.finished and started is not None and isinstance(duration, int | float):
            finished = _time(stage["startTimeMillis"] + duration)
        jobs.append(
            PipelineJob(
                id=str(stage.get("id")),
                name=str(stage.get("name") or f"stage {stage.get('id')}"),
                status=status,
                vendor_status=word,
                stage=str(stage.get("name") or ""),
                started=started,
                finished=finished,
                url=run.url,
            )
        )
    return jobs
