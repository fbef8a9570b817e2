"""Which service a container, Swarm service, Kubernetes workload, CI source or
model belongs to.

The Deployments panel groups deployment events by service; every place that
records one (opsdash's own actions, the watchers, CI sources) names the
service the same way through these functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from opsdash.config import Config, ServiceConfig
from opsdash.sources.capabilities import TriggersPipelines

if TYPE_CHECKING:
    from opsdash.model.kube import KubeWorkload


def _configured(config: Config, name: str, labels: dict[str, str]) -> ServiceConfig | None:
    return next((s for s in config.services if s.matches(name, labels)), None)


def service_of_container(config: Config, name: str, labels: dict[str, str]) -> str:
    """A matching [[service]], else the compose "project/service", else the name."""
    configured = _configured(config, name, labels)
    if configured is not None:
        return configured.name
    project = labels.get("com.docker.compose.project", "")
    service = labels.get("com.docker.compose.service", "")
    return f"{project}/{service}" if project and service else name


def service_of_swarm(config: Config, name: str, labels: dict[str, str] | None = None) -> str:
    configured = _configured(config, name, labels or {})
    return configured.name if configured is not None else name


def service_of_workload(config: Config, workload: KubeWorkload) -> str:
    """A [[service]] matching the workload, else its name.

    `match_name` is tried on the name and on "namespace/name" (so "prod/*"
    takes a namespace); `match_label` on its labels and its selector's
    (app.kubernetes.io/name is often only in the selector).
    """
    labels = {**dict(workload.selector), **dict(workload.labels)}
    names = (workload.name, f"{workload.namespace}/{workload.name}")
    configured = next(
        (s for s in config.services if any(s.matches(n, labels) for n in names)), None
    )
    return configured.name if configured is not None else workload.name


def service_of_model(config: Config, model: str) -> str:
    return next((s.name for s in config.services if model in s.models), model)


def service_of_pipeline(config: Config, source_name: str, default: str) -> str:
    """The [[service]] listing this CI source (by name), else the source's own."""
    return next((s.name for s in config.services if source_name in s.pipelines), default)


def service_of_source(config: Config, source: object) -> str:
    """The service an orchestrator or CI source works for: the [[service]]
    listing it in `pipelines`, else its table's `service` (CiConfig.service_name),
    else its name."""
    name = str(getattr(source, "name", ""))
    default = str(getattr(getattr(source, "config", None), "service_name", "") or name)
    return service_of_pipeline(config, name, default)


def training_sources(
    config: Config, sources: Iterable[object], model: str
) -> list[TriggersPipelines]:
    """The orchestrator sources whose training pipeline can retrain `model` (D on
    a model in breach): those with a `training` pipeline that work for the
    model's service; else, when exactly one source has a training pipeline at
    all, that one (a single Airflow needs no [[service]] table); else none.
    """
    trainers = [s for s in sources if isinstance(s, TriggersPipelines) and s.training_pipeline]
    service = service_of_model(config, model)
    mine = [s for s in trainers if service_of_source(config, s) == service]
    if mine:
        return mine
    return trainers if len(trainers) == 1 else []


def environment_of(config: Config, service: str) -> str:
    return next((s.environment for s in config.services if s.name == service), "production")
