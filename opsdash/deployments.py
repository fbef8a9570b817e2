"""Deployment events and health issues from what the sources see, for the DORA keys.

UI-free; `record_events` is called from poll workers with each successful poll's
data, so a slow disk never blocks the screen. What it records:

- CI sources: the deployments they report (deploy runs, GitHub deployment
  statuses, GitLab deployments), under the [[service]] that lists the source.
- Docker: a service whose running container now runs another image (or another
  OCI revision) than last seen, also across restarts of opsdash; Swarm services
  whose image changed. opsdash's own redeploys are already recorded by the
  action runner and are not counted twice.
- MLflow: a serving alias that moved outside opsdash.
- Health issues: a service with an unhealthy, crash-looping or failed container,
  a Swarm service short of replicas, a model metric in breach.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from opsdash.config import Config
from opsdash.model import Container, DockerSnapshot, PipelineSnapshot
from opsdash.model.ml import ModelsSnapshot, ThresholdState
from opsdash.services import (
    environment_of,
    service_of_container,
    service_of_model,
    service_of_pipeline,
    service_of_swarm,
)
from opsdash.store import DeploymentEvent, Store

OWN_ACTION_SLACK = timedelta(minutes=2)  # how far an own action's record may precede what we see
REVISION_LABEL = "org.opencontainers.image.revision"
OLD_CONTAINER_MARK = "-opsdash-old-"  # the old container a redeploy keeps until it succeeds


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def record_vendor_deployments(
    store: Store, snapshot: PipelineSnapshot, config: Config | None = None
) -> int:
    """Store the deployments a CI source reported; returns how many were new.

    Each carries the source's own id, so a deployment seen on every poll (and
    across restarts) is recorded once.
    """
    source_name = snapshot.source.split(":", 1)[-1]
    new = 0
    for d in snapshot.deployments:
        service = service_of_pipeline(config, source_name, d.service) if config else d.service
        new += store.add_deployment(
            DeploymentEvent(
                at=_iso(d.at),
                service=service,
                host=d.source,
                kind="app",
                image="",
                digest="",
                result=d.result,
                source=d.source,
                environment=d.environment,
                version=d.version,
                external_id=f"{d.source}:{d.id}",
            )
        )
    return new


def _own_action_recorded(
    store: Store, service: str, prefixes: tuple[str, ...], since: datetime
) -> bool:
    """Did opsdash itself just deploy this service (so the change is already recorded)?"""
    return any(
        e.service == service and e.source.startswith(prefixes)
        for e in store.deployments_since(since - OWN_ACTION_SLACK)
    )


def container_version(container: Container) -> str:
    labels = dict(container.labels)
    return labels.get(REVISION_LABEL) or container.image_id or container.image


def _trouble(container: Container) -> str:
    """Why this container means its service is in trouble, or ""."""
    if container.health == "unhealthy":
        return f"{container.name} unhealthy"
    if container.state == "restarting":
        return f"{container.name} restarting"
    if container.state == "dead":
        return f"{container.name} dead"
    if container.state == "exited" and container.exit_code not in (None, 0):
        return f"{container.name} exited {container.exit_code}"
    return ""


def _set_issue(store: Store, service: str, source: str, reasons: list[str], now: datetime) -> str:
    if reasons:
        return (
            f"issue {service}: {reasons[0]}"
            if store.open_issue(service, source, reasons[0], now)
            else ""
        )
    return f"recovered {service}" if store.close_issue(service, source, now) else ""


def _watch_docker(
    store: Store, config: Config, label: str, snapshot: DockerSnapshot, now: datetime
) -> list[str]:
    done: list[str] = []
    by_service: dict[str, list[Container]] = defaultdict(list)
    for container in snapshot.containers:
        if OLD_CONTAINER_MARK in container.name:
            continue
        service = service_of_container(config, container.name, dict(container.labels))
        by_service[service].append(container)
    for service, containers in by_service.items():
        running = [c for c in containers if c.running]
        if running:
            newest = max(running, key=lambda c: c.created or now)
            done += _version_seen(
                store,
                key=f"container:{snapshot.host}:{service}",
                service=service,
                version=container_version(newest),
                at=newest.created or now,
                event=lambda version, at, c=newest, s=service: DeploymentEvent(
                    _iso(at),
                    s,
                    snapshot.host,
                    "app",
                    c.image,
                    c.image_id,
                    "success",
                    "docker",
                    environment_of(config, s),
                    version,
                    f"docker:{snapshot.host}:{s}:{version}:{_iso(at)}",
                ),
                own=("container-",),
            )
        reasons = [r for r in (_trouble(c) for c in containers) if r]
        done += [x for x in [_set_issue(store, service, label, reasons, now)] if x]
    for svc in snapshot.services:
        service = service_of_swarm(config, svc.name)
        result = "rolled back" if svc.update_state.startswith("rollback") else "success"
        done += _version_seen(
            store,
            key=f"swarm:{snapshot.host}:{svc.name}",
            service=service,
            version=svc.image,
            at=svc.updated or now,
            event=lambda version, at, s=service, r=result: DeploymentEvent(
                _iso(at),
                s,
                snapshot.host,
                "app",
                version,
                "",
                r,
                "swarm",
                environment_of(config, s),
                version,
                f"swarm:{snapshot.host}:{s}:{version}:{_iso(at)}",
            ),
            own=("service-",),
        )
        short = svc.replicas_desired is not None and svc.replicas_running < svc.replicas_desired
        reasons = (
            [f"{svc.name} {svc.replicas_running}/{svc.replicas_desired} replicas"] if short else []
        )
        done += [x for x in [_set_issue(store, service, f"{label}/swarm", reasons, now)] if x]
    return done


def _version_seen(
    store: Store, *, key: str, service: str, version: str, at: datetime, event, own
) -> list[str]:
    """Remember the version; a change from the one seen before is a deployment."""
    if not version:
        return []
    before = store.watched_version(key)
    if before == version:
        return []
    store.set_watched_version(key, service, version, at)
    if before is None:
        return []  # first sight: we do not know when it was deployed
    if _own_action_recorded(store, service, own, at):
        return []
    return [f"deploy {service} {version[:19]}"] if store.add_deployment(event(version, at)) else []


def _watch_models(
    store: Store, config: Config, label: str, snapshot: ModelsSnapshot, now: datetime
) -> list[str]:
    done: list[str] = []
    breaches: dict[str, list[str]] = defaultdict(list)
    known: set[str] = set()
    for row in snapshot.rows:
        service = service_of_model(config, row.model)
        known.add(service)
        if row.state is ThresholdState.BREACH:
            breaches[service].append(f"{row.model} {row.metric} breach")
        if snapshot.kind != "mlflow" or not row.alias or not row.version:
            continue
        at = row.serving_changed_at or now
        done += _version_seen(
            store,
            key=f"model:{snapshot.source}:{row.model}:{row.alias}",
            service=service,
            version=row.version,
            at=at,
            event=lambda version, at, s=service, m=row.model, a=row.alias: DeploymentEvent(
                _iso(at),
                s,
                snapshot.source,
                "model",
                "",
                "",
                "success",
                "mlflow",
                environment_of(config, s),
                version,
                f"mlflow:{snapshot.source}:{m}:{a}:{version}:{_iso(at)}",
            ),
            own=("model-",),
        )
    for service in known:
        states = [r.state for r in snapshot.rows if service_of_model(config, r.model) == service]
        if breaches[service] or ThresholdState.UNKNOWN not in states:
            done += [x for x in [_set_issue(store, service, label, breaches[service], now)] if x]
    return done


def record_events(
    store: Store, config: Config, label: str, data: object, now: datetime | None = None
) -> list[str]:
    """Record what one poll's data says; one line per thing recorded (for --log)."""
    now = now or datetime.now().astimezone()
    if isinstance(data, PipelineSnapshot):
        new = record_vendor_deployments(store, data, config)
        return [f"{new} deployments from {label}"] if new else []
    if isinstance(data, DockerSnapshot):
        return _watch_docker(store, config, label, data, now)
    if isinstance(data, ModelsSnapshot):
        return _watch_models(store, config, label, data, now)
    return []
