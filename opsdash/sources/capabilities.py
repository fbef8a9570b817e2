"""What a source can do beyond `poll()`, as typed protocols.

The UI and the actions ask `isinstance(source, RerunsRuns)` rather than
probing for a maybe-attribute, so a new backend gets a key by implementing
the protocol, and a type checker sees every call. The methods are blocking
and are called from worker threads, never from the UI thread. Members that
`isinstance` reads (attributes, properties) must be cheap: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from opsdash.model import ContainerDetails, PipelineJob, PipelineRun, RunStatus
    from opsdash.model.deployments import TimelineEntry
    from opsdash.model.kube import KubePod, KubeWorkload, WorkloadDetails
    from opsdash.model.ml import AliasPlan, ModelsSnapshot
    from opsdash.sources.kubeconfig import KubectlAccess


@runtime_checkable
class LogStream(Protocol):
    """Lines as they come; `close()` ends the stream from another thread."""

    def __iter__(self) -> Iterator[str]: ...

    def close(self) -> None: ...


@runtime_checkable
class ContainerEngine(Protocol):
    """An engine whose containers opsdash inspects, follows and redeploys (d, l, R).

    Its `client` property (the engine API the container actions drive) is not
    part of the check: on Python 3.11 `isinstance` reads every protocol member,
    and reading `client` connects."""

    def details(self, container_id: str) -> ContainerDetails: ...

    def logs(
        self,
        container_id: str,
        tail: int = 1000,
        follow: bool = True,
        *,
        since: float | None = None,
        timestamps: bool = False,
    ) -> LogStream: ...


@runtime_checkable
class ServiceLogs(Protocol):
    """An orchestrator whose services' logs come as one stream of all their
    tasks (`L` on a Swarm service): `LogLine`s stamped and named after their task."""

    def service_logs(
        self,
        service_id: str,
        service_name: str,
        tail: int = 1000,
        follow: bool = True,
        *,
        since: float | None = None,
    ) -> LogStream: ...


@runtime_checkable
class WaitsForStats(Protocol):
    """Samples in the background; a one-shot CLI command sets this to wait for them."""

    blocking_stats: bool


@runtime_checkable
class RunDetails(Protocol):
    """The jobs of a pipeline run and the tail of one job's log (Enter on a run)."""

    def jobs(self, run: PipelineRun) -> list[PipelineJob]: ...

    def log_tail(self, run: PipelineRun, job: PipelineJob) -> str: ...


@runtime_checkable
class RerunsRuns(Protocol):
    """r reruns a run, c cancels one; F reruns only the failed jobs where
    `can_rerun_failed` says the vendor can; a run still going is rerun only
    where `can_rerun_running` says so (GitHub refuses)."""

    can_rerun_failed: bool
    can_rerun_running: bool

    def rerun(self, run: PipelineRun, failed_only: bool = False) -> str: ...

    def cancel(self, run: PipelineRun) -> str: ...


@runtime_checkable
class Deploys(Protocol):
    """D triggers the configured deploy (`deploy_target` is "" when none is)."""

    @property
    def deploy_target(self) -> str: ...

    @property
    def default_ref(self) -> str: ...

    def deploy(self, ref: str) -> str: ...


@runtime_checkable
class RemembersDeployments(Protocol):
    """Reads vendor deployments; `recorded` says which ids the store already has,
    so a one-shot command does not read them again."""

    recorded: Callable[[], Collection[str]] | None


@runtime_checkable
class HasTimeline(Protocol):
    """The deployments screen's history of one service (or all); `runs` and
    `models` are the polled pipeline runs and models snapshots it links."""

    def timeline(
        self,
        service: str | None,
        runs: Iterable[PipelineRun] = (),
        limit: int = 500,
        models: Iterable[ModelsSnapshot] = (),
    ) -> list[TimelineEntry]: ...


@runtime_checkable
class ModelRegistry(Protocol):
    """A model registry whose serving alias P and u move (`opsdash.actions.models`).

    Only the registry calls: read a model's aliases and tags, a version's status
    and metrics, set an alias, set a tag. The plan, the journaled steps and the
    rollback record are actions, so a second registry implements these five.
    `set_alias` takes the whole plan: one vendor call, told why it is made.
    """

    read_only: bool

    @property
    def label(self) -> str: ...

    @property
    def serving_alias(self) -> str: ...

    def model_state(self, model: str) -> tuple[dict[str, str], dict[str, str]]: ...

    def version_metrics(
        self, model: str, version: str
    ) -> tuple[str, tuple[tuple[str, float], ...]]: ...

    def set_alias(self, plan: AliasPlan) -> None: ...

    def set_tag(self, model: str, key: str, value: str) -> None: ...


@runtime_checkable
class Cluster(Protocol):
    """A Kubernetes context: Enter on a workload, `l` on a pod, and what the
    Kubernetes actions (`opsdash.actions.kubernetes`) read and patch.

    `current` answers from the watches (no request); `read`, `replicasets`,
    `details` and `api.call` ask the server. `api.call(method, path, params=,
    body=, content_type=)` is one request, raising `KubeError` (with `status`)."""

    read_only: bool
    auto_undo: bool

    @property
    def context(self) -> str: ...

    @property
    def label(self) -> str: ...

    def current(self, kind: str, namespace: str, name: str) -> KubeWorkload | KubePod | None: ...

    def read(self, kind: str, namespace: str, name: str) -> KubeWorkload: ...

    def replicasets(self, workload: KubeWorkload) -> list[dict[str, Any]]: ...

    def details(self, workload: KubeWorkload) -> WorkloadDetails: ...

    def pod_logs(
        self,
        pod: KubePod,
        container: str,
        *,
        tail: int = 1000,
        follow: bool = True,
        previous: bool = False,
    ) -> LogStream: ...

    def delete_pod(self, pod: KubePod) -> dict[str, Any]: ...


@runtime_checkable
class ExecsInPods(Protocol):
    """`E` on a pod: a shell through `kubectl exec -it` (`opsdash.actions.kube_shell`),
    pointed at the files and context the source itself reads. No I/O."""

    def kubectl_access(self) -> KubectlAccess: ...


@runtime_checkable
class TriggersPipelines(Protocol):
    """An orchestrator (Airflow, Kubeflow Pipelines): D starts a new run of a
    pipeline with parameters typed in the dialog as one JSON object.

    `parameters_word` names them in the dialog ("conf", "parameters");
    `training_pipeline` is the pipeline that retrains the source's models
    ("" when none is configured), which D on a model in breach triggers."""

    parameters_word: str

    @property
    def label(self) -> str: ...

    @property
    def training_pipeline(self) -> str: ...

    def trigger(self, pipeline: str, parameters: dict[str, Any]) -> str: ...


@runtime_checkable
class PausesPipelines(Protocol):
    """p pauses or unpauses a pipeline's schedule (an Airflow DAG)."""

    def set_paused(self, pipeline: str, paused: bool) -> str: ...


@runtime_checkable
class MarksRuns(Protocol):
    """m sets a run's final state by hand (Airflow: mark failed or success).
    The dialog asks for the run's name to be typed: it changes history."""

    def mark(self, run: PipelineRun, status: RunStatus) -> str: ...
