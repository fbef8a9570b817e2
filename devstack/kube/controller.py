"""A small controller-manager + kubelet loop over the Store, enough for a
rollout to look as it does on a cluster. This module is the Deployment
controller and the shared plumbing (owner index, pod create/delete, events);
sets.py has the ReplicaSet/StatefulSet/DaemonSet controllers, kubelet.py the
pod states.

- a changed pod template makes a new ReplicaSet (`pod-template-hash`, revision
  annotation one above the highest); a template equal to an old ReplicaSet's
  (rollout undo) reuses that ReplicaSet with a new revision;
- RollingUpdate scales the new ReplicaSet up within maxSurge and the old ones
  down within maxUnavailable (the arithmetic of pkg/controller/deployment/
  rolling.go, simplified); Recreate scales the old ones to 0 first;
- pods become Ready `ready_delay` seconds after creation, unless the image name
  asks for trouble (see kubelet.py: fail/pull, crash, oom);
- Deployment status and the Available / Progressing conditions as documented in
  https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status
  including ProgressDeadlineExceeded after spec.progressDeadlineSeconds.
"""

from __future__ import annotations

import copy
import math
import threading
import time
import traceback
from typing import Any

from devstack.kube import objects as k
from devstack.kube import sets
from devstack.kube.kubelet import Kubelet
from devstack.kube.logs import PodLogs
from devstack.kube.sets import ready as _ready
from devstack.kube.sets import set_count as _set
from devstack.kube.store import Conflict, Store


def _revision(rs: dict[str, Any]) -> int:
    return int(rs["metadata"].get("annotations", {}).get(k.REVISION, "0"))


def _resolve(value: Any, total: int, round_up: bool) -> int:
    """intstr: an int, or a percentage of `total` (maxSurge rounds up, maxUnavailable down)."""
    if isinstance(value, str) and value.endswith("%"):
        share = total * int(value[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value)


class Controller:
    def __init__(
        self,
        store: Store,
        ready_delay: float = 0.3,
        tick: float = 0.05,
        nodes: tuple[str, ...] = k.NODES,
    ):
        self.store = store
        self.ready_delay = ready_delay
        self.tick = tick
        self.nodes = tuple(nodes)
        self.born: dict[str, float] = {}  # pod uid -> monotonic creation time
        self.logs = PodLogs(ready_delay)
        self.kubelet = Kubelet(self)
        self._index: dict[str, tuple[int, dict[str, list[dict[str, Any]]]]] = {}
        self._events: dict[tuple[str, ...], tuple[str, str]] = {}  # aggregation key -> event
        self._next_node = 0
        self._quiet_rv = -1  # the store's rv after the last step
        self._progressing: set[str] = set()  # deployments whose progress deadline runs
        self._ready: tuple[int, dict[str, bool]] = (-1, {})
        self._progress: dict[str, tuple[Any, float]] = {}  # deploy uid -> (signature, when)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kube-controller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.step()
            except Exception:  # noqa: BLE001 - keep reconciling; the traceback goes to stderr
                traceback.print_exc()

    def step(self) -> None:
        """One pass of every controller, then the kubelet. The controllers run only
        when the store changed or a rollout has a deadline to watch, so thousands of
        settled pods cost one cheap kubelet pass per tick."""
        with self.store.lock:
            start = self.store.rv
            if self.store.rv != self._quiet_rv or self._progressing:
                for deploy in self.store.peek("deployments"):
                    self._sync_deployment(deploy)
                for rs in self.store.peek("replicasets"):
                    sets.sync_replicaset(self, rs)
                for sts in self.store.peek("statefulsets"):
                    sets.sync_statefulset(self, sts)
                for ds in self.store.peek("daemonsets"):
                    sets.sync_daemonset(self, ds)
            for pod in self.store.peek("pods"):
                self.kubelet.sync(pod)
            if self.store.rv != self._quiet_rv or self._progressing:
                for deploy in self.store.peek("deployments"):
                    self._deployment_status(deploy)
                self._collect_garbage()
            self._quiet_rv = (
                start if self.store.rv == start else -1
            )  # quiet once a pass writes nothing

    # --- shared by the controllers ------------------------------------------------

    def owned(self, resource: str, owner: dict[str, Any] | None) -> list[dict[str, Any]]:
        """The store's own objects (read only) whose ownerReferences name `owner`;
        an index rebuilt when the store changed, so thousands of pods stay cheap."""
        if owner is None:
            return []
        cached = self._index.get(resource)
        if cached is None or cached[0] != self.store.rv:
            index: dict[str, list[dict[str, Any]]] = {}
            for obj in self.store.peek(resource):
                for ref in obj["metadata"].get("ownerReferences", ()):
                    index.setdefault(ref["uid"], []).append(obj)
            cached = self._index[resource] = (self.store.rv, index)
        return list(cached[1].get(owner["metadata"]["uid"], ()))

    def ready_count(self, pods: list[dict[str, Any]]) -> int:
        """How many of these pods are Ready (cached per store revision)."""
        rv, known = self._ready
        if rv != self.store.rv:
            known = {p["metadata"]["uid"]: _ready(p) for p in self.store.peek("pods")}
            self._ready = (self.store.rv, known)
        return sum(known.get(p["metadata"]["uid"], False) or _ready(p) for p in pods)

    def pick_node(self) -> str:
        self._next_node += 1
        return self.nodes[(self._next_node - 1) % len(self.nodes)]

    def create_pod(
        self, owner: dict[str, Any], pod: dict[str, Any], *, generated: bool = False
    ) -> dict[str, Any]:
        """`generated`: the name is the owner's plus a random suffix (generateName),
        so a taken one gets another, as the API server does."""
        while True:
            try:
                made = self.store.create("pods", pod)
                break
            except Conflict:
                if not generated:
                    raise
                pod["metadata"]["name"] = f"{owner['metadata']['name']}-{k.suffix()}"
        self.born[made["metadata"]["uid"]] = time.monotonic()
        meta = made["metadata"]
        message = f"Successfully assigned {meta['namespace']}/{meta['name']} to {made['spec']['nodeName']}"
        self.emit(made, "Scheduled", message, "default-scheduler")
        return made

    def delete_pod(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        gone = self.store.delete("pods", meta["namespace"], meta["name"])
        if gone is not None:
            self.kubelet.killed(gone)

    def _collect_garbage(self) -> None:
        """Foreground-less cascading delete: dependents whose owner is gone."""
        owners = {
            "replicasets": ("deployments",),
            "pods": ("replicasets", "statefulsets", "daemonsets"),
        }
        for resource, kinds in owners.items():
            alive = {o["metadata"]["uid"] for kind in kinds for o in self.store.peek(kind)}
            doomed = [
                obj
                for obj in self.store.peek(resource)
                if (refs := obj["metadata"].get("ownerReferences"))
                and not any(r["uid"] in alive for r in refs)
            ]
            for obj in doomed:
                if resource == "pods":
                    self.delete_pod(obj)
                else:
                    self.store.delete(
                        resource, obj["metadata"]["namespace"], obj["metadata"]["name"]
                    )

    def emit(
        self,
        involved: dict[str, Any],
        reason: str,
        message: str,
        component: str,
        type_: str = "Normal",
    ) -> None:
        """Record an Event; a repeat (same object, reason, message) bumps count and
        lastTimestamp instead, as client-go's event aggregation does."""
        meta = involved["metadata"]
        key = (meta.get("uid", ""), reason, message, component, type_)
        known = self._events.get(key)
        if known is not None and (old := self.store.get("events", *known)) is not None:
            old["count"] = old.get("count", 1) + 1
            old["lastTimestamp"] = k.now_iso()
            self.store.update("events", old)
            return
        made = self.store.create("events", k.event(involved, reason, message, component, type_))
        self._events[key] = (made["metadata"]["namespace"], made["metadata"]["name"])

    # --- deployment controller ------------------------------------------------

    def _scale(self, deploy: dict[str, Any], rs: dict[str, Any], replicas: int) -> None:
        before = rs["spec"]["replicas"]
        if before == replicas:
            return
        rs["spec"]["replicas"] = replicas
        rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = str(
            deploy["spec"].get("replicas", 1)
        )
        rs.update(self.store.update("replicasets", rs))
        way = "up" if replicas > before else "down"
        message = f"Scaled {way} replica set {rs['metadata']['name']} from {before} to {replicas}"
        self.emit(deploy, "ScalingReplicaSet", message, "deployment-controller")

    def _new_replicaset(self, deploy: dict[str, Any], all_rs: list[dict[str, Any]]):
        spec = deploy["spec"]
        hash_ = k.template_hash(spec["template"])
        top = max((_revision(rs) for rs in all_rs), default=0)
        new = next(
            (rs for rs in all_rs if rs["metadata"]["labels"].get(k.HASH_LABEL) == hash_), None
        )
        if new is None:
            new = self.store.create("replicasets", k.replicaset(deploy, hash_, top + 1))
            all_rs.append(new)
            self._progress.pop(deploy["metadata"]["uid"], None)
        elif _revision(new) < top:  # an old template again (rollout undo): it becomes newest
            new["metadata"]["annotations"][k.REVISION] = str(top + 1)
            new.update(self.store.update("replicasets", new))
        revision = new["metadata"]["annotations"][k.REVISION]
        if (deploy["metadata"].get("annotations") or {}).get(k.REVISION) != revision:
            fresh = copy.deepcopy(deploy)  # `deploy` is the store's own object
            fresh["metadata"].setdefault("annotations", {})[k.REVISION] = revision
            self.store.update("deployments", fresh)
        return new

    def _sync_deployment(self, deploy: dict[str, Any]) -> None:
        spec = deploy["spec"]
        if spec.get("paused"):
            return
        all_rs = [copy.deepcopy(r) for r in self.owned("replicasets", deploy)]
        new = self._new_replicaset(deploy, all_rs)
        olds = sorted((rs for rs in all_rs if rs is not new), key=_revision)
        desired = spec.get("replicas", 1)
        ready = {rs["metadata"]["uid"]: self.ready_count(self.owned("pods", rs)) for rs in all_rs}
        if spec.get("strategy", {}).get("type") == "Recreate":
            for rs in olds:
                self._scale(deploy, rs, 0)
            if not any(self.owned("pods", rs) for rs in olds):
                self._scale(deploy, new, desired)
        else:
            rolling = spec.get("strategy", {}).get("rollingUpdate", {})
            surge = _resolve(rolling.get("maxSurge", "25%"), desired, True)
            unavailable = _resolve(rolling.get("maxUnavailable", "25%"), desired, False)
            if surge == 0 and unavailable == 0:
                unavailable = 1
            total = sum(rs["spec"]["replicas"] for rs in all_rs)
            if new["spec"]["replicas"] > desired or not any(rs["spec"]["replicas"] for rs in olds):
                self._scale(deploy, new, desired)
            elif new["spec"]["replicas"] < desired:
                room = desired + surge - total
                if room > 0:
                    self._scale(deploy, new, min(desired, new["spec"]["replicas"] + room))
            total = sum(rs["spec"]["replicas"] for rs in all_rs)
            new_unready = new["spec"]["replicas"] - ready[new["metadata"]["uid"]]
            budget = total - (desired - unavailable) - new_unready
            for rs in olds:  # unhealthy old pods first, then ready ones, within the budget
                unhealthy = max(0, rs["spec"]["replicas"] - ready[rs["metadata"]["uid"]])
                cut = max(0, min(unhealthy, budget))
                budget -= cut
                self._scale(deploy, rs, rs["spec"]["replicas"] - cut)
            available = sum(ready.values())
            budget = min(budget, available - (desired - unavailable))
            for rs in olds:
                cut = max(0, min(rs["spec"]["replicas"], budget))
                budget -= cut
                self._scale(deploy, rs, rs["spec"]["replicas"] - cut)
        keep = spec.get("revisionHistoryLimit", 10)
        idle = [rs for rs in olds if not rs["spec"]["replicas"] and not self.owned("pods", rs)]
        for rs in idle[: max(0, len(idle) - keep)]:
            self.store.delete("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _deployment_status(self, deploy: dict[str, Any]) -> None:
        spec, meta = deploy["spec"], deploy["metadata"]
        all_rs = [copy.deepcopy(r) for r in self.owned("replicasets", deploy)]
        revision = meta.get("annotations", {}).get(k.REVISION)
        new = next(
            (rs for rs in all_rs if rs["metadata"]["annotations"].get(k.REVISION) == revision), None
        )
        owned = [p for rs in all_rs for p in self.owned("pods", rs)]
        updated = len(self.owned("pods", new))
        ready = self.ready_count(owned)
        desired = spec.get("replicas", 1)
        rolling = spec.get("strategy", {}).get("rollingUpdate", {})
        unavailable = _resolve(rolling.get("maxUnavailable", "25%"), desired, False)
        status = copy.deepcopy(deploy.get("status") or {})
        status["observedGeneration"] = meta.get("generation", 1)
        _set(status, "replicas", len(owned))
        _set(status, "updatedReplicas", updated)
        _set(status, "readyReplicas", ready)
        _set(status, "availableReplicas", ready)  # minReadySeconds is not modelled
        _set(status, "unavailableReplicas", max(0, desired - ready))
        conditions = {c["type"]: c for c in status.get("conditions", [])}
        if ready >= desired - unavailable:
            self._condition(
                conditions,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            )
        else:
            self._condition(
                conditions,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        name = new["metadata"]["name"] if new else meta["name"]
        complete = updated == desired and len(owned) == updated and ready >= updated
        signature = (name, updated, ready, len(owned))
        seen, since = self._progress.get(meta["uid"], (None, time.monotonic()))
        if seen != signature:
            self._progress[meta["uid"]] = (signature, time.monotonic())
            since = time.monotonic()
        deadline = spec.get("progressDeadlineSeconds", 600)
        if complete and new is not None:
            self._condition(
                conditions,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{name}" has successfully progressed.',
            )
        elif spec.get("paused"):
            self._condition(
                conditions, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"
            )
        elif time.monotonic() - since > deadline:
            self._condition(
                conditions,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{name}" has timed out progressing.',
            )
        elif seen != signature or "Progressing" not in conditions:
            self._condition(
                conditions,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                f'ReplicaSet "{name}" is progressing.',
                touch=True,
            )
        status["conditions"] = [
            conditions[t] for t in ("Available", "Progressing") if t in conditions
        ]
        if complete or time.monotonic() - since > deadline or spec.get("paused"):
            self._progressing.discard(meta["uid"])
        else:
            self._progressing.add(meta["uid"])
        if status != deploy.get("status"):
            self.store.update("deployments", {**deploy, "status": status})

    @staticmethod
    def _condition(
        conditions: dict[str, Any],
        type_: str,
        status: str,
        reason: str,
        message: str,
        touch: bool = False,
    ) -> None:
        old = conditions.get(type_)
        if old and (old["status"], old["reason"], old["message"]) == (status, reason, message):
            if touch:
                old["lastUpdateTime"] = k.now_iso()
            return
        stamp = k.now_iso()
        changed = old is None or old["status"] != status
        conditions[type_] = {
            "type": type_,
            "status": status,
            "lastUpdateTime": stamp,
            "lastTransitionTime": stamp if changed else old["lastTransitionTime"],
            "reason": reason,
            "message": message,
        }
