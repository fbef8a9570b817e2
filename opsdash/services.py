"""Which service a container, Swarm service, CI source or model belongs to.

The Deployments panel groups deployment events by service; every place that
records one (opsdash's own actions, the watchers, CI sources) names the
service the same way through these functions.
"""

from __future__ import annotations

from opsdash.config import Config, ServiceConfig


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


def service_of_model(config: Config, model: str) -> str:
    return next((s.name for s in config.services if model in s.models), model)


def service_of_pipeline(config: Config, source_name: str, default: str) -> str:
    """The [[service]] listing this CI source (by name), else the source's own."""
    return next((s.name for s in config.services if source_name in s.pipelines), default)


def environment_of(config: Config, service: str) -> str:
    return next((s.environment for s in config.services if s.name == service), "production")
