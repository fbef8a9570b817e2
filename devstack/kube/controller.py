"""A small deployment + replicaset + kubelet loop over the Store, enough for a
rollout to look as it does on a cluster.

- a changed pod template makes a new ReplicaSet (`pod-template-hash`, revision
  annotation one above the highest); a template equal to an old ReplicaSet's
  (rollout undo) reuses that ReplicaSet with a new revision;
- RollingUpdate scales the new ReplicaSet up within maxSurge and the old ones
  down within maxUnavailable (the arithmetic of pkg/controller/deployment/
  rolling.go, simplified); Recreate scales the old ones to 0 first;
- pods become Ready `ready_delay` seconds after creation, except when an image
  name contains "fail" (ImagePullBackOff for ever);
- Deployment status and the Available / Progressing conditions as documented in
  https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status
  including ProgressDeadlineExceeded after spec.progressDeadlineSeconds.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from typing import Any

from devstack.kube import objects as k
from devstack.kube.store import Store


def _owned(items: list[dict[str, Any]], owner: dict[str, Any]) -> list[dict[str, Any]]:
    uid = owner["metadata"]["uid"]
    return [
        i
        for i in items
        if any(r.get("uid") == uid for r in i["metadata"].get("ownerReferences", []))
    ]


def _revision(rs: dict[str, Any]) -> int:
    return int(rs["metadata"].get("annotations", {}).get(k.REVISION, "0"))


def _ready(pod: dict[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", [])
    )


def _resolve(value: Any, total: int, round_up: bool) -> int:
    """intstr: an int, or a percentage of `total` (maxSurge rounds up, maxUnavailable down)."""
    if isinstance(value, str) and value.endswith("%"):
        share = total * int(value[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value)


def _set(status: dict[str, Any], key: str, value: int) -> None:
    if value:  # DeploymentStatus fields are omitempty
        status[key] = value
    else:
        status.pop(key, None)


class Controller:
    def __init__(self, store: Store, ready_delay: float = 0.3, tick: float = 0.05):
        self.store = store
        self.ready_delay = ready_delay
        self.tick = tick
        self._born: dict[str, float] = {}  # pod uid -> monotonic creation time
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
            self.step()

    def step(self) -> None:
        with self.store.lock:
            for deploy in self.store.list("deployments")[1]:
                self._sync_deployment(deploy)
            for rs in self.store.list("replicasets")[1]:
                self._sync_replicaset(rs)
            for pod in self.store.list("pods")[1]:
                self._sync_pod(pod)
            for deploy in self.store.list("deployments")[1]:
                self._deployment_status(deploy)
            self._collect_garbage()

    def _collect_garbage(self) -> None:
        """Foreground-less cascading delete: ReplicaSets and pods whose owner is gone."""
        for resource, owner in (("replicasets", "deployments"), ("pods", "replicasets")):
            alive = {o["metadata"]["uid"] for o in self.store.list(owner)[1]}
            for obj in self.store.list(resource)[1]:
                refs = obj["metadata"].get("ownerReferences", [])
                if refs and not any(r["uid"] in alive for r in refs):
                    meta = obj["metadata"]
                    self.store.delete(resource, meta["namespace"], meta["name"])

    def _emit(
        self,
        involved: dict[str, Any],
        reason: str,
        message: str,
        component: str,
        type_: str = "Normal",
    ) -> None:
        self.store.create("events", k.event(involved, reason, message, component, type_))

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
        self._emit(deploy, "ScalingReplicaSet", message, "deployment-controller")

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
        if deploy["metadata"].setdefault("annotations", {}).get(k.REVISION) != revision:
            deploy["metadata"]["annotations"][k.REVISION] = revision
            deploy.update(self.store.update("deployments", deploy))
        return new

    def _sync_deployment(self, deploy: dict[str, Any]) -> None:
        spec = deploy["spec"]
        if spec.get("paused"):
            return
        all_rs = _owned(self.store.list("replicasets")[1], deploy)
        new = self._new_replicaset(deploy, all_rs)
        olds = sorted((rs for rs in all_rs if rs is not new), key=_revision)
        desired = spec.get("replicas", 1)
        pods = self.store.list("pods")[1]
        ready = {rs["metadata"]["uid"]: sum(map(_ready, _owned(pods, rs))) for rs in all_rs}
        if spec.get("strategy", {}).get("type") == "Recreate":
            for rs in olds:
                self._scale(deploy, rs, 0)
            if not any(_owned(pods, rs) for rs in olds):
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
        idle = [rs for rs in olds if not rs["spec"]["replicas"] and not _owned(pods, rs)]
        for rs in idle[: max(0, len(idle) - keep)]:
            self.store.delete("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _deployment_status(self, deploy: dict[str, Any]) -> None:
        spec, meta = deploy["spec"], deploy["metadata"]
        all_rs = _owned(self.store.list("replicasets")[1], deploy)
        revision = meta.get("annotations", {}).get(k.REVISION)
        new = next(
            (rs for rs in all_rs if rs["metadata"]["annotations"].get(k.REVISION) == revision), None
        )
        pods = self.store.list("pods")[1]
        owned = [p for rs in all_rs for p in _owned(pods, rs)]
        updated = len(_owned(pods, new)) if new else 0
        ready = sum(map(_ready, owned))
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
        if status != deploy.get("status"):
            deploy["status"] = status
            self.store.update("deployments", deploy)

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

    # --- replicaset controller and kubelet --------------------------------------

    def _sync_replicaset(self, rs: dict[str, Any]) -> None:
        pods = _owned(self.store.list("pods")[1], rs)
        want = rs["spec"]["replicas"]
        for _ in range(want - len(pods)):
            pod = self.store.create("pods", k.pod(rs))
            self._born[pod["metadata"]["uid"]] = time.monotonic()
            pods.append(pod)
            self._emit(
                rs,
                "SuccessfulCreate",
                f"Created pod: {pod['metadata']['name']}",
                "replicaset-controller",
            )
        if len(pods) > want:
            doomed = sorted(pods, key=lambda p: (_ready(p), p["metadata"]["creationTimestamp"]))
            for pod in doomed[: len(pods) - want]:
                self.store.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
                pods.remove(pod)
                self._emit(
                    rs,
                    "SuccessfulDelete",
                    f"Deleted pod: {pod['metadata']['name']}",
                    "replicaset-controller",
                )
        status = {"replicas": len(pods), "observedGeneration": rs["metadata"].get("generation", 1)}
        ready = sum(map(_ready, pods))
        for key in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
            _set(status, key, len(pods) if key == "fullyLabeledReplicas" else ready)
        if status != rs.get("status"):
            rs["status"] = status
            self.store.update("replicasets", rs)

    def _sync_pod(self, pod: dict[str, Any]) -> None:
        born = self._born.setdefault(pod["metadata"]["uid"], time.monotonic())
        if pod["status"]["phase"] != "Pending" or time.monotonic() - born < self.ready_delay:
            return
        containers = pod["status"]["containerStatuses"]
        if any("fail" in c["image"] for c in containers):
            if containers[0]["state"]["waiting"]["reason"] == "ImagePullBackOff":
                return
            for c in containers:
                c["state"] = {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": f'Back-off pulling image "{c["image"]}"',
                    }
                }
            self._emit(
                pod,
                "Failed",
                f'Failed to pull image "{containers[0]["image"]}"',
                "kubelet",
                "Warning",
            )
        else:
            stamp = k.now_iso()
            for c in containers:
                c.update(ready=True, started=True, state={"running": {"startedAt": stamp}})
            pod["status"].update(phase="Running", startTime=stamp, podIP="10.244.0.10")
            pod["status"]["conditions"] = [
                {"type": t, "status": "True", "lastTransitionTime": stamp}
                for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
            ]
            self._emit(pod, "Started", f"Started container {containers[0]['name']}", "kubelet")
        self.store.update("pods", pod)
