"""Deployment events and health issues from what the sources see, for the DORA keys.

UI-free; `record_poll` is called with each successful poll's data by every
command that polls (the TUI's poll workers, so a slow disk never blocks the
screen, and `snapshot` and `check`, so a cron job builds the keys too). What it
records:

- CI sources: the deployments they report (deploy runs, GitHub deployment
  statuses, GitLab deployments) once their result is final, under the
  [[service]] that lists the source, with the result in DORA's words.
- Docker: a service whose running container now runs another image (or another
  OCI revision) than last seen, also across restarts of opsdash; Swarm services
  whose update completed with another image or ended in a rollback. opsdash's
  own redeploys are already recorded by the action runner and are not counted
  twice.
- MLflow: a serving alias that moved outside opsdash.
- Health issues: a service with an unhealthy, crash-looping or failed container,
  a Swarm service short of replicas, a model metric in breach.

The version last seen of each watched thing is kept in the store
(`watched_versions`): the first sight of something is remembered, not counted,
since nobody knows when it was deployed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from contextvars import ContextVar
from datetime import datetime, timedelta

from opsdash.config import Config
from opsdash.eventlog import event
from opsdash.model import Container, DockerSnapshot, PipelineSnapshot, Service
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
SAME_DEPLOY_SLACK = timedelta(minutes=5)  # components of a service on one revision: one deploy
REVISION_LABEL = "org.opencontainers.image.revision"
OLD_CONTAINER_MARK = "-opsdash-old-"  # the old container a redeploy keeps until it succeeds
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
SWARM_TASK_LABEL = "com.docker.swarm.service.name"  # a Swarm task's container

# A vendor's result word -> DORA's. A word not here is not final (or not known):
# such a deployment is recorded once its result is, under the same vendor id.
VENDOR_RESULTS = {
    "success": "success",
    "inactive": "success",  # GitHub: succeeded, later superseded
    "warnings": "success",  # Buildbot: succeeded with warnings
    "rolled back": "rolled back",
    "failed": "failed",
    "failure": "failed",
    "error": "failed",
}
# Not here, so never recorded: "canceled"/"cancelled" (it never reached production,
# docs/dora.md) and every word of a deployment still under way.

# Swarm update states: a changed image counts once the update settled; while it
# runs, tasks being replaced are the update, not trouble.
SWARM_SETTLED = ("", "completed", "rollback_completed")
SWARM_IN_PROGRESS = ("updating", "rollback_started")

_EXITED = re.compile(r"^Exited \((-?\d+)\)")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _not_after(moment: datetime | None, now: datetime) -> datetime:
    """When a thing changed, as far as its source says; never later than now (clock skew)."""
    if moment is None:
        return now
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return min(moment, now)


# --- CI sources -------------------------------------------------------------------


def dora_result(vendor_result: str) -> str | None:
    """ "success", "failed" or "rolled back"; None while the result is not final."""
    return VENDOR_RESULTS.get(vendor_result.strip().lower())


def record_vendor_deployments(
    store: Store, snapshot: PipelineSnapshot, config: Config | None = None
) -> int:
    """Store the deployments a CI source reported; returns how many were new.

    Each carries the source's own id, so a deployment seen on every poll (and
    across restarts) is recorded once. With a config, a deployment counts for
    the [[service]] whose `pipelines` name the source.
    """
    source_name = snapshot.source.split(":", 1)[-1]
    new = 0
    for d in snapshot.deployments:
        result = dora_result(d.result)
        if result is None:
            continue  # not final yet: the same id is recorded once it is
        service = service_of_pipeline(config, source_name, d.service) if config else d.service
        new += store.add_deployment(
            DeploymentEvent(
                at=_iso(d.at),
                service=service,
                host=d.source,
                kind="app",
                image="",
                digest="",
                result=result,
                source=d.source,
                environment=d.environment,
                version=d.version,
                external_id=f"{d.source}:{d.id}",
            )
        )
    return new


def recorded_vendor_ids(store: Store, source_label: str, days: int = 90) -> set[str]:
    """The vendor ids ("deployment:42") the store holds for one CI source, so it
    need not read again what an earlier run of opsdash recorded."""
    since = datetime.now().astimezone() - timedelta(days=days + 1)
    prefix = f"{source_label}:"
    return {
        e.external_id[len(prefix) :]
        for e in store.deployments_since(since)
        if e.external_id and e.external_id.startswith(prefix)
    }


# --- what was seen before -----------------------------------------------------------


# Services an opsdash action is changing right now (set by record_events): what
# the watchers see of them waits for the next poll, when the action has recorded
# its own deployment, so it is not counted twice.
_ACTING: ContextVar[frozenset[str]] = ContextVar("acting", default=frozenset())


def _changed(store: Store, key: str, service: str, version: str, at: datetime) -> bool:
    """Remember the version; True when it replaced another one (not on first sight)."""
    if not version or service in _ACTING.get():
        return False
    before = store.watched_version(key)
    if before == version:
        return False
    store.set_watched_version(key, service, version, at)
    return before is not None


def _already_recorded(
    store: Store,
    service: str,
    at: datetime,
    own: tuple[str, ...],
    version: str,
    *,
    own_any_version: bool = False,
    same_source: str = "",
) -> bool:
    """Is this change of `service` to `version` already a deployment event?

    Yes when opsdash's own action recorded it (a source starting with one of
    `own`) at most OWN_ACTION_SLACK before it shows up: an action that deployed
    that version (another version deployed meanwhile from outside still
    counts), or any when `own_any_version` (a Swarm update records the image
    reference it was given, not the digest-pinned one the engine shows). Or when `same_source` recorded
    the same version close by (two containers of one service on one revision).
    """
    for e in store.deployments_since(at - max(OWN_ACTION_SLACK, SAME_DEPLOY_SLACK)):
        if e.service != service:
            continue
        seen = datetime.fromisoformat(e.at)
        if (
            e.source.startswith(own)
            and seen >= at - OWN_ACTION_SLACK
            and (own_any_version or e.version == version)
        ):
            return True
        if e.source == same_source and e.version == version and abs(seen - at) <= SAME_DEPLOY_SLACK:
            return True
    return False


def _record(store: Store, event: DeploymentEvent) -> list[str]:
    if not store.add_deployment(event):
        return []
    what = f"deploy {event.service} {event.version[:19]}"
    return [what if event.result == "success" else f"{what} ({event.result})"]


def _set_issue(store: Store, service: str, source: str, reasons: list[str], now: datetime) -> str:
    """Open the service's issue while there are reasons, close it when there are none."""
    if reasons:
        opened = store.open_issue(service, source, reasons[0], now)
        return f"issue {service}: {reasons[0]}" if opened else ""
    return f"recovered {service}" if store.close_issue(service, source, now) else ""


def _close_gone(store: Store, present: dict[str, set[str]], now: datetime) -> list[str]:
    """Close the open issues of services a source no longer sees at all (removed).

    `present`: per issue source, the services its poll saw. Without this a
    removed service's issue would stay open, and block its next one.
    """
    done = []
    for issue in store.health_issues():
        seen = present.get(issue.source)
        gone = issue.end is None and seen is not None and issue.service not in seen
        if gone and store.close_issue(issue.service, issue.source, now):
            done.append(f"recovered {issue.service} (gone)")
    return done


# --- Docker -----------------------------------------------------------------------


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
            newest = max(replicas, key=lambda c: _not_after(c.created, now))
            version = container_version(newest)
            at = _not_after(newest.created, now)
            if not _changed(store, f"container:{host}:{component}", service, version, at):
                continue
            if _already_recorded(
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
            done += _record(
                store,
                DeploymentEvent(
                    at=_iso(at),
                    service=service,
                    host=host,
                    kind="app",
                    image=newest.image,
                    digest=newest.image_id,
                    result="success",
                    source="docker",
                    environment=environment_of(config, service),
                    version=version,
                    external_id=f"docker:{host}:{service}:{version}:{_iso(at)}",
                ),
            )
        reasons = [r for r in (_trouble(c) for c in containers) if r]
        done += [x for x in [_set_issue(store, service, label, reasons, now)] if x]
    return done


def _swarm_deploy(
    store: Store, config: Config, host: str, service: str, svc: Service, now: datetime
) -> list[str]:
    """A settled update to another image, or a rollback, of one Swarm service."""
    if svc.update_state not in SWARM_SETTLED or not svc.image:
        return []  # counted once it settles
    key = f"swarm:{host}:{svc.name}"
    at = _not_after(svc.updated, now)
    rolled_back = svc.update_state == "rollback_completed"
    rollback_key, when = f"{key}:rollback", _iso(at)
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
    if _already_recorded(store, service, at, ("service-",), svc.image, own_any_version=True):
        return []  # opsdash's own update or rollback
    return _record(
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
            done += [x for x in [_set_issue(store, service, source, why, now)] if x]
    return done


# --- models -----------------------------------------------------------------------


def _watch_models(
    store: Store, config: Config, label: str, snapshot: ModelsSnapshot, now: datetime
) -> list[str]:
    done: list[str] = []
    breaches: dict[str, list[str]] = defaultdict(list)
    states: dict[str, list[ThresholdState]] = defaultdict(list)
    for row in snapshot.rows:
        service = service_of_model(config, row.model)
        states[service].append(row.state)
        if row.state is ThresholdState.BREACH:
            breaches[service].append(f"{row.model} {row.metric} breach")
        if snapshot.kind != "mlflow" or not row.alias or not row.version:
            continue
        at = _not_after(row.serving_changed_at, now)
        key = f"model:{snapshot.source}:{row.model}:{row.alias}"
        if not _changed(store, key, service, row.version, at):
            continue
        if _already_recorded(store, service, at, ("model-",), row.version):
            continue  # opsdash's own promote or rollback
        done += _record(
            store,
            DeploymentEvent(
                at=_iso(at),
                service=service,
                host=snapshot.source,
                kind="model",
                image="",
                digest="",
                result="success",
                source="mlflow",
                environment=environment_of(config, service),
                version=row.version,
                external_id=f"mlflow:{snapshot.source}:{row.model}:{row.alias}:{row.version}:{_iso(at)}",
            ),
        )
    for service, seen in states.items():
        # a metric without a value says nothing: an open breach stays open
        if breaches[service] or ThresholdState.UNKNOWN not in seen:
            done += [x for x in [_set_issue(store, service, label, breaches[service], now)] if x]
    return done


def record_events(
    store: Store,
    config: Config,
    label: str,
    data: object,
    now: datetime | None = None,
    acting: Iterable[str] = (),
) -> list[str]:
    """Record what one poll's data says; one line per thing recorded (for --log).

    `label` is the poll's source label ("docker:prod", "mlflow:registry", ...);
    health issues are kept under it. Data of other sources records nothing.
    `acting`: services an opsdash action is changing at this moment.
    """
    token = _ACTING.set(frozenset(acting))
    try:
        return _record_events(store, config, label, data, now or datetime.now().astimezone())
    finally:
        _ACTING.reset(token)


def record_poll(
    store: Store, config: Config, label: str, data: object, acting: Iterable[str] = ()
) -> list[str]:
    """`record_events` for one successful poll, as every polling command runs it.

    Each line recorded goes to the --log; a store that fails is a warning there,
    never an exception: the poll itself succeeded and its data is still shown.
    """
    try:
        recorded = record_events(store, config, label, data, acting=acting)
    except Exception as exc:  # noqa: BLE001 - the poll itself succeeded
        event(f"recording events from {label} failed: {exc}", warning=True)
        return []
    for line in recorded:
        event(line)
    return recorded


def _record_events(
    store: Store, config: Config, label: str, data: object, now: datetime
) -> list[str]:
    if isinstance(data, PipelineSnapshot):
        new = record_vendor_deployments(store, data, config)
        return [f"{new} deployments from {label}"] if new else []
    if isinstance(data, DockerSnapshot):
        by_service = _by_service(config, data)
        redeploying = {
            c.name.split(OLD_CONTAINER_MARK, 1)[0]
            for c in data.containers
            if OLD_CONTAINER_MARK in c.name
        }
        done = _watch_containers(store, config, label, data.host, by_service, now, redeploying)
        done += _watch_swarm(store, config, label, data, now)
        present = {
            label: set(by_service),
            f"{label}/swarm": {service_of_swarm(config, s.name) for s in data.services},
        }
        return done + _close_gone(store, present, now)
    if isinstance(data, ModelsSnapshot):
        return _watch_models(store, config, label, data, now)
    return []
