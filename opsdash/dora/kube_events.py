"""Deployments and health issues from what a Kubernetes context shows.

- A workload's new revision with other images (a Deployment's revision
  annotation, a StatefulSet's update revision, a DaemonSet's generation),
  by anyone, is a deployment once its rollout finishes: `success` when it
  completes, `failed` when it ends FAILED (ProgressDeadlineExceeded). A new
  revision whose images are those of an earlier one (`kubectl rollout undo`,
  or `set image` back) is a rollback (source `kubernetes-rollback`, which DORA
  counts against the deploy before it); a rollout undone before it finished is
  `rolled back`. A new revision with the same images (`rollout restart`, an
  env change) changes no version and is not counted.
- Each is recorded with the external id `kube:<context>/<kind>/<ns>/<name>@<revision>`
  (and the workload's uid), so it is stored once however many opsdash watch the
  cluster and across restarts.
- What each workload ran is kept in the store (`watched_versions`, key
  `kube:<source>/<kind>/<ns>/<name>`): its revision, its images, the images of
  earlier revisions (to tell an undo) and a rollout still to be decided. The
  first sight of a workload is remembered, not counted; a change while opsdash
  was away is counted when it is next seen. Its version is also kept under a
  `container:` key, as the Docker watcher keeps a container's, so a running
  commit counts as deployed before any deploy is seen.
- Health issues (per service, under the source's label): a pod in
  CrashLoopBackOff, ImagePullBackOff, ErrImagePull, or OOMKilled and not ready,
  at once; a workload with fewer available replicas than desired (not while its
  rollout progresses) after `SHORT_GRACE`. An issue closes once the service has
  been clear for `CLEAR_GRACE` (a crash loop is briefly "running" between
  back-offs), at the moment it became clear.

opsdash's own actions: while one runs on a service (ACTING) its workloads are
not looked at; afterwards a change to the version the action recorded (source
starting with one of `OWN_SOURCES`, at most OWN_ACTION_SLACK before the
rollout finished, version `workload_version` of the workload) is not counted
again, as for containers.

The source hands over the same snapshot object while nothing changed: that
costs one identity check (and the grace timers, when one is running).
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from opsdash.config import Config
from opsdash.dora.docker_events import REVISION_LABEL
from opsdash.dora.seen import ACTING, already_recorded, close_gone, iso, not_after, record
from opsdash.model.kube import (
    WORKLOAD_KINDS,
    ClusterSnapshot,
    KubePod,
    KubeWorkload,
    RolloutState,
)
from opsdash.services import environment_of, service_of_workload
from opsdash.store import DeploymentEvent, Store

SOURCE = "kubernetes"
ROLLBACK_SOURCE = "kubernetes-rollback"
# What opsdash's Kubernetes actions record under ("<plan.kind>-<plan.action>":
# deployment-set-image, deployment-rollback, ...).
OWN_SOURCES = tuple(f"{kind.lower()}-" for kind in WORKLOAD_KINDS)
VERSION_LABEL = "app.kubernetes.io/version"
WAITING_TROUBLE = frozenset({"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull"})
SHORT_GRACE = timedelta(minutes=1)  # short of available replicas this long is trouble
CLEAR_GRACE = timedelta(minutes=1)  # clear this long and the issue is over
KEEP_SEEN = 20  # earlier image sets remembered per workload, to tell an undo
_COMMIT = re.compile(r"[0-9a-f]{7,64}")


def image_tag(image: str) -> str:
    """The tag of an image reference ("" without one): registry:5000/web:abc1234 -> abc1234."""
    ref = image.split("@", 1)[0]
    _name, sep, tag = ref.rpartition(":")
    return tag if sep and "/" not in tag else ""


def workload_version(workload: KubeWorkload) -> str:
    """What a workload runs, as a deploy's version: an image tag naming a commit
    (all its images agree), else its OCI revision label, else its
    app.kubernetes.io/version label, else its images."""
    tags = {image_tag(image).lower() for image in workload.images}
    if len(tags) == 1 and _COMMIT.fullmatch(next(iter(tags))):
        return next(iter(tags))
    for label in (REVISION_LABEL, VERSION_LABEL):
        if value := workload.label(label):
            return value
    return ",".join(sorted(set(workload.images))) or workload.revision


def external_id(cluster: str, workload: KubeWorkload) -> str:
    """One revision of one workload, the same for every opsdash that sees it.
    A StatefulSet's revision is a template hash (an undo returns to an old
    one), so its generation is added."""
    revision = workload.revision
    if workload.kind == "StatefulSet":
        revision = f"{revision}.{workload.generation}"
    uid = f"#{workload.uid[:8]}" if workload.uid else ""
    return f"kube:{cluster}/{workload.kind}/{workload.namespace}/{workload.name}@{revision}{uid}"


def pod_trouble(pod: KubePod) -> str:
    """Why this pod means trouble for its service, or ""."""
    if pod.deleting:
        return ""
    for c in pod.containers:
        if c.reason in WAITING_TROUBLE:
            return f"{pod.name} {c.reason}"
    for c in pod.containers:
        if c.last_reason == "OOMKilled" and not c.ready:
            return f"{pod.name} OOMKilled"
    return ""


def _finished_at(workload: KubeWorkload, now: datetime) -> datetime:
    """When its rollout finished: the Progressing condition's time, else now.

    A deploy is recorded at the earlier of this and when its revision was first
    seen: watched live, the rollout's start, so trouble its new pods bring is
    blamed on it, and a failed one's recovery counts from then; changed while
    opsdash was away, the time the cluster gives."""
    for c in workload.conditions:
        if c.type == "Progressing" and c.reason in (
            "NewReplicaSetAvailable",
            "ProgressDeadlineExceeded",
        ):
            return not_after(c.updated, now)
    return now


def _since(state: dict, now: datetime) -> datetime:
    """When the pending revision was first seen (its rollout began)."""
    try:
        return min(datetime.fromisoformat(state["since"]), now)
    except (KeyError, TypeError, ValueError):
        return now


@dataclass
class _Memory:
    """What one watcher (a store and a source label) remembers between polls."""

    snapshot: object = None
    # workload key -> (revision, containers, settled): unchanged and settled costs no I/O
    known: dict[str, tuple[str, tuple, bool]] = field(default_factory=dict)
    troubled: dict[str, list[str]] = field(default_factory=dict)  # service -> pod reasons
    short: dict[str, tuple[str, str]] = field(default_factory=dict)  # workload -> service, why
    short_since: dict[str, datetime] = field(default_factory=dict)
    clear_since: dict[str, datetime] = field(default_factory=dict)  # service -> when it cleared
    settled: set[str] = field(default_factory=set)  # services clear past the grace


_MEMORY: WeakKeyDictionary[Store, dict[str, _Memory]] = WeakKeyDictionary()
_LOCK = threading.Lock()


def _memory(store: Store, label: str) -> _Memory:
    with _LOCK:
        return _MEMORY.setdefault(store, {}).setdefault(label, _Memory())


def _load(store: Store, key: str) -> dict | None:
    raw = store.watched_version(key)
    if not raw:
        return None
    try:
        state = json.loads(raw)
    except ValueError:
        return None
    return state if isinstance(state, dict) and "rev" in state else None


def _save(store: Store, key: str, service: str, state: dict, at: datetime) -> None:
    store.set_watched_version(key, service, json.dumps(state, separators=(",", ":")), at)


def _event(
    config: Config,
    snapshot: ClusterSnapshot,
    service: str,
    workload: KubeWorkload,
    state: dict,
    result: str,
    at: datetime,
) -> DeploymentEvent:
    return DeploymentEvent(
        at=iso(at),
        service=service,
        host=snapshot.context,
        kind="app",
        image=",".join(image for _name, image in state.get("images") or workload.containers),
        digest="",
        result=result,
        source=ROLLBACK_SOURCE if state.get("pending") == "rollback" else SOURCE,
        environment=environment_of(config, service),
        version=state.get("version") or workload_version(workload),
        external_id=state.get("id") or None,
    )


def _settle(
    store: Store,
    config: Config,
    snapshot: ClusterSnapshot,
    service: str,
    workload: KubeWorkload,
    state: dict,
    result: str,
    at: datetime,
) -> list[str]:
    """Record the pending change (unless opsdash's own action already did)."""
    event = _event(config, snapshot, service, workload, state, result, at)
    state["pending"] = ""
    if already_recorded(store, service, at, OWN_SOURCES, event.version, same_source=event.source):
        return []
    return record(store, event)


def _watch_workload(
    store: Store,
    config: Config,
    snapshot: ClusterSnapshot,
    service: str,
    w: KubeWorkload,
    now: datetime,
) -> tuple[list[str], bool]:
    """(lines, settled) for one workload whose revision or images moved."""
    key = f"kube:{w.key}"
    images = [list(c) for c in w.containers]
    version = workload_version(w)
    state = _load(store, key)
    if state is None:  # first sight: what happened before is not known
        _save(store, key, service, {"rev": w.revision, "images": images, "seen": []}, now)
        store.set_watched_version(f"container:{key}", service, version, now)
        return [], True
    done: list[str] = []
    before = dict(state)
    if w.revision != state["rev"]:
        if images == state.get("images"):  # a restart or a change of anything but images
            state["rev"] = w.revision
        else:
            seen = [s for s in state.get("seen", []) if isinstance(s, list)]
            rollback = images in seen
            if state.get("pending") and rollback:
                # undone before its rollout finished: that deploy was rolled back
                at = _since(state, now)
                done += _settle(store, config, snapshot, service, w, state, "rolled back", at)
            seen = [s for s in [*seen, state.get("images")] if s and s != images][-KEEP_SEEN:]
            state = {
                "rev": w.revision,
                "images": images,
                "seen": seen,
                "pending": "rollback" if rollback else "deploy",
                "id": external_id(snapshot.kube_context or snapshot.context, w),
                "version": version,
                "since": iso(now),
            }
    elif images != state.get("images"):
        return [], False  # the spec changed, its revision not yet: wait for it
    if state.get("pending") and (w.rollout.finished or w.rollout is RolloutState.UNKNOWN):
        failed = w.rollout is RolloutState.FAILED
        at = min(_finished_at(w, now), _since(state, now))
        done += _settle(
            store, config, snapshot, service, w, state, "failed" if failed else "success", at
        )
        if not failed:
            store.set_watched_version(f"container:{key}", service, version, at)
    if state != before:
        _save(store, key, service, state, now)
    return done, not state.get("pending")


def _deploys(
    store: Store, config: Config, snapshot: ClusterSnapshot, memory: _Memory, now: datetime
) -> list[str]:
    done: list[str] = []
    acting = ACTING.get()
    for w in snapshot.workloads:
        key = f"kube:{w.key}"
        if memory.known.get(key) == (w.revision, w.containers, True):
            continue
        service = service_of_workload(config, w)
        if service in acting:
            continue  # looked at once the action has recorded itself
        lines, settled = _watch_workload(store, config, snapshot, service, w, now)
        done += lines
        memory.known[key] = (w.revision, w.containers, settled)
    if len(memory.known) > len(snapshot.workloads):  # some were deleted: forget them
        present = {f"kube:{w.key}" for w in snapshot.workloads}
        memory.known = {k: v for k, v in memory.known.items() if k in present}
    return done


def _health(config: Config, snapshot: ClusterSnapshot, memory: _Memory) -> set[str]:
    """Remember the snapshot's trouble; returns the services it shows."""
    services = {w.key: service_of_workload(config, w) for w in snapshot.workloads}
    troubled: dict[str, list[str]] = defaultdict(list)
    by_namespace: dict[tuple[str, str], list[KubeWorkload]] = defaultdict(list)
    for w in snapshot.workloads:
        by_namespace[(w.context, w.namespace)].append(w)
    for pod in snapshot.pods:
        why = pod_trouble(pod)
        if not why:
            continue
        owner = next((w for w in by_namespace[(pod.context, pod.namespace)] if w.owns(pod)), None)
        if owner is not None:
            troubled[services[owner.key]].append(why)
    memory.troubled = dict(troubled)
    memory.short = {
        w.key: (services[w.key], f"{w.name} {w.available}/{w.desired} available")
        for w in snapshot.workloads
        if w.available < w.desired
        and w.rollout not in (RolloutState.PROGRESSING, RolloutState.PAUSED)
    }
    return set(services.values())


def _issues(store: Store, label: str, services: set[str], memory: _Memory, now: datetime):
    """Open and close the services' issues, with the grace timers."""
    done: list[str] = []
    memory.short_since = {k: memory.short_since.get(k, now) for k in memory.short}
    reasons: dict[str, list[str]] = {s: list(memory.troubled.get(s, ())) for s in services}
    starts: dict[str, datetime] = {s: now for s in reasons if reasons[s]}
    for key, (service, why) in sorted(memory.short.items()):
        since = memory.short_since[key]
        if now - since >= SHORT_GRACE:
            reasons.setdefault(service, []).append(why)
            starts[service] = min(starts.get(service, since), since)
    for service, why in sorted(reasons.items()):
        if why:
            memory.clear_since.pop(service, None)
            memory.settled.discard(service)
            if store.open_issue(service, label, why[0], starts[service]):
                done.append(f"issue {service}: {why[0]}")
            continue
        if service in memory.settled:
            continue
        clear = memory.clear_since.setdefault(service, now)
        if now - clear >= CLEAR_GRACE:
            del memory.clear_since[service]
            memory.settled.add(service)
            if store.close_issue(service, label, clear):
                done.append(f"recovered {service}")
    return done


def watch_kubernetes(
    store: Store, config: Config, label: str, snapshot: ClusterSnapshot, now: datetime
) -> list[str]:
    """The watcher for a ClusterSnapshot: new revisions of its workloads, the
    health of their pods and replicas, and the issues of services gone from it."""
    memory = _memory(store, label)
    if snapshot is memory.snapshot:
        if not memory.short_since and not memory.clear_since:
            return []
        services = set(memory.troubled) | {s for s, _ in memory.short.values()}
        services |= set(memory.clear_since)
        return _issues(store, label, services, memory, now)
    done = _deploys(store, config, snapshot, memory, now)
    services = _health(config, snapshot, memory)
    done += _issues(store, label, services, memory, now)
    done += close_gone(store, {label: services}, now)
    memory.snapshot = snapshot
    return done
