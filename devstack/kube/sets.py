"""The controllers that own pods directly: ReplicaSet, StatefulSet, DaemonSet.

https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/replica-set-v1/
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/stateful-set-v1/
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/daemon-set-v1/
https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#rolling-updates

- StatefulSet (OrderedReady): pods NAME-0..N-1 created in order, each once the
  lower ones are Ready; scale-down and RollingUpdate go from the highest ordinal,
  one pod at a time; `controller-revision-hash` = NAME-<template hash>.
- DaemonSet: one pod per node of the controller's node list; RollingUpdate
  replaces one pod at a time (maxUnavailable 1).
"""

from __future__ import annotations

from typing import Any

from devstack.kube import objects as k

REV_LABEL = "controller-revision-hash"


def ready(pod: dict[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", [])
    )


def set_count(status: dict[str, Any], key: str, value: int) -> None:
    if value:  # these status counters are omitempty
        status[key] = value
    else:
        status.pop(key, None)


def _save_status(ctl: Any, resource: str, obj: dict[str, Any], status: dict[str, Any]) -> None:
    if status != obj.get("status"):  # `obj` is the store's own: replace, do not change it
        ctl.store.update(resource, {**obj, "status": status})


# --- ReplicaSet ----------------------------------------------------------------


def sync_replicaset(ctl: Any, rs: dict[str, Any]) -> None:
    pods = ctl.owned("pods", rs)
    want = rs["spec"]["replicas"]
    for _ in range(want - len(pods)):
        pod = ctl.create_pod(rs, k.pod(rs, node=ctl.pick_node()), generated=True)
        pods.append(pod)
        message = f"Created pod: {pod['metadata']['name']}"
        ctl.emit(rs, "SuccessfulCreate", message, "replicaset-controller")
    if len(pods) > want:
        doomed = sorted(pods, key=lambda p: (ready(p), p["metadata"]["creationTimestamp"]))
        for pod in doomed[: len(pods) - want]:
            ctl.delete_pod(pod)
            pods.remove(pod)
            message = f"Deleted pod: {pod['metadata']['name']}"
            ctl.emit(rs, "SuccessfulDelete", message, "replicaset-controller")
    status = {"replicas": len(pods), "observedGeneration": rs["metadata"].get("generation", 1)}
    count = ctl.ready_count(pods)
    set_count(status, "fullyLabeledReplicas", len(pods))
    set_count(status, "readyReplicas", count)
    set_count(status, "availableReplicas", count)
    _save_status(ctl, "replicasets", rs, status)


# --- StatefulSet ---------------------------------------------------------------


def _revision(obj: dict[str, Any]) -> str:
    return f"{obj['metadata']['name']}-{k.template_hash(obj['spec']['template'])}"


def sync_statefulset(ctl: Any, sts: dict[str, Any]) -> None:
    name, spec = sts["metadata"]["name"], sts["spec"]
    want = spec.get("replicas", 1)
    update = _revision(sts)
    pods = {p["metadata"]["name"]: p for p in ctl.owned("pods", sts)}
    status = dict(sts.get("status") or {})
    current = status.get("currentRevision") or update

    def event(verb: str, pod_name: str) -> None:
        reason = "SuccessfulCreate" if verb == "create" else "SuccessfulDelete"
        message = f"{verb} Pod {pod_name} in StatefulSet {name} successful"
        ctl.emit(sts, reason, message, "statefulset-controller")

    busy = False  # OrderedReady: one pod in flight at a time
    for i in range(want):
        pod_name = f"{name}-{i}"
        pod = pods.get(pod_name)
        if pod is None:
            labels = {
                REV_LABEL: update,
                "statefulset.kubernetes.io/pod-name": pod_name,
                "apps.kubernetes.io/pod-index": str(i),
            }
            made = k.pod(sts, name=pod_name, node=ctl.pick_node(), labels=labels)
            made["spec"].update(hostname=pod_name, subdomain=spec.get("serviceName", name))
            pods[pod_name] = ctl.create_pod(sts, made)
            event("create", pod_name)
            busy = True
            break
        if not ready(pod):
            busy = True
            break
    extra = sorted(
        (p for n, p in pods.items() if _ordinal(n, name) >= want),
        key=lambda p: -_ordinal(p["metadata"]["name"], name),
    )
    if not busy and extra:  # scale down from the highest ordinal, one at a time
        ctl.delete_pod(extra[0])
        event("delete", extra[0]["metadata"]["name"])
        pods.pop(extra[0]["metadata"]["name"])
        busy = True
    strategy = spec.get("updateStrategy", {})
    partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
    if not busy and strategy.get("type", "RollingUpdate") == "RollingUpdate":
        stale = [
            p
            for n, p in pods.items()
            if p["metadata"]["labels"].get(REV_LABEL) != update and _ordinal(n, name) >= partition
        ]
        if stale:  # the highest ordinal first; it comes back at the new revision
            doomed = max(stale, key=lambda p: _ordinal(p["metadata"]["name"], name))
            ctl.delete_pod(doomed)
            event("delete", doomed["metadata"]["name"])
            pods.pop(doomed["metadata"]["name"])
    live = list(pods.values())
    updated = sum(p["metadata"]["labels"].get(REV_LABEL) == update for p in live)
    count = ctl.ready_count(live)
    if updated == len(live) == want and count == want:
        current = update
    new_status: dict[str, Any] = {
        "observedGeneration": sts["metadata"].get("generation", 1),
        "replicas": len(live),
        "readyReplicas": count,
        "currentReplicas": sum(p["metadata"]["labels"].get(REV_LABEL) == current for p in live),
        "updatedReplicas": updated,
        "availableReplicas": count,
        "currentRevision": current,
        "updateRevision": update,
        "collisionCount": 0,
    }
    for key in ("readyReplicas", "currentReplicas", "updatedReplicas"):
        set_count(new_status, key, new_status[key])
    _save_status(ctl, "statefulsets", sts, new_status)


def _ordinal(pod_name: str, set_name: str) -> int:
    tail = pod_name[len(set_name) + 1 :]
    return int(tail) if tail.isdigit() else -1


# --- DaemonSet -----------------------------------------------------------------


def sync_daemonset(ctl: Any, ds: dict[str, Any]) -> None:
    update = k.template_hash(ds["spec"]["template"])
    generation = ds["metadata"].get("generation", 1)
    by_node: dict[str, dict[str, Any]] = {}
    for pod in ctl.owned("pods", ds):
        node = pod["spec"].get("nodeName", "")
        if node in ctl.nodes and node not in by_node:
            by_node[node] = pod
        else:  # misscheduled or a duplicate
            ctl.delete_pod(pod)
            ctl.emit(
                ds,
                "SuccessfulDelete",
                f"Deleted pod: {pod['metadata']['name']}",
                "daemonset-controller",
            )
    for node in ctl.nodes:
        if node not in by_node:
            labels = {REV_LABEL: update, "pod-template-generation": str(generation)}
            made = k.pod(ds, node=node, labels=labels)
            by_node[node] = ctl.create_pod(ds, made, generated=True)
            message = f"Created pod: {made['metadata']['name']}"
            ctl.emit(ds, "SuccessfulCreate", message, "daemonset-controller")
    live = list(by_node.values())
    if ds["spec"].get("updateStrategy", {}).get("type", "RollingUpdate") == "RollingUpdate":
        stale = [p for p in live if p["metadata"]["labels"].get(REV_LABEL) != update]
        if stale and all(map(ready, live)):  # maxUnavailable 1
            doomed = sorted(stale, key=lambda p: p["spec"]["nodeName"])[0]
            ctl.delete_pod(doomed)
            message = f"Deleted pod: {doomed['metadata']['name']}"
            ctl.emit(ds, "SuccessfulDelete", message, "daemonset-controller")
    count = ctl.ready_count(live)
    updated = sum(p["metadata"]["labels"].get(REV_LABEL) == update for p in live)
    status: dict[str, Any] = {
        "currentNumberScheduled": len(live),
        "desiredNumberScheduled": len(ctl.nodes),
        "numberMisscheduled": 0,
        "numberReady": count,
        "observedGeneration": generation,
        "updatedNumberScheduled": updated,
        "numberAvailable": count,
        "numberUnavailable": len(ctl.nodes) - count,
    }
    for key in ("updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
        set_count(status, key, status[key])
    _save_status(ctl, "daemonsets", ds, status)
