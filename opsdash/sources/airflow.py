"""Apache Airflow as a pipeline source: DAGs, DAG runs, task instances and their
logs, through the REST API v2 of Airflow 3 (API v1 of Airflow 2 where the shapes
allow; `api = "auto"` asks the server which it has).

Auth: with `user` and `password`, Airflow 3 hands out a JWT at ``/auth/token``
(`airflow_auth.TokenKeeper` renews it before it expires and on a 401), Airflow
2 takes them as Basic auth; a `token` is sent as a bearer token as it is.

A poll costs a few requests whatever the number of runs: the DAG list (100 a
page), the import errors, and the DAG runs changed since the previous poll
(`airflow_runs.RunWindow`). A run that finished is looked at once more, in one
batch request for all such runs, for what its tasks say: a TFX-shaped run's
Evaluator blessing and Pusher outcome, and whether a failed deploy or training
run reached its push step (`orchestrator.deployment_of`).

Keys: D triggers a DAG with a JSON conf, r clears a run (F: only its failed
tasks), p pauses or unpauses the DAG, m marks a run failed or success.
Airflow has no cancel: `c` says to mark the run failed instead.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from opsdash.model import PipelineJob, PipelineRun, PipelineSnapshot, RunStatus
from opsdash.redact import remember
from opsdash.sources import airflow_map as amap
from opsdash.sources.airflow_actions import AirflowActions
from opsdash.sources.airflow_auth import TokenKeeper
from opsdash.sources.airflow_outcomes import RunOutcomes
from opsdash.sources.airflow_runs import RunWindow
from opsdash.sources.base import SourceError
from opsdash.sources.ci import tail
from opsdash.sources.http import HttpClient, HttpError, shape_error
from opsdash.sources.lazy_module import lazy
from opsdash.sources.orchestrator import (
    OrchestratorConfig,
    OrchestratorSource,
    deployment_of,
)
from opsdash.sources.settings import one_of, option
from opsdash.sources.tfx import in_tfx_order, is_tfx

if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy("httpx")  # loaded on first use (opsdash.sources.lazy_module)

PAGE = 100  # DAGs and task instances per request


@dataclass(frozen=True, slots=True, kw_only=True)
class AirflowConfig(OrchestratorConfig):
    """One [[airflow]] table: the DAGs and runs of one Airflow."""

    kind: ClassVar[str] = "airflow"
    url: str = option(
        doc="the api-server (Airflow 3) or webserver (Airflow 2), e.g. http://airflow:8080",
        required='is required, e.g. "http://127.0.0.1:8080"',
    )
    api: str = option(
        "auto", doc='"v2" (Airflow 3), "v1" (Airflow 2) or "auto"', check=one_of("auto", "v2", "v1")
    )
    user: str = option("", doc="login: a JWT from /auth/token (Airflow 3), Basic auth (Airflow 2)")
    password: str = option("", doc="${ENV} reference", secret=True)
    jobs: tuple[str, ...] = option((), toml="dags", doc="only these DAG ids", default_doc="all")
    tags: tuple[str, ...] = option((), doc="only DAGs with one of these tags")
    dag_pattern: str = option("", doc='only DAG ids matching this SQL LIKE pattern, e.g. "ml_%"')
    blessing_xcom: str = option("blessing", doc="the XCom key of a TFX Evaluator task's blessing")
    deploy: str = option("", doc="the DAG that deploys the service: its final runs are deployments")


class AirflowSource(AirflowActions, OrchestratorSource):
    kind = "airflow"
    config_class = AirflowConfig
    parameters_word = "conf"
    rerun_word = "Clear"
    can_rerun_failed = True
    can_rerun_running = False
    cancel_refusal = (
        "Airflow cannot cancel a run: mark it failed with m, which stops its running tasks."
    )

    config: AirflowConfig

    def __init__(self, config: AirflowConfig, client: HttpClient | None = None):
        self.www = config.url.rstrip("/")
        super().__init__(config, client)
        self.api = "" if config.api == "auto" else config.api
        self.version = ""
        self.window = RunWindow(config.runs)
        self.keeper: TokenKeeper | None = None
        self._basic: dict[str, str] = {}
        self._basic_secret = None
        self.outcomes = RunOutcomes(self._json, config.blessing_xcom)
        self._paused: dict[str, bool] = {}

    def api_url(self) -> str:
        return self.www

    def auth(self) -> tuple[str, str] | None:
        return None  # decided per request once the API version is known

    # --- plumbing -------------------------------------------------------------------

    async def _detect(self) -> None:
        """The API version (from the health endpoints, which need no login) and the
        login that goes with it."""
        if not self.api:
            self.api = await self._probe()
        if self.config.token or not self.config.user:
            return
        if self.api == "v2" and self.keeper is None:
            self.keeper = TokenKeeper(
                self.client,
                f"{self.www}/auth/token",
                self.config.user,
                self.config.password,
                self.label,
            )
        elif self.api == "v1" and not self._basic:
            pair = f"{self.config.user}:{self.config.password}".encode()
            self._basic_secret = remember([self.config.password], users=[self.config.user])
            self._basic = {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}

    async def _probe(self) -> str:
        for api, path in (("v2", "/api/v2/monitor/health"), ("v1", "/api/v1/health")):
            response = await self.client.request("GET", f"{self.www}{path}", ok=(200, 404))
            if response.status_code == 200:
                return api
        raise SourceError(
            f"{self.label}: {self.www} is not an Airflow API"
            " (neither /api/v2/monitor/health nor /api/v1/health answers)"
        )

    async def _auth_header(self) -> dict[str, str]:
        if self.keeper is not None:
            return await self.keeper.header()
        return self._basic  # a static token is the client's own header

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        accept: str = "application/json",
    ) -> httpx.Response:
        """One API call (path under /api/<version>); a refused JWT is renewed once."""
        await self._detect()
        url = f"{self.www}/api/{self.api}{path}"
        for last in (False, True):
            headers = {"Accept": accept, **(await self._auth_header())}
            try:
                return await self.client.request(
                    method, url, params=params, json_body=body, headers=headers
                )
            except HttpError as exc:
                if exc.status == 401 and self.keeper is not None and not last:
                    # The token this request sent: a concurrent 401 renews once.
                    sent = headers.get("Authorization", "").removeprefix("Bearer ")
                    await self.keeper.renew(stale=sent)
                    continue
                if exc.status == 401:
                    who = self.config.user or "the token"
                    raise HttpError(f"{exc} ({self.label}: {who} is not accepted)", 401) from None
                raise
        raise AssertionError("unreachable")

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._call(method, path, **kwargs)
        return self.client.decode(response, method, path)

    @staticmethod
    def _items(body: Any, key: str, path: str) -> list[dict[str, Any]]:
        items = body.get(key) if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise shape_error("GET", path, KeyError(key))
        return [item for item in items if isinstance(item, dict)]

    async def _pages(self, path: str, key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a limit/offset collection, page by page, until `total_entries`."""
        found: list[dict[str, Any]] = []
        while True:
            body = await self._json("GET", path, params={**params, "offset": len(found)})
            page = self._items(body, key, path)
            found += page
            total = body.get("total_entries")
            if not page or not isinstance(total, int) or len(found) >= total:
                return found

    def _run_path(self, run: PipelineRun) -> str:
        return amap.run_path(*amap.run_id_of(run))

    # --- reading ----------------------------------------------------------------------

    async def fetch(self) -> PipelineSnapshot:
        await self._detect()
        dags, note = await asyncio.gather(self._dags(), self._import_errors())
        self._paused = {d.id: bool(d.paused) for d in dags}
        raw_runs = await self._runs(dags)
        await self.outcomes.learn(raw_runs)
        runs = [self._run(r) for r in raw_runs]
        reached = [self.outcomes.of(r).reached_push for r in raw_runs]
        service = self.config.service_name
        deployments = tuple(
            d
            for d in (deployment_of(r, service, ok) for r, ok in zip(runs, reached, strict=True))
            if d is not None
        )
        runs.sort(key=lambda r: r.created or datetime.min.replace(tzinfo=UTC), reverse=True)
        return PipelineSnapshot(
            source=self.label,
            provider=self.kind,
            runs=tuple(runs),
            deployments=deployments,
            quota=self.health_note(),
            pipelines=tuple(dags),
            notes=(note,) if note else (),
        )

    def _filters(self) -> dict[str, Any]:
        """The DAG list's id filter: v2 reads "a|b" as either; v1 takes one
        substring pattern, so there `dags` is applied here instead."""
        if self.api == "v1":
            return {"dag_id_pattern": self.config.dag_pattern} if self.config.dag_pattern else {}
        pattern = self.config.dag_pattern or "|".join(self.config.jobs)
        return {"dag_id_pattern": pattern} if pattern else {}

    @property
    def _filtered(self) -> bool:
        return bool(self.config.jobs or self.config.tags or self.config.dag_pattern)

    def _wanted(self, dag_id: str) -> bool:
        return not self.config.jobs or dag_id in self.config.jobs

    async def _dags(self):
        params: dict[str, Any] = {"limit": PAGE, **self._filters()}
        if self.config.tags:
            params["tags"] = list(self.config.tags)
        found = await self._pages("/dags", "dags", params)
        return [
            amap.dag_from(
                d,
                source=self.label,
                www=self.www,
                flags=self.config.flags,
            )
            for d in found
            if self._wanted(str(d.get("dag_id", "")))
        ]

    async def _import_errors(self) -> str:
        try:
            body = await self._json("GET", "/importErrors", params={"limit": 5})
        except HttpError as exc:
            if exc.status in (403, 404):
                return ""  # a Viewer may not read them; the runs still show
            raise
        errors = self._items(body, "import_errors", "/importErrors")
        total = body.get("total_entries")
        return amap.import_error_note(errors, total if isinstance(total, int) else len(errors))

    async def _runs(self, dags) -> list[dict[str, Any]]:
        """The newest runs of the DAGs shown: the whole window, or what changed
        since the last poll. Airflow 2 cannot filter its run list by DAG and
        change time at once: with a DAG filter it is read whole each poll."""
        ids = {d.id for d in dags}
        if self._filtered and not ids:
            self.window.take([], None, full=True)
            return []
        if self.api == "v1" and self._filtered:
            body = {"dag_ids": sorted(ids), "order_by": "-execution_date"}
            path = "/dags/~/dagRuns/list"
            reply = await self._json("POST", path, body={**body, "page_limit": self.config.runs})
            self.window.take(self._items(reply, "dag_runs", path), None, full=True)
            return self.window.runs
        full = self.window.wants_full()
        order = "-run_after" if self.api == "v2" else "-execution_date"
        params: dict[str, Any] = {"order_by": order}
        if self._filtered:
            params["dag_id_pattern"] = "|".join(sorted(ids))  # LIKE: checked exactly below
        if full:
            params["limit"] = self.config.runs
        else:
            params |= {"limit": PAGE, "updated_at_gte": self.window.delta_from()}
        response = await self._call("GET", "/dags/~/dagRuns", params=params)
        body = self.client.decode(response, "GET", "/dags/~/dagRuns")
        runs = self._items(body, "dag_runs", "/dags/~/dagRuns")
        if self._filtered:
            runs = [r for r in runs if r.get("dag_id") in ids]
        self.window.take(runs, _server_time(response), full=full)
        return self.window.runs

    def _run(self, raw: dict[str, Any]) -> PipelineRun:
        outcome = self.outcomes.of(raw)
        return amap.run_from(
            raw,
            source=self.label,
            project=self.config.name,
            www=self.www,
            flags=self.config.flags,
            verdict=(outcome.verdict, outcome.pushed),
        )

    async def fetch_jobs(self, run: PipelineRun) -> list[PipelineJob]:
        path = f"{self._run_path(run)}/taskInstances"
        found = await self._pages(path, "task_instances", {"limit": PAGE})
        # Upstream first: Airflow's default weight rule gives upstream tasks more weight.
        found.sort(
            key=lambda t: (
                -(t.get("priority_weight") or 0),
                str(t.get("start_date") or "~"),
                str(t.get("task_id")),
                t.get("map_index") or -1,
            )
        )
        jobs = [amap.job_from(t, run.url) for t in found]
        return in_tfx_order(jobs) if is_tfx(j.name for j in jobs) else jobs

    async def fetch_log(self, run: PipelineRun, job: PipelineJob) -> str:
        if job.status is RunStatus.QUEUED and job.started is None:
            return f"{job.name} has not started yet ({job.vendor_status}): no log."
        task_id, map_index = amap.task_address(job)
        path = f"{self._run_path(run)}/taskInstances/{amap.path_part(task_id)}/logs/{job.attempt}"
        params: dict[str, Any] = {"full_content": "true"}
        if map_index >= 0:
            params["map_index"] = map_index
        if self.api == "v1":  # Airflow 2's JSON log is a Python repr of (host, text) pairs
            response = await self._call("GET", path, params=params, accept="text/plain")
            return tail(response.text)
        body = await self._json("GET", path, params=params)
        return tail(amap.log_text(body))

    def health_note(self) -> str:
        return f"API {self.api}" if self.api else ""


def _server_time(response: httpx.Response) -> datetime | None:
    """The server's clock from its Date header (whole seconds), in UTC."""
    try:
        return email.utils.parsedate_to_datetime(response.headers["date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return None
