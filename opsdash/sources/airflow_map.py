"""Airflow's REST JSON (API v2 of Airflow 3, API v1 of Airflow 2) as opsdash's
pipeline model. Pure functions, no I/O, so they are tested on recorded replies.

A DAG is a `PipelineDefinition`; a DAG run a `PipelineRun` whose id is
"<dag_id>/<dag_run_id>", since a run id (``manual__2026-12-02T10:00:00+00:00``)
is unique only within its DAG; a task instance a `PipelineJob` whose try is
Airflow's ``try_number``. Where the two API versions name a field differently
(``logical_date``/``execution_date``, ``next_dagrun_run_after``/``next_dagrun``)
both are read. Text from the server (DAG ids, conf values, log lines, notes)
is kept as it is: the UI renders it literally.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from opsdash.model import PipelineDefinition, PipelineJob, PipelineRun, RunStatus
from opsdash.model.lineage import vendor_run_id
from opsdash.sources.ci import first_line, status_from
from opsdash.sources.orchestrator import Flags, no_flags
from opsdash.sources.tfx import component_of
from opsdash.sources.timestamps import rfc3339 as when

RUN_STATES = {
    "queued": RunStatus.QUEUED,
    "running": RunStatus.RUNNING,
    "success": RunStatus.SUCCESS,
    "failed": RunStatus.FAILED,
}
# Task instance states (airflow.utils.state.TaskInstanceState); None is "no status".
TASK_STATES = {
    "": RunStatus.QUEUED,
    "none": RunStatus.QUEUED,
    "scheduled": RunStatus.QUEUED,
    "queued": RunStatus.QUEUED,
    "deferred": RunStatus.RUNNING,
    "up_for_reschedule": RunStatus.RUNNING,
    "running": RunStatus.RUNNING,
    "restarting": RunStatus.RUNNING,
    "up_for_retry": RunStatus.RUNNING,
    "success": RunStatus.SUCCESS,
    "failed": RunStatus.FAILED,
    # It never ran: an upstream task failed. Not a failure of its own (and a
    # Pusher in this state did not reach production).
    "upstream_failed": RunStatus.SKIPPED,
    "skipped": RunStatus.SKIPPED,
    "removed": RunStatus.SKIPPED,
}
BLESSED_WORDS = frozenset({"blessed", "true", "1", "yes"})
NOT_BLESSED_WORDS = frozenset({"not_blessed", "not blessed", "false", "0", "no", "unblessed"})


def path_part(text: str) -> str:
    """One path segment: run ids hold ':' and '+'."""
    return quote(text, safe="")


def run_id_of(run: PipelineRun) -> tuple[str, str]:
    """(dag_id, dag_run_id) of an opsdash run id "<dag_id>/<dag_run_id>"."""
    return run.pipeline, vendor_run_id(run)


def run_path(dag_id: str, dag_run_id: str) -> str:
    """A DAG run's path under /api/<version>."""
    return f"/dags/{path_part(dag_id)}/dagRuns/{path_part(dag_run_id)}"


def conf_items(conf: Any) -> tuple[tuple[str, str], ...]:
    """A run's conf as (key, JSON text) pairs, in key order."""
    if not isinstance(conf, Mapping):
        return ()
    return tuple((str(k), json.dumps(v, ensure_ascii=False)) for k, v in sorted(conf.items()))


def dag_from(
    dag: Mapping[str, Any], *, source: str, www: str, flags: Flags = no_flags
) -> PipelineDefinition:
    dag_id = str(dag.get("dag_id", ""))
    tags = tuple(
        str(t.get("name", "")) if isinstance(t, Mapping) else str(t) for t in dag.get("tags") or ()
    )
    owners = dag.get("owners") or ()
    schedule = (
        dag.get("timetable_summary")
        or dag.get("timetable_description")
        or _interval(dag.get("schedule_interval"))
    )
    problem = "its file fails to import" if dag.get("has_import_errors") else ""
    is_deploy, is_training = flags(dag_id)
    return PipelineDefinition(
        source=source,
        provider="airflow",
        id=dag_id,
        name=str(dag.get("dag_display_name") or dag_id),
        paused=bool(dag["is_paused"]) if isinstance(dag.get("is_paused"), bool) else None,
        next_run=when(dag.get("next_dagrun_run_after") or dag.get("next_dagrun")),
        schedule=str(schedule or ""),
        tags=tuple(t for t in tags if t),
        owners=", ".join(str(o) for o in owners) if isinstance(owners, list) else str(owners),
        problem=problem,
        url=f"{www}/dags/{path_part(dag_id)}",
        is_deploy=is_deploy,
        is_training=is_training,
    )


def _interval(value: Any) -> str:
    """Airflow 2's schedule_interval: {"__type": "CronExpression", "value": "0 3 * * *"}."""
    if isinstance(value, Mapping):
        return str(value.get("value") or "")
    return str(value or "")


def run_from(
    run: Mapping[str, Any],
    *,
    source: str,
    project: str,
    www: str,
    flags: Flags = no_flags,
    verdict: tuple[str, bool] = ("", False),
) -> PipelineRun:
    dag_id = str(run.get("dag_id", ""))
    run_id = str(run.get("dag_run_id") or run.get("run_id") or "")
    state = str(run.get("state") or "")
    is_deploy, is_training = flags(dag_id)
    return PipelineRun(
        source=source,
        provider="airflow",
        project=project,
        pipeline=dag_id,
        id=f"{dag_id}/{run_id}",
        status=status_from(RUN_STATES, state, RunStatus.QUEUED),
        vendor_status=state,
        sha=str(run.get("bundle_version") or ""),
        message=first_line(run.get("note")),
        actor=str(run.get("triggering_user_name") or run.get("triggered_by") or ""),
        event=str(run.get("run_type") or ""),
        created=when(run.get("queued_at") or run.get("run_after")),
        started=when(run.get("start_date")),
        finished=when(run.get("end_date")),
        url=f"{www}/dags/{path_part(dag_id)}/runs/{path_part(run_id)}",
        is_deploy=is_deploy,
        is_training=is_training,
        parameters=conf_items(run.get("conf")),
        verdict=verdict[0],
        pushed=verdict[1],
    )


def run_sort_key(run: Mapping[str, Any]) -> str:
    """Newest first by when the run was due: run_after (v2), else its logical date."""
    return str(run.get("run_after") or run.get("logical_date") or run.get("execution_date") or "")


def job_from(task: Mapping[str, Any], www_run: str = "") -> PipelineJob:
    task_id = str(task.get("task_id", ""))
    map_index = task.get("map_index")
    mapped = isinstance(map_index, int) and map_index >= 0
    name = f"{task_id} [{task.get('rendered_map_index') or map_index}]" if mapped else task_id
    state = str(task.get("state") or "")
    tries = task.get("try_number")
    attempt = tries if isinstance(tries, int) and tries > 0 else 1
    return PipelineJob(
        id=f"{task_id}#{map_index}" if mapped else task_id,
        name=name,
        status=status_from(TASK_STATES, state, RunStatus.QUEUED),
        vendor_status=state or "no status",
        started=when(task.get("start_date")),
        finished=when(task.get("end_date")),
        url=f"{www_run}/tasks/{path_part(task_id)}" if www_run else "",
        attempt=attempt,
        attempts=attempt,
        operator=str(task.get("operator_name") or task.get("operator") or ""),
    )


def task_address(job: PipelineJob) -> tuple[str, int]:
    """(task_id, map_index) of a job made by `job_from`."""
    task_id, _, index = job.id.partition("#")
    return task_id, int(index) if index.lstrip("-").isdigit() else -1


def blessing_of(value: Any) -> bool | None:
    """An Evaluator's blessing XCom ("BLESSED", "NOT_BLESSED", true, 0, {"blessed": 1})."""
    if isinstance(value, Mapping):
        value = value.get("blessed", value.get("blessing"))
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    word = str(value or "").strip().strip('"').lower()
    if word in BLESSED_WORDS:
        return True
    if word in NOT_BLESSED_WORDS:
        return False
    return None


def component_task(jobs: Iterable[PipelineJob], component: str) -> PipelineJob | None:
    return next((j for j in jobs if component_of(j.name) == component), None)


def log_text(body: Any) -> str:
    """A task log: v2 sends {"content": [{"timestamp", "level", "event", ...}]}
    (structured records; an exception's frames in "error_detail"), v1 a string."""
    content = body.get("content") if isinstance(body, Mapping) else body
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    lines: list[str] = []
    for record in content:
        if not isinstance(record, Mapping):
            lines.append(str(record))
            continue
        event = str(record.get("event", ""))
        if event == "::endgroup::":
            continue
        if event.startswith("::group::"):
            lines.append(f"-- {event.removeprefix('::group::')} --")
            continue
        stamp = str(record.get("timestamp") or "")
        clock = stamp[11:23] if len(stamp) >= 23 else stamp
        level = str(record.get("level") or "").upper()
        head = " ".join(p for p in (clock, level) if p)
        lines.append(f"{head} {event}" if head else event)
        lines.extend(_error_lines(record.get("error_detail")))
    return "\n".join(lines)


def _error_lines(detail: Any) -> list[str]:
    if not isinstance(detail, list):
        return []
    lines = []
    for error in detail:
        if not isinstance(error, Mapping):
            continue
        for frame in error.get("frames") or ():
            if isinstance(frame, Mapping):
                lines.append(
                    f"    at {frame.get('name', '?')} ({frame.get('filename', '?')}"
                    f":{frame.get('lineno', '?')})"
                )
        lines.append(f"  {error.get('exc_type', 'Error')}: {error.get('exc_value', '')}")
    return lines


def import_error_note(errors: list[Mapping[str, Any]], total: int) -> str:
    """One panel line for the DAG files that fail to import ("" when none)."""
    if not total:
        return ""
    first = errors[0] if errors else {}
    trace = str(first.get("stack_trace") or "").strip().splitlines()
    reason = trace[-1] if trace else ""
    files = "DAG file fails" if total == 1 else "DAG files fail"
    where = str(first.get("filename") or "")
    return f"{total} {files} to import: {where} ({reason[:160]})" if where else f"{total} {files}"
