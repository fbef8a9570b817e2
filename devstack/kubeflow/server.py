"""KubeflowServer: Kubeflow Pipelines' REST API v2beta1 on 127.0.0.1, stateful.

    with KubeflowServer(tokens={"t0k3n": None}) as kfp:
        httpx.get(kfp.url + "/apis/v2beta1/runs", headers={"Authorization": "Bearer t0k3n"})

What it serves (backend/api/v2beta1/run.proto and pipeline.proto in kubeflow/pipelines):
list runs (namespace, experiment_id, page_size, page_token, sort_by, filter),
get, create, ``:retry`` and ``:terminate`` a run; list pipelines and a
pipeline's versions. Errors are grpc-gateway's body of a google.rpc.Status
(``{"error", "code", "message", "details"}``) with the HTTP status grpc-gateway
maps the code to (3 -> 400, 5 -> 404, 7 -> 403, 9 -> 400, 16 -> 401).

Runs progress on `clock` (a `ManualClock` in tests: `advance(seconds)`).
Every request is kept in `requests` (devstack.replay.Request) for tests to
assert on. Faults: `fail_next(n, status)`, `malformed_next(n, kind)` ("text":
not JSON; "shape": JSON of the wrong shape), `delay_next(n, seconds)`.
`tokens` maps each accepted bearer token to the namespaces it may use (None:
all); empty: no auth.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from devstack.kubeflow import seed
from devstack.kubeflow.query import InvalidArgument, page, parse_filter, sort_key
from devstack.kubeflow.runs import Pipeline, Run, rfc3339
from devstack.local_http import LocalHttpServer, QuietHandler
from devstack.replay import Request

API = "/apis/v2beta1"
HTTP_OF_CODE = {3: 400, 5: 404, 7: 403, 9: 400, 13: 500, 14: 503, 16: 401}

RUN_FIELDS: dict[str, Callable[[Run], Any]] = {}


class ManualClock:
    """Time that moves only when a test says so."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ApiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class KubeflowServer(LocalHttpServer):
    thread_name = "kubeflow-api"

    def __init__(
        self,
        *,
        tokens: dict[str, tuple[str, ...] | None] | None = None,
        clock: Callable[[], float] = time.time,
        seeded: bool = True,
    ) -> None:
        super().__init__()
        self.tokens = dict(tokens or {})
        # Whether listed runs carry run_details (a server may leave them to GET /runs/{id}).
        self.list_details = True
        # Filter keys this server does not know (KFP 2.0 has no pipeline_id, experiment_id).
        self.unknown_filter_keys: set[str] = set()
        self.clock = clock
        self.requests: list[Request] = []
        self.pipelines: dict[str, Pipeline] = {}
        self.experiments: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, Run] = {}
        self._faults: list[tuple[str, Any]] = []
        self._lock = threading.RLock()
        if seeded:
            seed.seed(self, clock())

    # --- setup and inspection (no HTTP) ------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_pipeline(self, pipeline: Pipeline) -> Pipeline:
        self.pipelines[pipeline.pipeline_id] = pipeline
        return pipeline

    def add_experiment(self, experiment_id: str, name: str, namespace: str) -> None:
        self.experiments[experiment_id] = {
            "experiment_id": experiment_id,
            "display_name": name,
            "namespace": namespace,
        }

    def add_run(self, run: Run) -> Run:
        with self._lock:
            self.runs[run.run_id] = run
        return run

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        self._faults += [("fail", status)] * count

    def malformed_next(self, count: int = 1, kind: str = "text") -> None:
        self._faults += [("malformed", kind)] * count

    def delay_next(self, count: int = 1, seconds: float = 1.0) -> None:
        self._faults += [("delay", seconds)] * count

    def calls(self, method: str | None = None, path: str | None = None) -> list[Request]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

    def mutations(self) -> list[Request]:
        return [r for r in self.calls() if r.method != "GET"]

    def state(self, run_id: str) -> str:
        return self.runs[run_id].state_at(self.clock())[0]

    # --- answering -------------------------------------------------------------------------

    def answer(self, request: Request) -> tuple[int, Any, float]:
        """(status, body, delay): body is JSON-able, or bytes sent as text."""
        with self._lock:
            self.requests.append(request)
            fault = self._faults.pop(0) if self._faults else None
        delay = 0.0
        if fault and fault[0] == "delay":
            delay = fault[1]
        if fault and fault[0] == "fail":
            return fault[1], _status(14 if fault[1] == 503 else 13, "upstream unavailable"), 0.0
        try:
            allowed = self._authorize(request)
            with self._lock:
                body = self._route(request, allowed)
        except ApiError as exc:
            return HTTP_OF_CODE.get(exc.code, 500), _status(exc.code, exc.message), delay
        except InvalidArgument as exc:
            return 400, _status(3, str(exc)), delay
        if fault and fault[0] == "malformed":
            if fault[1] == "text":
                return 200, b"<html><body>upstream connect error</body></html>", delay
            return 200, {"runs": "not a list", "pipelines": {"oops": 1}}, delay
        return 200, body, delay

    def _authorize(self, request: Request) -> tuple[str, ...] | None:
        if not self.tokens:
            return None
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token not in self.tokens:
            raise ApiError(16, "Unauthenticated: Request header error: there is no user identity")
        return self.tokens[token]

    @staticmethod
    def _check_namespace(namespace: str, allowed: tuple[str, ...] | None) -> None:
        if allowed is not None and namespace not in allowed:
            raise ApiError(
                7,
                f"PermissionDenied: Failed to authorize with API: User is not authorized"
                f" to access namespace {namespace or '(all)'}",
            )

    def _route(self, request: Request, allowed: tuple[str, ...] | None) -> Any:
        path = request.path
        if not path.startswith(API + "/"):
            raise ApiError(5, f"Not Found: {path}")
        parts = [unquote(p) for p in path[len(API) + 1 :].split("/")]
        method = request.method
        if parts == ["runs"] and method == "GET":
            return self._list_runs(request, allowed)
        if parts == ["runs"] and method == "POST":
            return self._create_run(request, allowed)
        if len(parts) == 2 and parts[0] == "runs":
            run_id, _, verb = parts[1].partition(":")
            run = self.runs.get(run_id)
            if run is None:
                raise ApiError(5, f"NotFoundError: Run {run_id} not found")
            self._check_namespace(run.namespace, allowed)
            if method == "GET" and not verb:
                return run.to_json(self.clock())
            if method == "POST" and verb == "retry":
                return self._retry(run)
            if method == "POST" and verb == "terminate":
                return self._terminate(run)
        if parts == ["pipelines"] and method == "GET":
            return self._list_pipelines(request, allowed)
        if len(parts) == 3 and parts[0] == "pipelines" and parts[2] == "versions":
            return self._list_versions(request, parts[1], allowed)
        raise ApiError(5, f"Not Found: {method} {path}")

    # --- runs --------------------------------------------------------------------------

    def _list_runs(self, request: Request, allowed: tuple[str, ...] | None) -> Any:
        namespace = request.arg("namespace") or ""
        self._check_namespace(namespace, allowed)
        experiment = request.arg("experiment_id") or ""
        known = {k: v for k, v in RUN_FIELDS.items() if k not in self.unknown_filter_keys}
        tests = parse_filter(request.arg("filter"), known)
        key, descending = sort_key(request.arg("sort_by"), RUN_FIELDS)
        runs = [
            r
            for r in self.runs.values()
            if (not namespace or r.namespace == namespace)
            and (not experiment or r.experiment_id == experiment)
        ]
        now = self.clock()
        for run in runs:
            run._now = now  # type: ignore[attr-defined] - read by RUN_FIELDS
        runs = [r for r in runs if all(test(r) for test in tests)]
        runs.sort(key=key, reverse=descending)
        query = json.dumps([namespace, experiment, request.arg("filter"), request.arg("sort_by")])
        chunk, following = page(runs, request.arg("page_size"), request.arg("page_token"), query)
        return {
            "runs": [r.to_json(now, details=self.list_details) for r in chunk],
            "total_size": len(runs),
            "next_page_token": following,
        }

    def _create_run(self, request: Request, allowed: tuple[str, ...] | None) -> Any:
        try:
            body = request.json
        except ValueError:
            raise ApiError(3, "Invalid input error: the body is not JSON") from None
        if not isinstance(body, dict) or not str(body.get("display_name") or "").strip():
            raise ApiError(3, "Invalid input error: The run name is empty")
        reference = body.get("pipeline_version_reference") or {}
        pipeline = self.pipelines.get(str(reference.get("pipeline_id") or ""))
        version = str(reference.get("pipeline_version_id") or "")
        if pipeline is None or version not in {v[0] for v in pipeline.versions}:
            raise ApiError(5, f"NotFoundError: pipeline version {version!r} not found")
        experiment_id = str(body.get("experiment_id") or seed.DEFAULT_EXPERIMENT)
        experiment = self.experiments.get(experiment_id)
        if experiment is None:
            raise ApiError(5, f"NotFoundError: experiment {experiment_id} not found")
        self._check_namespace(experiment["namespace"], allowed)
        config = body.get("runtime_config") or {}
        parameters = config.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ApiError(3, "Invalid input error: runtime_config.parameters must be an object")
        run = Run.plan(
            run_id=str(uuid.uuid4()),
            display_name=str(body["display_name"]),
            experiment_id=experiment_id,
            pipeline=pipeline,
            version_id=version,
            parameters=parameters,
            created=self.clock(),
            description=str(body.get("description") or ""),
            service_account=str(body.get("service_account") or ""),
        )
        run.namespace = experiment["namespace"]
        self.add_run(run)
        return run.to_json(self.clock())

    def _retry(self, run: Run) -> Any:
        state = run.state_at(self.clock())[0]
        if state not in ("FAILED", "CANCELED"):
            raise ApiError(
                9,
                f"Failed to retry run {run.run_id}: FailedPrecondition: the run is {state};"
                " only a failed or terminated run can be retried",
            )
        run.retry(self.clock())
        return {}

    def _terminate(self, run: Run) -> Any:
        state = run.state_at(self.clock())[0]
        if state in ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED", "CANCELING"):
            raise ApiError(
                9,
                f"Failed to terminate run {run.run_id}: FailedPrecondition: the run is {state}",
            )
        run.terminate(self.clock())
        return {}

    # --- pipelines ---------------------------------------------------------------------

    def _list_pipelines(self, request: Request, allowed: tuple[str, ...] | None) -> Any:
        namespace = request.arg("namespace") or ""
        if namespace:
            self._check_namespace(namespace, allowed)
        pipelines = [
            p
            for p in self.pipelines.values()
            if (not namespace or p.namespace in (namespace, ""))
            and (allowed is None or p.namespace in (*allowed, ""))
        ]
        pipelines.sort(key=lambda p: p.created)
        query = json.dumps(["pipelines", namespace])
        chunk, following = page(
            pipelines, request.arg("page_size"), request.arg("page_token"), query
        )
        return {
            "pipelines": [
                {
                    "pipeline_id": p.pipeline_id,
                    "display_name": p.display_name,
                    "description": f"components: {', '.join(p.components)}",
                    "created_at": rfc3339(p.created),
                    "namespace": p.namespace,
                }
                for p in chunk
            ],
            "total_size": len(pipelines),
            "next_page_token": following,
        }

    def _list_versions(
        self, request: Request, pipeline_id: str, allowed: tuple[str, ...] | None
    ) -> Any:
        pipeline = self.pipelines.get(pipeline_id)
        if pipeline is None:
            raise ApiError(5, f"NotFoundError: pipeline {pipeline_id} not found")
        if pipeline.namespace:
            self._check_namespace(pipeline.namespace, allowed)
        fields = {"created_at": lambda v: v[2], "display_name": lambda v: v[1]}
        key, descending = sort_key(request.arg("sort_by"), fields)
        versions = sorted(pipeline.versions, key=key, reverse=descending)
        query = json.dumps(["versions", pipeline_id, request.arg("sort_by")])
        chunk, following = page(
            versions, request.arg("page_size"), request.arg("page_token"), query
        )
        return {
            "pipeline_versions": [
                {
                    "pipeline_id": pipeline_id,
                    "pipeline_version_id": vid,
                    "display_name": name,
                    "created_at": rfc3339(created),
                }
                for vid, name, created in chunk
            ],
            "total_size": len(versions),
            "next_page_token": following,
        }

    # --- HTTP ------------------------------------------------------------------------------

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(QuietHandler):
            def _serve(self) -> None:
                request = Request.read(self)
                status, body, delay = server.answer(request)
                if delay:
                    time.sleep(delay)
                if isinstance(body, bytes):
                    payload, kind = body, "text/html"
                else:
                    payload, kind = json.dumps(body).encode(), "application/json"
                self.send_reply(status, payload, [("Content-Type", kind)])

            do_GET = do_POST = do_DELETE = _serve

        return _Handler


def _status(code: int, message: str) -> dict[str, Any]:
    """grpc-gateway's error body: google.rpc.Status plus its `error` copy."""
    return {
        "error": message,
        "code": code,
        "message": message,
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.Status",
                "code": code,
                "message": message,
            }
        ],
    }


def _when(run: Run) -> float:
    return getattr(run, "_now", time.time())


RUN_FIELDS.update(
    {
        "run_id": lambda r: r.run_id,
        "display_name": lambda r: r.display_name,
        "name": lambda r: r.display_name,
        "description": lambda r: r.description,
        "created_at": lambda r: r.created,
        "scheduled_at": lambda r: r.pending_until,
        "finished_at": lambda r: r.state_at(_when(r))[1],
        "storage_state": lambda r: r.storage_state,
        "state": lambda r: r.state_at(_when(r))[0],
        "namespace": lambda r: r.namespace,
        "experiment_id": lambda r: r.experiment_id,
        "recurring_run_id": lambda r: r.recurring_run_id,
        "pipeline_id": lambda r: r.pipeline.pipeline_id,
        "pipeline_version_id": lambda r: r.version_id,
    }
)
