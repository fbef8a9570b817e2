"""Kubeflow Pipelines' REST JSON (v2beta1) as opsdash records: pure functions, no I/O.

Shapes are run.proto's and pipeline.proto's (kubeflow/pipelines,
backend/api/v2beta1), in their proto snake_case JSON names.

States. The nine RuntimeState values map onto RunStatus: PENDING and
RUNTIME_STATE_UNSPECIFIED are queued; RUNNING, CANCELING and PAUSED are running
(the vendor word stays in `vendor_status`); SUCCEEDED success; SKIPPED skipped
(e.g. cached, or a condition that was false); FAILED failed; CANCELED cancelled.

Tasks. `run_details.task_details` lists every node of the run's Argo workflow,
not only the pipeline's components (docs/contributing/anatomy.md): the
workflow's entrypoint DAG (no parent, no pod, with children), ``root-driver``,
the ``root`` DAG and a ``<component>-driver`` before each component. Those are
KFP's machinery, so they are not shown; every other task is a job, in its
creation order, or in TFX order (`tfx.in_tfx_order`) when the run is a TFX
pipeline. A job's tries are its executor's failed main jobs plus one.

Blessing. KFP's REST API does not expose ML Metadata artifact properties, so
the Evaluator's ``blessed`` property cannot be read. It is derived from the
tasks, as TFX on Kubeflow runs the Pusher only under the blessing's condition:
Evaluator succeeded and Pusher succeeded (or failed) -> blessed; Evaluator
succeeded and Pusher SKIPPED -> not blessed; otherwise unknown (no word). A
Pusher that runs unconditionally and decides itself not to push looks like a
success here: that is a limit of the REST API, not a guess made quietly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from opsdash.model import PipelineDefinition, PipelineJob, PipelineRun, RunStatus
from opsdash.sources import tfx
from opsdash.sources.ci import first_line
from opsdash.sources.orchestrator import Flags, no_flags
from opsdash.sources.timestamps import rfc3339

API = "/apis/v2beta1"  # the REST API's base path, under the server's URL

PROVIDER = "kubeflow"
STATES: dict[str, RunStatus] = {
    "RUNTIME_STATE_UNSPECIFIED": RunStatus.QUEUED,
    "PENDING": RunStatus.QUEUED,
    "RUNNING": RunStatus.RUNNING,
    "CANCELING": RunStatus.RUNNING,
    "PAUSED": RunStatus.RUNNING,
    "SUCCEEDED": RunStatus.SUCCESS,
    "SKIPPED": RunStatus.SKIPPED,
    "FAILED": RunStatus.FAILED,
    "CANCELED": RunStatus.CANCELLED,
}
SYSTEM_TASKS = frozenset({"root", "root-driver"})


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp; None when absent, unreadable or the epoch (unset)."""
    moment = rfc3339(value)
    if moment is None or moment.timestamp() <= 0:
        return None  # unfinished runs may say 1970-01-01T00:00:00Z
    return moment.astimezone()


def status_of(state: Any) -> tuple[RunStatus, str]:
    """(status, vendor word) of a RuntimeState; unknown words are queued."""
    word = state if isinstance(state, str) and state else "RUNTIME_STATE_UNSPECIFIED"
    return STATES.get(word, RunStatus.QUEUED), word


def parameters_of(run: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """runtime_config.parameters as (name, JSON text), in the order given."""
    config = run.get("runtime_config")
    params = config.get("parameters") if isinstance(config, dict) else None
    if not isinstance(params, dict):
        return ()
    return tuple((str(k), json.dumps(v, ensure_ascii=False)) for k, v in params.items())


def is_system_task(task: Mapping[str, Any]) -> bool:
    """KFP's own nodes: the entrypoint DAG, root-driver, root, <component>-driver."""
    name = str(task.get("display_name") or "")
    if name in SYSTEM_TASKS or name.endswith("-driver"):
        return True
    return (
        not task.get("parent_task_id")
        and not task.get("pod_name")
        and bool(task.get("child_tasks"))
    )


def _tasks(run: Mapping[str, Any]) -> list[dict[str, Any]]:
    details = run.get("run_details")
    tasks = details.get("task_details") if isinstance(details, dict) else None
    return [t for t in tasks if isinstance(t, dict)] if isinstance(tasks, list) else []


def pods_of(run: Mapping[str, Any]) -> dict[str, str]:
    """task_id -> pod_name of the run's tasks that have a pod."""
    return {
        str(t.get("task_id")): str(t["pod_name"])
        for t in _tasks(run)
        if t.get("task_id") and t.get("pod_name")
    }


def job_from(task: Mapping[str, Any]) -> PipelineJob:
    status, word = status_of(task.get("state"))
    name = str(task.get("display_name") or task.get("task_id") or "?")
    executor = task.get("executor_detail")
    failed = executor.get("failed_main_jobs") if isinstance(executor, dict) else None
    tries = 1 + (len(failed) if isinstance(failed, list) else 0)
    return PipelineJob(
        id=str(task.get("task_id") or name),
        name=name,
        status=status,
        vendor_status=word,
        started=parse_time(task.get("start_time")),
        finished=parse_time(task.get("end_time")) if status.finished else None,
        attempt=tries,
        attempts=tries,
        operator=tfx.component_of(name),
    )


def jobs_from(run: Mapping[str, Any]) -> list[PipelineJob]:
    """The run's component tasks as jobs: creation order, TFX order for TFX runs."""
    epoch = datetime.min.replace(tzinfo=UTC)
    tasks = [t for t in _tasks(run) if not is_system_task(t)]
    tasks.sort(
        key=lambda t: (
            parse_time(t.get("create_time")) or epoch,
            parse_time(t.get("start_time")) or epoch,
        )
    )
    jobs = [job_from(t) for t in tasks]
    if tfx.is_tfx(job.name for job in jobs):
        return tfx.in_tfx_order(jobs)
    return jobs


def blessing(jobs: list[PipelineJob]) -> tuple[bool | None, RunStatus | None]:
    """(blessed, pusher status) as the module docstring derives them."""
    evaluator = next((j for j in jobs if tfx.component_of(j.name) == "Evaluator"), None)
    pusher = next((j for j in jobs if tfx.component_of(j.name) == "Pusher"), None)
    pushed_status = pusher.status if pusher is not None and pusher.status.finished else None
    if evaluator is None or evaluator.status is not RunStatus.SUCCESS:
        return None, pushed_status
    if pushed_status in (RunStatus.SUCCESS, RunStatus.FAILED):
        return True, pushed_status
    if pushed_status is RunStatus.SKIPPED:
        return False, pushed_status
    return None, pushed_status


def verdict_of(jobs: list[PipelineJob]) -> tuple[str, bool]:
    """The run row's words ("blessed · pushed") and whether a model was pushed."""
    if not tfx.is_tfx(job.name for job in jobs):
        return "", False
    blessed, pusher = blessing(jobs)
    return tfx.verdict(blessed, pusher)


def runs_filter(experiments: tuple[str, ...], pipeline_ids: list[str] | None) -> str:
    """The list's `filter` (filter.proto's JSON): no archived runs; several
    experiments (one is the `experiment_id` parameter); the configured pipelines."""
    predicates: list[dict[str, Any]] = [
        {"operation": "NOT_EQUALS", "key": "storage_state", "string_value": "ARCHIVED"}
    ]
    if len(experiments) > 1:
        values = list(experiments)
        predicates.append(
            {"operation": "IN", "key": "experiment_id", "string_values": {"values": values}}
        )
    if pipeline_ids is not None:
        predicates.append(
            {"operation": "IN", "key": "pipeline_id", "string_values": {"values": pipeline_ids}}
        )
    return json.dumps({"predicates": predicates}, separators=(",", ":"))


def run_matches(
    run: Mapping[str, Any], experiments: tuple[str, ...], pipeline_ids: list[str] | None
) -> bool:
    """What `runs_filter` asks, answered here for a server that cannot."""
    if experiments and run.get("experiment_id") not in experiments:
        return False
    return pipeline_ids is None or reference_of(run)[0] in pipeline_ids


def _attempt(run: Mapping[str, Any]) -> int:
    """1 + the retries in its state history (back to PENDING/RUNNING after an end)."""
    history = run.get("state_history")
    retries, ended = 0, False
    for entry in history if isinstance(history, list) else []:
        state = entry.get("state") if isinstance(entry, dict) else None
        if state in ("FAILED", "CANCELED"):
            ended = True
        elif state in ("PENDING", "RUNNING") and ended:
            retries, ended = retries + 1, False
    return retries + 1


def _started(run: Mapping[str, Any], status: RunStatus) -> datetime | None:
    history = run.get("state_history")
    for entry in history if isinstance(history, list) else []:
        if isinstance(entry, dict) and entry.get("state") == "RUNNING":
            return parse_time(entry.get("update_time"))
    return None if status is RunStatus.QUEUED else parse_time(run.get("scheduled_at"))


def reference_of(run: Mapping[str, Any]) -> tuple[str, str]:
    """(pipeline_id, pipeline_version_id) of the run; "" for an inline spec."""
    reference = run.get("pipeline_version_reference")
    if isinstance(reference, dict):
        return str(reference.get("pipeline_id") or ""), str(
            reference.get("pipeline_version_id") or ""
        )
    return "", str(run.get("pipeline_version_id") or "")  # deprecated field


def run_from(
    run: Mapping[str, Any],
    *,
    source: str,
    project: str,
    pipeline_names: Mapping[str, str] | None = None,
    ui_root: str = "",
    flags: Flags = no_flags,
) -> PipelineRun:
    """One Run; its verdict from the tasks in its run_details."""
    status, word = status_of(run.get("state"))
    pipeline_id, version_id = reference_of(run)
    names = pipeline_names or {}
    pipeline = names.get(pipeline_id) or pipeline_id or "(inline pipeline spec)"
    run_id = str(run.get("run_id") or "")
    is_deploy, is_training = flags(version_id, pipeline_id, pipeline)
    verdict, pushed = verdict_of(jobs_from(run))
    return PipelineRun(
        source=source,
        provider=PROVIDER,
        project=project,
        pipeline=pipeline,
        id=run_id,
        status=status,
        vendor_status=word,
        message=first_line(str(run.get("display_name") or "")),
        event="recurring" if run.get("recurring_run_id") else "manual",
        created=parse_time(run.get("created_at")),
        started=_started(run, status),
        finished=parse_time(run.get("finished_at")) if status.finished else None,
        url=f"{ui_root}/#/runs/details/{run_id}" if ui_root and run_id else "",
        attempt=_attempt(run),
        is_deploy=is_deploy,
        pipeline_id=version_id or pipeline_id,
        parameters=parameters_of(run),
        verdict=verdict,
        pushed=pushed,
        is_training=is_training,
    )


def definition_from(
    pipeline: Mapping[str, Any],
    version: Mapping[str, Any] | None,
    *,
    source: str,
    ui_root: str = "",
    flags: Flags = no_flags,
) -> PipelineDefinition:
    """A pipeline with its newest version (what a trigger names)."""
    pipeline_id = str(pipeline.get("pipeline_id") or "")
    name = str(pipeline.get("display_name") or pipeline_id)
    version_id = str((version or {}).get("pipeline_version_id") or "")
    version_name = str((version or {}).get("display_name") or "")
    error = pipeline.get("error")
    problem = first_line(str(error.get("message") or "")) if isinstance(error, dict) else ""
    if not version_id and not problem:
        problem = "no pipeline version to run"
    is_deploy, is_training = flags(version_id, pipeline_id, name)
    url = ""
    if ui_root and pipeline_id:
        url = f"{ui_root}/#/pipelines/details/{pipeline_id}"
        url += f"/version/{version_id}" if version_id else ""
    return PipelineDefinition(
        source=source,
        provider=PROVIDER,
        id=version_id or pipeline_id,
        name=name,
        paused=None,
        tags=(version_name,) if version_name else (),
        problem=problem,
        url=url,
        is_deploy=is_deploy,
        is_training=is_training,
    )
