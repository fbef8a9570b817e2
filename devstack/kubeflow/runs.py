"""The emulator's runs: planned tasks with absolute times, read at the server clock.

A run is a plan: a pending time, then one task per component, each starting
when the previous one ends. Its state, its tasks' states and its state history
are derived from the plan and the clock, so a run progresses PENDING ->
RUNNING -> SUCCEEDED (or FAILED at the task its pipeline is seeded to fail
at) without a thread. Terminate cuts the plan (CANCELING, then CANCELED); retry
keeps the tasks that ended well and plans the rest again from now, as KFP's
retry re-runs the failed and the not-yet-run tasks of a run
(backend/api/v2beta1/run.proto, RetryRun: "Re-initiates a failed or terminated run").

Task details follow run.proto's PipelineTaskDetail, with the nodes KFP's Argo
backend adds around the components (docs/contributing/anatomy.md in
kubeflow/pipelines): the workflow's entrypoint DAG, ``root-driver``, the
``root`` DAG, and a ``<component>-driver`` before each component.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PENDING_S = 5.0  # seconds a created or retried run stays PENDING
STEP_S = 10.0  # seconds one component takes
CANCEL_S = 5.0  # seconds a terminated run stays CANCELING
FINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"})
_IDS = itertools.count(101)  # task ids are numbers, as MLMD execution ids are


def _next_id() -> str:
    return str(next(_IDS))


def rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Task:
    name: str
    start: float
    end: float
    outcome: str = "SUCCEEDED"  # what it ends as: SUCCEEDED, FAILED or SKIPPED
    failed_tries: int = 0  # earlier failed attempts (executor_detail.failed_main_jobs)
    driver_id: str = field(default_factory=_next_id)
    task_id: str = field(default_factory=_next_id)


@dataclass
class Pipeline:
    pipeline_id: str
    display_name: str
    components: tuple[str, ...]
    namespace: str
    created: float
    versions: list[tuple[str, str, float]] = field(default_factory=list)  # (id, name, created)
    fail_at: str = ""  # the component a new run of it fails at ("" : it succeeds)
    skip: tuple[str, ...] = ()  # components a new run skips (a Pusher of a model not blessed)


@dataclass
class Run:
    run_id: str
    display_name: str
    experiment_id: str
    namespace: str
    pipeline: Pipeline
    version_id: str
    parameters: dict[str, Any]
    created: float
    pending_until: float
    tasks: list[Task]
    description: str = ""
    recurring_run_id: str = ""
    service_account: str = ""
    terminated_at: float | None = None
    storage_state: str = "AVAILABLE"
    history: list[tuple[float, str]] = field(default_factory=list)  # before the last retry
    node_ids: tuple[str, str, str] = field(
        default_factory=lambda: (_next_id(), _next_id(), _next_id())
    )  # the entrypoint, root-driver and root nodes

    # --- planning -------------------------------------------------------------------

    @classmethod
    def plan(
        cls,
        *,
        run_id: str,
        display_name: str,
        experiment_id: str,
        pipeline: Pipeline,
        version_id: str,
        parameters: dict[str, Any],
        created: float,
        step: float = STEP_S,
        fail_at: str | None = None,
        skip: tuple[str, ...] | None = None,
        **extra: Any,
    ) -> Run:
        run = cls(
            run_id=run_id,
            display_name=display_name,
            experiment_id=experiment_id,
            namespace=pipeline.namespace,
            pipeline=pipeline,
            version_id=version_id,
            parameters=parameters,
            created=created,
            pending_until=created + PENDING_S,
            tasks=[],
            **extra,
        )
        fail = pipeline.fail_at if fail_at is None else fail_at
        skipped = pipeline.skip if skip is None else skip
        run.tasks = _schedule(pipeline.components, run.pending_until, step, fail, skipped)
        return run

    def retry(self, now: float, step: float = STEP_S) -> None:
        """Keep the tasks that ended well; run the failed one and the rest from now."""
        self.history = self.state_history(now)
        kept = [t for t in self.tasks if t.end <= now and t.outcome != "FAILED"]
        if self.terminated_at is not None:
            kept = [t for t in kept if t.end <= self.terminated_at]
        done = {t.name for t in kept}
        failed = {t.name: t.failed_tries + 1 for t in self.tasks if t.outcome == "FAILED"}
        rest = [c for c in self.pipeline.components if c not in done]
        self.pending_until = now + PENDING_S
        self.terminated_at = None
        planned = _schedule(tuple(rest), self.pending_until, step, "", self.pipeline.skip)
        for task in planned:
            task.failed_tries = failed.get(task.name, 0)
        self.tasks = kept + planned

    def terminate(self, now: float) -> None:
        self.terminated_at = now

    # --- reading at a moment ----------------------------------------------------------

    def _final(self) -> tuple[str, float] | None:
        """The state and time this plan ends in, ignoring termination."""
        for task in self.tasks:
            if task.outcome == "FAILED":
                return "FAILED", task.end
        end = max((t.end for t in self.tasks), default=self.pending_until)
        return "SUCCEEDED", end

    def state_at(self, now: float) -> tuple[str, float | None]:
        """(state, finished time or None)."""
        final_state, final_time = self._final() or ("SUCCEEDED", self.pending_until)
        if self.terminated_at is not None and self.terminated_at < final_time:
            if now < self.terminated_at + CANCEL_S:
                return ("CANCELING" if now >= self.terminated_at else "RUNNING"), None
            return "CANCELED", self.terminated_at + CANCEL_S
        if now >= final_time:
            return final_state, final_time
        return ("PENDING" if now < self.pending_until else "RUNNING"), None

    def state_history(self, now: float) -> list[tuple[float, str]]:
        entries = list(self.history)
        start = self.pending_until - PENDING_S
        entries.append((start, "PENDING"))
        if now >= self.pending_until and (
            self.terminated_at is None or self.terminated_at >= self.pending_until
        ):
            entries.append((self.pending_until, "RUNNING"))
        state, finished = self.state_at(now)
        if state == "CANCELING" or (state == "CANCELED" and self.terminated_at is not None):
            assert self.terminated_at is not None
            entries.append((self.terminated_at, "CANCELING"))
        if finished is not None:
            entries.append((finished, state))
        return entries

    def task_state(self, task: Task, now: float) -> tuple[str, float | None] | None:
        """(state, end time or None) of a task at `now`; None while it does not exist."""
        if task.start > now:
            return None
        cut = self.terminated_at
        if cut is not None and task.start > cut:
            return None
        if cut is not None and cut < task.end:
            if now < cut + CANCEL_S:
                return ("CANCELING" if now >= cut else "RUNNING"), None
            return "CANCELED", cut + CANCEL_S
        if now >= task.end:
            return task.outcome, task.end
        return "RUNNING", None

    # --- JSON ---------------------------------------------------------------------------

    @property
    def workflow(self) -> str:
        """The Argo workflow's name, which prefixes its pods' names."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.pipeline.display_name.lower()).strip("-")
        return f"{slug or 'pipeline'}-{self.run_id[:5]}"

    def task_details(self, now: float) -> list[dict[str, Any]]:
        """Task details at `now`, newest first (the API gives no order)."""
        state, finished = self.state_at(now)
        created = self.pending_until - PENDING_S
        entry_id, driver_id, root_id = self.node_ids
        booted = now >= self.pending_until
        details: list[dict[str, Any]] = []
        component_ids: list[str] = []
        for index, task in enumerate(self.tasks):
            seen = self.task_state(task, now)
            driver, executor = task.driver_id, task.task_id
            if seen is None:
                continue
            task_state, end = seen
            component_ids.append(driver)
            pod = f"{self.workflow}-system-container-impl-{1000 + index}"
            details.append(
                _task(
                    self,
                    driver,
                    f"{task.name}-driver",
                    task.start,
                    task.start,
                    "SUCCEEDED",
                    root_id,
                    f"{self.workflow}-system-container-driver-{1000 + index}",
                    [{"task_id": executor}],
                )
            )
            executor_detail = {
                "main_job": pod,
                "failed_main_jobs": [f"{pod}-try{n}" for n in range(1, task.failed_tries + 1)],
            }
            details.append(
                _task(
                    self,
                    executor,
                    task.name,
                    task.start,
                    end,
                    task_state,
                    root_id,
                    pod if task_state != "SKIPPED" else "",
                    [],
                    executor_detail,
                    error=task_state == "FAILED",
                )
            )
        root_state = state if booted else "PENDING"
        children = [{"task_id": i} for i in component_ids]
        details.append(
            _task(
                self,
                root_id,
                "root",
                self.pending_until,
                finished,
                root_state,
                entry_id,
                "",
                children,
            )
        )
        driver_pod = f"{self.workflow}-system-dag-driver-1"
        details.append(
            _task(
                self,
                driver_id,
                "root-driver",
                created,
                self.pending_until,
                "SUCCEEDED" if booted else "RUNNING",
                entry_id,
                driver_pod,
                [{"task_id": root_id}],
            )
        )
        details.append(
            _task(
                self,
                entry_id,
                self.workflow,
                created,
                finished,
                state,
                "",
                "",
                [{"task_id": driver_id}],
            )
        )
        details.reverse()  # newest first: a client must order them itself
        return details

    def to_json(self, now: float, details: bool = True) -> dict[str, Any]:
        state, finished = self.state_at(now)
        body: dict[str, Any] = {
            "experiment_id": self.experiment_id,
            "run_id": self.run_id,
            "display_name": self.display_name,
            "storage_state": self.storage_state,
            "description": self.description,
            "pipeline_version_reference": {
                "pipeline_id": self.pipeline.pipeline_id,
                "pipeline_version_id": self.version_id,
            },
            "runtime_config": {
                "parameters": self.parameters,
                "pipeline_root": f"minio://mlpipeline/v2/artifacts/{self.pipeline.display_name}",
            },
            "service_account": self.service_account or "pipeline-runner",
            "created_at": rfc3339(self.created),
            "scheduled_at": rfc3339(self.pending_until),
            "state": state,
            "state_history": [
                {"update_time": rfc3339(at), "state": word} for at, word in self.state_history(now)
            ],
        }
        if finished is not None:
            body["finished_at"] = rfc3339(finished)
        if self.recurring_run_id:
            body["recurring_run_id"] = self.recurring_run_id
        if state == "FAILED":
            failed = next((t.name for t in self.tasks if t.outcome == "FAILED"), "")
            body["error"] = {"code": 2, "message": f"task {failed} failed", "details": []}
        if details:
            body["run_details"] = {
                "pipeline_context_id": "1",
                "pipeline_run_context_id": self.node_ids[0],
                "task_details": self.task_details(now),
            }
        return body


def _schedule(
    components: tuple[str, ...], start: float, step: float, fail_at: str, skip: tuple[str, ...]
) -> list[Task]:
    tasks: list[Task] = []
    at = start
    for name in components:
        if name in skip:
            tasks.append(Task(name, at, at, "SKIPPED"))
            continue
        tasks.append(Task(name, at, at + step, "FAILED" if name == fail_at else "SUCCEEDED"))
        at += step
        if name == fail_at:
            break  # nothing after a failed task runs
    return tasks


def _task(
    run: Run,
    task_id: str,
    name: str,
    start: float,
    end: float | None,
    state: str,
    parent: str,
    pod: str,
    children: list[dict[str, str]],
    executor: dict[str, Any] | None = None,
    *,
    error: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "run_id": run.run_id,
        "task_id": task_id,
        "display_name": name,
        "create_time": rfc3339(start),
        "start_time": rfc3339(start),
        "state": state,
        "execution_id": task_id,
        "state_history": [{"update_time": rfc3339(start), "state": "RUNNING"}],
        "child_tasks": children,
    }
    if parent:
        body["parent_task_id"] = parent
    if pod:
        body["pod_name"] = pod
    if end is not None and state in FINAL | {"CANCELED"}:
        body["end_time"] = rfc3339(end)
        body["state_history"].append({"update_time": rfc3339(end), "state": state})
    if executor is not None:
        body["executor_detail"] = executor
    if error:
        body["error"] = {"code": 2, "message": f"{name}: the main container exited with 1"}
    return body
