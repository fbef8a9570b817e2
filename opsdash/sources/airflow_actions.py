"""What the Airflow source's keys send: D triggers a DAG run with a conf, r and
F clear a run (all its tasks, or only the failed ones), p pauses or unpauses a
DAG, m marks a run failed or success. Airflow has no cancel.

A mixin of `AirflowSource`: it calls the source's `_json` (one API call under
/api/<version>, JWT renewed), `_run_path`, `_detect` and `_writable`, and resets
its run window so the next poll reads the runs whole.
"""

from __future__ import annotations

from typing import Any

from opsdash.model import PipelineRun, RunStatus
from opsdash.sources import airflow_map as amap
from opsdash.sources.base import SourceError

MARKS = {RunStatus.SUCCESS: "success", RunStatus.FAILED: "failed"}


class AirflowActions:
    """The mutating calls; every one is refused on a read-only source first."""

    # Provided by AirflowSource (annotations only: no attribute is made here).
    api: str
    cancel_refusal: str
    window: Any
    _paused: dict[str, bool]
    _json: Any
    _sync: Any
    _detect: Any
    _writable: Any
    _run_path: Any

    async def do_trigger(self, pipeline: str, parameters: dict[str, Any]) -> str:
        self._writable()
        await self._detect()  # the body differs: Airflow 2 refuses a null logical_date
        body: dict[str, Any] = {"conf": parameters, "note": "triggered from opsdash"}
        if self.api == "v2":
            body["logical_date"] = None  # now; required (nullable) by Airflow 3.0
        reply = await self._json("POST", f"/dags/{amap.path_part(pipeline)}/dagRuns", body=body)
        run_id = reply.get("dag_run_id", "?") if isinstance(reply, dict) else "?"
        self.window.reset()  # the next poll reads the runs whole, with the new one
        paused = " (the DAG is paused: it starts once unpaused)" * self._paused.get(pipeline, False)
        return f"run {run_id} of {pipeline} queued{paused}"

    async def do_rerun(self, run: PipelineRun, failed_only: bool) -> str:
        self._writable()
        if not run.status.finished:
            raise SourceError(f"{run.id} is still {run.status.value}: Airflow clears finished runs")
        body: dict[str, Any] = {"dry_run": False}  # the API's default is a dry run
        if failed_only and self.api == "v2":
            body["only_failed"] = True
        elif failed_only:
            return await self._clear_failed_v1(run)
        await self._json("POST", f"{self._run_path(run)}/clear", body=body)
        which = "its failed tasks" if failed_only else "all its tasks"
        return f"{run.pipeline} run {amap.run_id_of(run)[1]} cleared ({which}): it runs again"

    async def _clear_failed_v1(self, run: PipelineRun) -> str:
        dag_id, run_id = amap.run_id_of(run)
        body = {"dry_run": False, "only_failed": True, "dag_run_id": run_id, "reset_dag_runs": True}
        await self._json("POST", f"/dags/{amap.path_part(dag_id)}/clearTaskInstances", body=body)
        return f"{dag_id} run {run_id}: failed tasks cleared: they run again"

    async def do_cancel(self, run: PipelineRun) -> str:
        raise SourceError(self.cancel_refusal)

    def set_paused(self, pipeline: str, paused: bool) -> str:
        self._writable()
        return self._sync(self._set_paused(pipeline, paused))

    async def _set_paused(self, pipeline: str, paused: bool) -> str:
        await self._json(
            "PATCH",
            f"/dags/{amap.path_part(pipeline)}",
            params={"update_mask": "is_paused"},
            body={"is_paused": paused},
        )
        return f"{pipeline} {'paused' if paused else 'unpaused'}"

    def mark(self, run: PipelineRun, status: RunStatus) -> str:
        self._writable()
        if status not in MARKS:
            raise SourceError(f"Airflow marks runs success or failed, not {status.value}")
        return self._sync(self._mark(run, MARKS[status]))

    async def _mark(self, run: PipelineRun, state: str) -> str:
        params = {"update_mask": "state"} if self.api == "v2" else None
        await self._json("PATCH", self._run_path(run), params=params, body={"state": state})
        self.window.reset()
        return f"{run.pipeline} run {amap.run_id_of(run)[1]} marked {state}"
