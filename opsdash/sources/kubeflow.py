"""Kubeflow Pipelines (REST API v2beta1) as an orchestrator source.

A poll lists the pipelines, then the newest runs, page by page and narrowed
on the server where it can (`kubeflow_list`): two requests when nothing
changed. A pipeline's newest version (what D triggers) is read when the
pipeline is first seen, when a run names a version not seen before, and every
`VERSIONS_EVERY` polls. Runs carry their task details, so a TFX run's verdict
needs no second request (`kubeflow_map`). A run's jobs are its tasks (``GET /runs/{id}``); KFP's REST
API serves no logs, so a job's "log" is one line naming the pod to read.

r retries a failed or terminated run (``:retry``; KFP refuses any other),
c terminates one (``:terminate``), D creates a run of a pipeline version with
the parameters typed (``POST /runs``, in the configured experiment). Final
runs of the deploy or training pipeline are deployments
(`orchestrator.deployment_of`); for a failed one the tasks say whether it
reached its push step, read once per run (a final run no longer changes).

Auth is a bearer token: `token`, or `token_file` (a service-account token the
kubelet rotates; `bearer_file`). A 401 is "token refused", a 403 "no access to
namespace ..."; neither line holds the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from opsdash.model import (
    PipelineJob,
    PipelineRun,
    PipelineSnapshot,
    RunStatus,
    VendorDeployment,
)
from opsdash.sources import kubeconfig
from opsdash.sources import kubeflow_map as kmap
from opsdash.sources.base import Detection, SourceError
from opsdash.sources.bearer_file import BearerFileClient
from opsdash.sources.http import HttpClient, HttpError, shape_error
from opsdash.sources.kubeflow_list import RunLister
from opsdash.sources.kubeflow_pipelines import PipelineCatalog
from opsdash.sources.orchestrator import (
    OrchestratorConfig,
    OrchestratorSource,
    deployment_of,
    reached_push,
)
from opsdash.sources.settings import expand_user, http_url, option

IN_CLUSTER_URL = "http://ml-pipeline.kubeflow:8888"
SA_TOKEN_PATH = "/var/run/secrets/kubeflow/pipelines/token"  # the kfp SDK's default
RETRYABLE = (RunStatus.FAILED, RunStatus.CANCELLED)
VERSIONS_EVERY = 20  # polls between two reads of every pipeline's newest version


@dataclass(frozen=True, slots=True, kw_only=True)
class KubeflowConfig(OrchestratorConfig):
    """One [[kubeflow]] table: the runs of a Kubeflow Pipelines API server."""

    kind: ClassVar[str] = "kubeflow"
    url: str = option(
        doc="the API server (in a pod: http://ml-pipeline.kubeflow:8888), or the UI's"
        " /pipeline path through the Kubeflow gateway; else $KF_PIPELINES_ENDPOINT",
        check=http_url,
        env=("KF_PIPELINES_ENDPOINT",),
        required='is required, e.g. "http://ml-pipeline.kubeflow:8888"',
    )
    namespace: str = option("", doc="the profile namespace (multi-user Kubeflow); empty: all")
    experiments: tuple[str, ...] = option((), doc="experiment ids whose runs are shown; empty: all")
    experiment: str = option(
        "", doc="the experiment id D creates runs in", default_doc="the first of experiments"
    )
    pipelines: tuple[str, ...] = option(
        (), doc="pipelines shown, by id or display name; empty: all"
    )
    token_file: str = option(
        "",
        doc="a file holding the bearer token (a service-account token), re-read when it changes",
        env=("KF_PIPELINES_SA_TOKEN_PATH",),
        check=expand_user,
        default_doc="$KF_PIPELINES_SA_TOKEN_PATH",
    )
    service: str = option(
        "", doc="the service its deployments deploy (DORA keys)", default_doc="the name"
    )
    deploy: str = option(
        "", doc="pipeline (name, id or version id) whose final runs are deployments"
    )
    training: str = option(
        "",
        doc="pipeline (name, id or version id) that retrains this table's models: D on a"
        " model in breach runs it, and its final runs are deployments",
    )


class KubeflowSource(OrchestratorSource):
    kind = "kubeflow"
    config_class = KubeflowConfig
    setup_hint = "set KF_PIPELINES_ENDPOINT, or run opsdash in a pod of a Kubeflow cluster"
    parameters_word: ClassVar[str] = "parameters"
    can_rerun_failed: ClassVar[bool] = False
    can_rerun_running: ClassVar[bool] = False
    rerun_word: ClassVar[str] = "Retry"

    config: KubeflowConfig

    def __init__(self, config: KubeflowConfig, client: HttpClient | None = None):
        super().__init__(config, client)
        self.ui_root = config.url.rstrip("/")
        # (run id, finished) -> a final run's tasks, read once per finish
        self._final_jobs: dict[tuple[str, Any], list[PipelineJob]] = {}
        self._pods: dict[tuple[str, str], str] = {}  # (run id, task id) -> pod name
        self._polls = 0
        self.catalog = PipelineCatalog(self._get, config)
        self.lister = RunLister(self._get, config)

    @classmethod
    def autodetect(cls, detection: Detection) -> tuple[KubeflowConfig, ...]:
        env = detection.environ
        url = env.get("KF_PIPELINES_ENDPOINT", "")
        if (
            not url
            and env.get("KUBERNETES_SERVICE_HOST")
            and kubeconfig.service_resolves(urlsplit(IN_CLUSTER_URL).hostname or "")
        ):
            url = IN_CLUSTER_URL
        if not url:
            return ()
        token_file = env.get("KF_PIPELINES_SA_TOKEN_PATH", "")
        if not token_file and Path(SA_TOKEN_PATH).is_file():
            token_file = SA_TOKEN_PATH
        return (KubeflowConfig(name="kubeflow", url=url.rstrip("/"), token_file=token_file),)

    # --- the client ------------------------------------------------------------------

    def api_url(self) -> str:
        return self.config.url.rstrip("/") + kmap.API

    def headers(self) -> dict[str, str]:
        return {} if self.config.token_file else super().headers()

    def make_client(self) -> HttpClient:
        if not self.config.token_file:
            return super().make_client()
        return BearerFileClient(
            self.api_url(),
            token_file=self.config.token_file,
            ca_bundle=self.config.ca_bundle,
            timeout=self.config.timeout,
            secrets=self.secrets(),
        )

    async def _call(self, coro: Any) -> Any:
        """Await one client call; 401 and 403 become the line a user can act on."""
        try:
            return await coro
        except HttpError as exc:
            if exc.status == 401:
                how = "token_file" if self.config.token_file else "token"
                raise HttpError(
                    f"{self.label}: token refused (HTTP 401) by {urlsplit(self.config.url).hostname};"
                    f" check its {how}",
                    401,
                ) from None
            if exc.status == 403:
                where = self.config.namespace or "(all namespaces)"
                raise HttpError(
                    f"{self.label}: no access to namespace {where} (HTTP 403)", 403
                ) from None
            raise

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self._call(self.client.get_json(path, params))
        if not isinstance(body, dict):
            raise shape_error("GET", self.api_url() + path, TypeError("expected an object"))
        return body

    async def _post(self, path: str, body: Any = None) -> dict[str, Any]:
        response = await self._call(self.client.request("POST", path, json_body=body or {}))
        decoded = self.client.decode(response, "POST", self.api_url() + path)
        return decoded if isinstance(decoded, dict) else {}

    # --- reading: runs ----------------------------------------------------------------------

    def _runs_of(self, bodies: list[dict[str, Any]]) -> list[PipelineRun]:
        names = self.catalog.names()  # once a poll
        return [
            kmap.run_from(
                body,
                source=self.label,
                project=self.config.namespace or self.config.name,
                pipeline_names=names,
                ui_root=self.ui_root,
                flags=self.config.flags,
            )
            for body in bodies
        ]

    async def fetch(self) -> PipelineSnapshot:
        self._polls += 1
        pairs = await self.catalog.read(all_versions=self._polls % VERSIONS_EVERY == 0)
        notes: list[str] = []
        pipeline_ids: list[str] | None = None
        if self.config.pipelines:
            pipeline_ids = sorted(str(p["pipeline_id"]) for p, _v in pairs)
            known = {
                str(p.get(k) or "") for p, _v in pairs for k in ("pipeline_id", "display_name")
            }
            missing = [p for p in self.config.pipelines if p not in known]
            if missing:
                notes.append(f"no pipeline named {', '.join(missing)} on {self.ui_root}")
        bodies = await self.lister.runs(pipeline_ids) if pipeline_ids != [] else []
        if self.lister.filter_here:
            notes.append(self.lister.note)
        pairs = await self.catalog.note_runs(bodies, pairs)
        runs = self._runs_of(bodies)
        shown = {str(body.get("run_id")) for body in bodies}
        # Only the runs shown are remembered: the caches do not grow with history.
        self._pods = {key: pod for key, pod in self._pods.items() if key[0] in shown}
        self._final_jobs = {key: jobs for key, jobs in self._final_jobs.items() if key[0] in shown}
        for body in bodies:
            for task_id, pod in kmap.pods_of(body).items():
                self._pods[(str(body.get("run_id")), task_id)] = pod
        deployments = await self._deployments(runs, bodies)
        definitions = tuple(
            kmap.definition_from(
                p, v, source=self.label, ui_root=self.ui_root, flags=self.config.flags
            )
            for p, v in pairs
        )
        return PipelineSnapshot(
            source=self.label,
            provider=self.kind,
            runs=tuple(runs),
            deployments=tuple(deployments),
            pipelines=definitions,
            notes=tuple(notes),
        )

    async def _deployments(
        self, runs: list[PipelineRun], bodies: list[dict[str, Any]]
    ) -> list[VendorDeployment]:
        found: list[VendorDeployment] = []
        for run, body in zip(runs, bodies, strict=True):
            if not (run.is_deploy or run.is_training) or not run.status.finished:
                continue
            reached = False
            if run.status is RunStatus.FAILED:
                reached = reached_push(await self._jobs_of_final(run, body))
            deployment = deployment_of(run, self.config.service_name, reached)
            if deployment is not None:
                found.append(deployment)
        return found

    async def _jobs_of_final(self, run: PipelineRun, body: dict[str, Any]) -> list[PipelineJob]:
        """A final run's tasks: from the list when it carried them, else read once."""
        key = (run.id, run.finished)  # a retried run keeps its id and finishes again
        cached = self._final_jobs.get(key)
        if cached is None:
            cached = kmap.jobs_from(body)
            if not cached:
                cached = kmap.jobs_from(await self._get(f"/runs/{run.id}"))
            self._final_jobs[key] = cached
        return cached

    async def fetch_jobs(self, run: PipelineRun) -> list[PipelineJob]:
        body = await self._get(f"/runs/{run.id}")
        for task_id, pod in kmap.pods_of(body).items():
            self._pods[(run.id, task_id)] = pod
        return kmap.jobs_from(body)

    async def fetch_log(self, run: PipelineRun, job: PipelineJob) -> str:
        """KFP's REST API has no log endpoint: say which pod holds the log."""
        pod = self._pods.get((run.id, job.id))
        if pod is None:
            await self.fetch_jobs(run)
            pod = self._pods.get((run.id, job.id))
        if not pod:
            return (
                f"{job.name} has no pod ({job.vendor_status or job.status.value}): nothing ran,"
                " so there is no log. Kubeflow Pipelines' REST API serves no logs."
            )
        namespace = self.config.namespace or "kubeflow"
        return (
            "Kubeflow Pipelines' REST API serves no logs; read the task's pod:"
            f" kubectl logs -n {namespace} {pod} -c main"
        )

    # --- acting -------------------------------------------------------------------------

    async def do_rerun(self, run: PipelineRun, failed_only: bool) -> str:
        self._writable()
        if run.status not in RETRYABLE:
            raise SourceError(
                f"{self.label}: run {run.message or run.id} is {run.vendor_status or run.status};"
                " Kubeflow retries only a failed or terminated run"
            )
        await self._post(f"/runs/{run.id}:retry")
        return f"retry of run {run.message or run.id} requested"

    async def do_cancel(self, run: PipelineRun) -> str:
        self._writable()
        if run.status.finished:
            raise SourceError(f"{self.label}: run {run.message or run.id} has already finished")
        await self._post(f"/runs/{run.id}:terminate")
        return f"terminate of run {run.message or run.id} requested"

    async def do_trigger(self, pipeline: str, parameters: dict[str, Any]) -> str:
        self._writable()
        pipeline_id, version_id, name = await self.catalog.resolve(pipeline, self.label)
        stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
        body: dict[str, Any] = {
            "display_name": f"{name} {stamp} (opsdash)",
            "pipeline_version_reference": {
                "pipeline_id": pipeline_id,
                "pipeline_version_id": version_id,
            },
            "runtime_config": {"parameters": dict(parameters)},
        }
        experiment = self.config.experiment or next(iter(self.config.experiments), "")
        if experiment:
            body["experiment_id"] = experiment
        created = await self._post("/runs", body)
        run_id = str(created.get("run_id") or "?")
        state = str(created.get("state") or "PENDING")
        return f"run {run_id} of {name} created ({state})"
