"""Following a rollout after a Kubernetes action, through the source's watches.

The record `Cluster.current` holds is fresh within a watch event's delay, so
following costs no request but for the ReplicaSets' counts, read when the
rollout's status line changes. The lines are kubectl's `rollout status` words
(`kube_map`), plus which ReplicaSet is coming up and how many of its pods are
ready. It ends at COMPLETE, FAILED (ProgressDeadlineExceeded) or the timeout;
at the timeout the rollout goes on on the server, and that is what is said.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from opsdash.actions.base import ActionError, Progress
from opsdash.model.kube import KubePod, KubeWorkload, RolloutState
from opsdash.sources.capabilities import Cluster
from opsdash.sources.kube_map import REVISION_ANNOTATION

POLL_S = 0.2


@dataclass(frozen=True, slots=True)
class Followed:
    state: RolloutState  # COMPLETE, FAILED, or PROGRESSING when the time ran out
    workload: KubeWorkload
    message: str

    @property
    def timed_out(self) -> bool:
        return not self.state.finished


def _current(source: Cluster, kind: str, namespace: str, name: str) -> Any:
    try:
        return source.current(kind, namespace, name)
    except Exception as exc:  # noqa: BLE001 - the watch loop is gone (closing)
        raise ActionError(f"following {kind.lower()}/{name}: {exc}") from None


def _replicaset_line(source: Cluster, workload: KubeWorkload) -> str:
    """new ReplicaSet web-7c9f… 1/3 ready; old: 2 pods left."""
    try:
        owned = source.replicasets(workload)
    except Exception:  # noqa: BLE001 - a line less, not a failure
        return ""
    new = ""
    old = 0
    for rs in owned:
        meta, spec, status = (rs.get(k) or {} for k in ("metadata", "spec", "status"))
        if (meta.get("annotations") or {}).get(REVISION_ANNOTATION) == workload.revision:
            new = (
                f"new ReplicaSet {meta.get('name', '?')} (revision {workload.revision}):"
                f" {status.get('readyReplicas', 0)}/{spec.get('replicas', 0)} ready"
            )
        else:
            old += int(status.get("replicas") or 0)
    if not new:
        return ""
    return new + (f"; old ReplicaSets: {old} pod{'s' * (old != 1)} left" if old else "")


def follow(
    source: Cluster,
    workload: KubeWorkload,
    generation: int,
    progress: Progress,
    timeout: float,
    *,
    settle_replicas: bool = False,
) -> Followed:
    """Until the watches show `generation` observed and the rollout finished.
    `settle_replicas` (scale): also until ready and updated equal desired."""
    deadline = time.monotonic() + timeout
    said: tuple[Any, ...] = ()
    latest = workload
    while True:
        record = _current(source, workload.kind, workload.namespace, workload.name)
        if record is None:
            raise ActionError(f"{workload.ref} is gone (deleted while its rollout was followed)")
        latest = record
        observed = record.generation >= generation and record.observed_generation >= generation
        state = record.rollout if observed else RolloutState.PROGRESSING
        message = (
            record.rollout_message
            if observed
            else "Waiting for deployment spec update to be observed..."
        )
        unsettled = record.ready != record.desired or record.updated != record.desired
        if settle_replicas and state is RolloutState.COMPLETE and unsettled:
            state = RolloutState.PROGRESSING
            message = f"{record.ready}/{record.desired} ready, {record.updated} up to date"
        counts = (message, record.ready, record.updated, record.available, record.revision)
        if counts != said:
            said = counts
            progress("rollout", message)
            if record.kind == "Deployment" and observed and state is not RolloutState.COMPLETE:
                line = _replicaset_line(source, record)
                if line:
                    progress("rollout", line)
        if state in (RolloutState.COMPLETE, RolloutState.FAILED):
            return Followed(state, record, message)
        if state is RolloutState.PAUSED:
            return Followed(state, record, message)
        if time.monotonic() >= deadline:
            return Followed(RolloutState.PROGRESSING, latest, message)
        time.sleep(POLL_S)


def follow_pod_replacement(
    source: Cluster, pod: KubePod, progress: Progress, timeout: float
) -> str:
    """After a pod's DELETE: until it is gone, then, when a Deployment owns it,
    until that Deployment has all its pods ready again. One line on the outcome."""
    deadline = time.monotonic() + timeout
    while True:
        record = _current(source, "Pod", pod.namespace, pod.name)
        if record is None or record.uid != pod.uid:
            break
        if time.monotonic() >= deadline:
            return f"pod {pod.name} is still terminating after {timeout:g}s"
        time.sleep(POLL_S)
    progress("delete", f"pod {pod.name} is gone")
    owner = owning_workload(source, pod)
    if owner is None:
        return f"pod {pod.name} deleted (no Deployment owns it: nothing recreates it here)"
    said = ""
    while True:
        record = _current(source, owner.kind, owner.namespace, owner.name)
        if record is None:
            return f"pod {pod.name} deleted; {owner.ref} is gone"
        others = [p.name for p in _pods_of(source, record) if p.name != pod.name]
        line = f"{record.ref}: {record.ready}/{record.desired} ready"
        if line != said:
            said = line
            progress("recreate", line + (f" ({', '.join(others)})" if others else ""))
        if record.ready >= record.desired and len(others) >= record.desired:
            return f"pod {pod.name} deleted; {record.ref} recreated it: {record.ready}/{record.desired} ready"
        if time.monotonic() >= deadline:
            return f"pod {pod.name} deleted; {record.ref} is still at {line} after {timeout:g}s"
        time.sleep(POLL_S)


def _pods_of(source: Cluster, workload: KubeWorkload) -> tuple[KubePod, ...]:
    try:
        snapshot = source.poll()  # type: ignore[attr-defined] - the watches' snapshot, no request
    except Exception:  # noqa: BLE001
        return ()
    return snapshot.pods_of(workload)


def owning_workload(source: Cluster, pod: KubePod) -> KubeWorkload | None:
    """The Deployment whose ReplicaSet owns the pod ("ReplicaSet/web-7c9f8")."""
    kind, _, name = pod.owner.partition("/")
    if kind != "ReplicaSet" or "-" not in name:
        return None
    candidate = _current(source, "Deployment", pod.namespace, name.rsplit("-", 1)[0])
    if isinstance(candidate, KubeWorkload) and candidate.owns(pod):
        return candidate
    return None
