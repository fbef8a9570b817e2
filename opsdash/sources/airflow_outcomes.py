"""What the tasks of finished Airflow runs say, read once per run.

A TFX-shaped run's row shows its Evaluator's blessing and its Pusher's outcome,
and a failed run of a deploy or training DAG is a failed deployment only if it
reached its push step; both are read from the run's task instances. A finished
run does not change (until it is cleared, which gives it a new end date), so
each is read once: all the runs that finished since the last poll in one batch
request (``POST /dags/~/dagRuns/~/taskInstances/list``), plus one XCom read
per TFX run for the blessing, a few a poll.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from opsdash.model import PipelineJob, RunStatus
from opsdash.sources import airflow_map as amap
from opsdash.sources.http import HttpError, shape_error
from opsdash.sources.orchestrator import reached_push
from opsdash.sources.tfx import is_tfx, verdict

RUNS_PER_POLL = 200  # finished runs whose tasks one poll looks at
BLESSINGS_PER_POLL = 10  # Evaluator XComs one poll reads (one request each)
BATCH_PAGE = 1000

CallJson = Callable[..., Awaitable[Any]]  # (method, path, params=, body=) -> decoded JSON


@dataclass(frozen=True, slots=True)
class Outcome:
    end_date: str  # of the run when read: a cleared run finishes again with another
    verdict: str = ""  # "blessed · pushed", "" for a run that is not TFX-shaped
    pushed: bool = False
    reached_push: bool = False


NOTHING = Outcome("")


def run_key(raw: dict[str, Any]) -> str:
    """The opsdash run id of a raw DAG run or task instance."""
    return f"{raw.get('dag_id')}/{raw.get('dag_run_id') or raw.get('run_id')}"


class RunOutcomes:
    """The outcomes read so far, by opsdash run id."""

    def __init__(self, call_json: CallJson, blessing_xcom: str):
        self._json = call_json
        self.blessing_xcom = blessing_xcom
        self._known: dict[str, Outcome] = {}

    def of(self, raw: dict[str, Any]) -> Outcome:
        """The outcome of this run as it is now; NOTHING until read (or once cleared)."""
        known = self._known.get(run_key(raw))
        fresh = known is not None and known.end_date == str(raw.get("end_date") or "")
        return known if fresh and known is not None else NOTHING

    async def learn(self, raw_runs: list[dict[str, Any]]) -> None:
        todo = [
            raw
            for raw in raw_runs
            if raw.get("state") in ("success", "failed") and self.of(raw) is NOTHING
        ][:RUNS_PER_POLL]
        if not todo:
            return
        tasks = await self._batch_tasks(todo)
        blessings = 0
        for raw in todo:
            if run_key(raw) not in tasks:
                continue  # no task instance came back: asked again next poll, not cached
            jobs = [amap.job_from(t) for t in tasks[run_key(raw)]]
            tfx = is_tfx(j.name for j in jobs)
            blessed = None
            if tfx:
                if blessings >= BLESSINGS_PER_POLL:
                    continue  # the next poll reads it
                blessings += 1
                blessed = await self._blessing(raw, jobs)
            self._known[run_key(raw)] = self._outcome(raw, jobs, tfx, blessed)

    @staticmethod
    def _outcome(
        raw: dict[str, Any], jobs: list[PipelineJob], tfx: bool, blessed: bool | None
    ) -> Outcome:
        evaluator = amap.component_task(jobs, "Evaluator")
        pusher = amap.component_task(jobs, "Pusher")
        if blessed is None and evaluator is not None and evaluator.status is RunStatus.SUCCESS:
            # No blessing XCom: a Pusher that pushed was blessed, one skipped was not.
            state = pusher.status if pusher is not None else None
            blessed = {RunStatus.SUCCESS: True, RunStatus.SKIPPED: False}.get(state)  # type: ignore[arg-type]
        words, pushed = verdict(blessed, pusher.status if pusher else None) if tfx else ("", False)
        return Outcome(str(raw.get("end_date") or ""), words, pushed, reached_push(jobs))

    async def _batch_tasks(self, raws: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """The task instances of these runs, by opsdash run id."""
        body: dict[str, Any] = {
            "dag_ids": sorted({str(r.get("dag_id")) for r in raws}),
            "dag_run_ids": sorted({str(r.get("dag_run_id") or r.get("run_id")) for r in raws}),
        }
        path = "/dags/~/dagRuns/~/taskInstances/list"
        found: dict[str, list[dict[str, Any]]] = {}
        offset = 0
        while True:
            page_body = {**body, "page_limit": BATCH_PAGE, "page_offset": offset}
            reply = await self._json("POST", path, body=page_body)  # both versions page it
            page = reply.get("task_instances") if isinstance(reply, dict) else None
            if not isinstance(page, list):
                raise shape_error("POST", path, KeyError("task_instances"))
            for task in page:
                if isinstance(task, dict):
                    found.setdefault(run_key(task), []).append(task)
            offset += len(page)
            total = reply.get("total_entries")
            if not page or not isinstance(total, int) or offset >= total:
                return found

    async def _blessing(self, raw: dict[str, Any], jobs: list[PipelineJob]) -> bool | None:
        evaluator = amap.component_task(jobs, "Evaluator")
        if evaluator is None or not self.blessing_xcom:
            return None
        task_id, _ = amap.task_address(evaluator)
        run = amap.run_path(str(raw.get("dag_id")), str(raw.get("dag_run_id") or raw.get("run_id")))
        path = (
            f"{run}/taskInstances/{amap.path_part(task_id)}"
            f"/xcomEntries/{amap.path_part(self.blessing_xcom)}"
        )
        try:
            entry = await self._json("GET", path)
        except HttpError as exc:
            if exc.status in (400, 403, 404):
                return None  # no such XCom: the tasks' states decide
            raise
        return amap.blessing_of(entry.get("value") if isinstance(entry, dict) else None)
