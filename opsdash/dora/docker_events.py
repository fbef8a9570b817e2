"""Deployments and health issues from what a Docker engine shows.

A service whose running container now runs another image (or another OCI
revision) than last seen, also across restarts of opsdash; Swarm services whose
update completed with another image or ended in a rollback. opsdash's own
redeploys are already recorded by the action runner and are not counted twice.
Health issues: an unhealthy, crash-looping or failed container, a Swarm
service short of replicas.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from opsdash.config import Config
from opsdash.dora.seen import (
    already_recorded,
    changed,
    close_gone,
    iso,
    not_after,
    record,
    set_issue,
)
from opsdash.model import Container, DockerSnapshot, Service
from opsdash.services import environment_of, service_of_container, service_of_swarm
from opsdash.store import DeploymentEvent, Store

REVISION_LABEL = "org.opencontainers.image.revision"
OLD_CONTAINER_MARK = "-opsdash-old-"  # the old container a redeploy keeps until it succeeds
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
SWARM_TASK_LABEL = "com.docker.swarm.service.name"  # a Swarm task's container

# runs, tasks being replaced are the update, not trouble.
SWARM_SETTLED = ("", "completed", "rollback_completed")
SWARM_IN_PROGRESS = ("updating", "rollback_started")

_EXITED = re.compile(r"^Exited \((-?\d+)\)")


def container_version(container: Container) -> str:
    """The OCI revision label (a commit, so lead time works), else the image id or ref."""
    labels = dict(container.labels)
    return labels.get(REVISION_LABEL) or container.image_id or container.image


def _component(container: Container) -> str:
    """What is deployed as one: the compose "project/service", else the container.

    Versions are watched per component, so a [[service]] that gathers several
    (web and worker) does not see a change when another of them is newest.
    """
    labels = dict(container.labels)
    project, service = labels.get(COMPOSE_PROJECT, ""), labels.get(COMPOSE_SERVICE, "")
    return f"{project}/{service}" if project and service else container.name


def _trouble(container: Container) -> str:
    """Why this container means its service is in trouble, or ""."""
    if container.health == "unhealthy" or "(unhealthy)" in container.status:
        return f"{container.name} unhealthy"
    if container.state == "restarting":
        return f"{container.name} restarting"
    if container.state == "dead":
        return f"{container.name} dead"
    if container.state == "exited":
        code = container.exit_code
        if code is None and (m := _EXITED.match(container.status)):
            code = int(m.group(1))
        if code not in (None, 0):
            return f"{container.name} exited {code}"
    return ""


def _by_service(config: Config, snapshot: DockerSnapshot) -> dict[str, list[Container]]:
    """The snapshot's containers per service, without opsdash's kept old ones."""
    by_service: dict[str, list[Container]] = defaultdict(list)
    for container in snapshot.containers:
        if OLD_CONTAINER_MARK in container.name:
            continue
        labels = dict(container.labels)
        swarm = labels.get(SWARM_TASK_LABEL)
        if swarm:  # its trouble is its Swarm service's
            service = service_of_swarm(config, swarm, labels)
        else:
            service = service_of_container(config, container.name, labels)
        by_service[service].append(container)
    return by_service


def _watch_containers(
    store: Store,
    config: Config,
    label: str,
    host: str,
    by_service: dict[str, list[Container]],
    now: datetime,
    redeploying: Collection[str] = (),
) -> list[str]:
    """`redeploying`: containers opsdash is redeploying now (their old one is kept
    as "<name>-opsdash-old-<time>"); the runner records that deploy when it ends."""
    done: list[str] = []
    for service, containers in by_service.items():
        running: dict[str, list[Container]] = defaultdict(list)
        for c in containers:
            if c.running and SWARM_TASK_LABEL not in dict(c.labels):  # Swarm: see _swarm_deploy
                running[_component(c)].append(c)
        for component, replicas in sorted(running.items()):
            if any(c.name in redeploying for c in replicas):
                continue  # looked at again when the redeploy is over
            newest = max(replicas, key=lambda c: not_after(c.created, now))
            version = container_version(newest)
            at = not_after(newest.created, now)
            if not changed(store, f"container:{host}:{component}", service, version, at):
                continue
            if already_recorded(
                store,
                service,
                at,
                ("container-",),
                version,
                same_source="docker",
            ):
                # opsdash's own redeploy or rollback of this very version (the
                # runner records what the watcher sees), or another part of this deploy
                continue
            done += record(
                store,
                DeploymentEvent(
                    at=iso(at),
                    service=service,
                    host=host,
                    kind="app",
                    image=newest.image,
                    digest=newest.image_id,
                    result="success",
                    source="docker",
                    environment=environment_of(config, service),
                    version=version,
                    external_id=f"docker:{host}:{service}:{version}:{iso(at)}",
                ),
            )
        reasons = [r for r in (_trouble(c) for c in containers) if r]
        done += [x for x in [set_issue(store, service, label, reasons, now)] if x]
    return done


def _swarm_deploy(
    store: Store, config: Config, host: str, service: str, svc: Service, now: datetime
) -> list[str]:
    """A settled update to another image, or a rollback, of one Swarm service."""
    if svc.update_state not in SWARM_SETTLED or not svc.image:
        return []  # counted once it settles
    key = f"swarm:{host}:{svc.name}"
    at = not_after(svc.updated, now)
    rolled_back = svc.update_state == "rollback_completed"
    rollback_key, when = f"{key}:rollback", iso(at)
    before = store.watched_version(key)
    if before is None:  # first sight: what happened before is not known
        store.set_watched_version(key, service, svc.image, at)
        if rolled_back:
            store.set_watched_version(rollback_key, service, when, at)
        return []
    if rolled_back:
        if store.watched_version(rollback_key) == when:
            return []
        store.set_watched_version(rollback_key, service, when, at)
        if before != svc.image:
            store.set_watched_version(key, service, svc.image, at)
    elif before == svc.image:
        return []
    else:
        store.set_watched_version(key, service, svc.image, at)
    if already_recorded(store, service, at, ("service-",), svc.image, own_any_version=True):
        return []  # opsdash's own update or rollback
    return record(
        store,
        DeploymentEvent(
            at=when,
            service=service,
            host=host,
            kind="app",
            image=svc.image,
            digest="",
            result="rolled back" if rolled_back else "success",
            source="swarm",
            environment=environment_of(config, service),
            version=svc.image,
            external_id=f"swarm:{host}:{service}:{svc.image}:{when}",
        ),
    )


def _watch_swarm(
    store: Store, config: Config, label: str, snapshot: DockerSnapshot, now: datetime
) -> list[str]:
    done: list[str] = []
    reasons: dict[str, list[str]] = defaultdict(list)
    busy: set[str] = set()
    for svc in snapshot.services:
        service = service_of_swarm(config, svc.name)
        reasons.setdefault(service, [])
        done += _swarm_deploy(store, config, snapshot.host, service, svc, now)
        if svc.update_state in SWARM_IN_PROGRESS:
            busy.add(service)  # replicas being replaced: neither trouble nor recovery yet
        elif svc.replicas_desired is not None and svc.replicas_running < svc.replicas_desired:
            reasons[service].append(
                f"{svc.name} {svc.replicas_running}/{svc.replicas_desired} replicas"
            )
    source = f"{label}/swarm"
    for service, why in reasons.items():
        if why or service not in busy:
            done += [x for x in [set_issue(store, service, source, why, now)] if x]
    return done


def watch_docker(
    store: Store, config: Config, label: str, snapshot: DockerSnapshot, now: datetime
) -> list[str]:
    """The watcher for a DockerSnapshot: its containers, its Swarm services, and
    the issues of services it no longer shows."""
    by_service = _by_service(config, snapshot)
    redeploying = {
        c.name.split(OLD_CONTAINER_MARK, 1)[0]
        for c in snapshot.containers
        if OLD_CONTAINER_MARK in c.name
    }
    done = _watch_containers(store, config, label, snapshot.host, by_service, now, redeploying)
    done += _watch_swarm(store, config, label, snapshot, now)
    present = {
        label: set(by_service),
        f"{label}/swarm": {service_of_swarm(config, s.name) for s in snapshot.services},
    }
    return done + close_gone(store, present, now)
