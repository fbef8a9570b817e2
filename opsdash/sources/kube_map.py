"""Kubernetes API objects (JSON) onto opsdash's records, and rollout status.

Pure functions of the documented shapes, so they are tested without a cluster:
- Deployment, StatefulSet, DaemonSet:
  https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/
- Pod and its ContainerStatus:
  https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/
- Event: https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/

The rollout states follow kubectl's `rollout status` viewers
(kubectl pkg/polymorphichelpers/rollout_status.go), word for word where they
print a message, so what opsdash says matches what the engineer would see.
"""

from __future__ import annotations

from typing import Any

from opsdash.model.kube import (
    Condition,
    KubeEvent,
    KubePod,
    KubeWorkload,
    PodContainer,
    Revision,
    RolloutState,
)
from opsdash.sources.timestamps import rfc3339 as timestamp

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _pairs(mapping: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(mapping, dict):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in mapping.items()))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def template_containers(spec: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(name, image) of each container of a workload's pod template."""
    pod_spec = _dict(_dict(spec.get("template")).get("spec"))
    return tuple(
        (_str(c.get("name")), _str(c.get("image")))
        for c in _list(pod_spec.get("containers"))
        if isinstance(c, dict)
    )


def conditions(status: dict[str, Any]) -> tuple[Condition, ...]:
    return tuple(
        Condition(
            type=_str(c.get("type")),
            status=_str(c.get("status")),
            reason=_str(c.get("reason")),
            message=_str(c.get("message")),
            updated=timestamp(c.get("lastUpdateTime") or c.get("lastTransitionTime")),
        )
        for c in _list(status.get("conditions"))
        if isinstance(c, dict)
    )


def _deployment_rollout(obj: dict[str, Any]) -> tuple[RolloutState, str]:
    meta, spec, status = (
        _dict(obj.get("metadata")),
        _dict(obj.get("spec")),
        _dict(obj.get("status")),
    )
    name = _str(meta.get("name"))
    if spec.get("paused"):
        return RolloutState.PAUSED, f'deployment "{name}" is paused'
    if _int(meta.get("generation")) > _int(status.get("observedGeneration")):
        return RolloutState.PROGRESSING, "Waiting for deployment spec update to be observed..."
    for c in _list(status.get("conditions")):
        if (
            isinstance(c, dict)
            and c.get("type") == "Progressing"
            and c.get("reason") == "ProgressDeadlineExceeded"
        ):
            return RolloutState.FAILED, f'deployment "{name}" exceeded its progress deadline'
    desired = spec.get("replicas", 1)
    updated = _int(status.get("updatedReplicas"))
    replicas = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    if isinstance(desired, int) and updated < desired:
        return RolloutState.PROGRESSING, (
            f'Waiting for deployment "{name}" rollout to finish: {updated} out of {desired}'
            " new replicas have been updated..."
        )
    if replicas > updated:
        return RolloutState.PROGRESSING, (
            f'Waiting for deployment "{name}" rollout to finish: {replicas - updated}'
            " old replicas are pending termination..."
        )
    if available < updated:
        return RolloutState.PROGRESSING, (
            f'Waiting for deployment "{name}" rollout to finish: {available} of {updated}'
            " updated replicas are available..."
        )
    return RolloutState.COMPLETE, f'deployment "{name}" successfully rolled out'


def _statefulset_rollout(obj: dict[str, Any]) -> tuple[RolloutState, str]:
    meta, spec, status = (
        _dict(obj.get("metadata")),
        _dict(obj.get("spec")),
        _dict(obj.get("status")),
    )
    strategy = _dict(spec.get("updateStrategy"))
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return (
            RolloutState.UNKNOWN,
            "rollout status is only available for RollingUpdate strategy type",
        )
    observed = _int(status.get("observedGeneration"))
    if observed == 0 or _int(meta.get("generation")) > observed:
        return RolloutState.PROGRESSING, "Waiting for statefulset spec update to be observed..."
    desired = spec.get("replicas", 1)
    ready = _int(status.get("readyReplicas"))
    if isinstance(desired, int) and ready < desired:
        return RolloutState.PROGRESSING, f"Waiting for {desired - ready} pods to be ready..."
    partition = _int(_dict(strategy.get("rollingUpdate")).get("partition"))
    if partition and isinstance(desired, int):
        updated = _int(status.get("updatedReplicas"))
        if updated < desired - partition:
            return RolloutState.PROGRESSING, (
                f"Waiting for partitioned roll out to finish: {updated} out of"
                f" {desired - partition} new pods have been updated..."
            )
        return RolloutState.COMPLETE, (
            f"partitioned roll out complete: {updated} new pods have been updated..."
        )
    if status.get("updateRevision") != status.get("currentRevision"):
        return RolloutState.PROGRESSING, (
            f"waiting for statefulset rolling update to complete {_int(status.get('updatedReplicas'))}"
            f" pods at revision {_str(status.get('updateRevision'))}..."
        )
    return RolloutState.COMPLETE, (
        f"statefulset rolling update complete {_int(status.get('currentReplicas'))} pods at"
        f" revision {_str(status.get('currentRevision'))}..."
    )


def _daemonset_rollout(obj: dict[str, Any]) -> tuple[RolloutState, str]:
    meta, spec, status = (
        _dict(obj.get("metadata")),
        _dict(obj.get("spec")),
        _dict(obj.get("status")),
    )
    name = _str(meta.get("name"))
    if _dict(spec.get("updateStrategy")).get("type", "RollingUpdate") != "RollingUpdate":
        return (
            RolloutState.UNKNOWN,
            "rollout status is only available for RollingUpdate strategy type",
        )
    if _int(meta.get("generation")) > _int(status.get("observedGeneration")):
        return RolloutState.PROGRESSING, "Waiting for daemon set spec update to be observed..."
    desired = _int(status.get("desiredNumberScheduled"))
    updated = _int(status.get("updatedNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    if updated < desired:
        return RolloutState.PROGRESSING, (
            f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired}'
            " new pods have been updated..."
        )
    if available < desired:
        return RolloutState.PROGRESSING, (
            f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired}'
            " updated pods are available..."
        )
    return RolloutState.COMPLETE, f'daemon set "{name}" successfully rolled out'


ROLLOUTS = {
    "Deployment": _deployment_rollout,
    "StatefulSet": _statefulset_rollout,
    "DaemonSet": _daemonset_rollout,
}


def workload(context: str, kind: str, obj: dict[str, Any]) -> KubeWorkload:
    """One Deployment, StatefulSet or DaemonSet as the panel shows it."""
    meta, spec, status = (
        _dict(obj.get("metadata")),
        _dict(obj.get("spec")),
        _dict(obj.get("status")),
    )
    annotations = _dict(meta.get("annotations"))
    rollout, message = ROLLOUTS[kind](obj)
    if kind == "DaemonSet":
        desired = _int(status.get("desiredNumberScheduled"))
        ready = _int(status.get("numberReady"))
        updated = _int(status.get("updatedNumberScheduled"))
        available = _int(status.get("numberAvailable"))
        revision = str(_int(meta.get("generation")) or "")
    else:
        replicas = spec.get("replicas", 1)
        desired = replicas if isinstance(replicas, int) else 0
        ready = _int(status.get("readyReplicas"))
        updated = _int(status.get("updatedReplicas"))
        available = _int(status.get("availableReplicas"))
        if kind == "Deployment":
            revision = _str(annotations.get(REVISION_ANNOTATION))
        else:
            revision = _str(status.get("updateRevision")).rsplit("-", 1)[-1]
    return KubeWorkload(
        context=context,
        kind=kind,
        namespace=_str(meta.get("namespace")),
        name=_str(meta.get("name")),
        uid=_str(meta.get("uid")),
        desired=desired,
        ready=ready,
        updated=updated,
        available=available,
        containers=template_containers(spec),
        revision=revision,
        created=timestamp(meta.get("creationTimestamp")),
        generation=_int(meta.get("generation")),
        observed_generation=_int(status.get("observedGeneration")),
        rollout=rollout,
        rollout_message=message,
        paused=bool(spec.get("paused")),
        labels=_pairs(meta.get("labels")),
        selector=_pairs(_dict(spec.get("selector")).get("matchLabels")),
        conditions=conditions(status),
        change_cause=_str(annotations.get(CHANGE_CAUSE_ANNOTATION)),
    )


def _container(spec: dict[str, Any], status: dict[str, Any] | None) -> PodContainer:
    status = status or {}
    state = _dict(status.get("state"))
    which = next(iter(state), "waiting") if state else "waiting"
    detail = _dict(state.get(which))
    last = _dict(_dict(status.get("lastState")).get("terminated"))
    exit_code = last.get("exitCode")
    return PodContainer(
        name=_str(spec.get("name")) or _str(status.get("name")),
        image=_str(status.get("image")) or _str(spec.get("image")),
        ready=bool(status.get("ready")),
        restarts=_int(status.get("restartCount")),
        state=which,
        reason=_str(detail.get("reason")),
        last_reason=_str(last.get("reason")),
        last_exit=exit_code if isinstance(exit_code, int) else None,
    )


def pod(context: str, obj: dict[str, Any]) -> KubePod:
    meta, spec, status = (
        _dict(obj.get("metadata")),
        _dict(obj.get("spec")),
        _dict(obj.get("status")),
    )
    statuses = {
        _str(s.get("name")): s
        for s in _list(status.get("containerStatuses"))
        if isinstance(s, dict)
    }
    owner = next(
        (
            f"{_str(o.get('kind'))}/{_str(o.get('name'))}"
            for o in _list(meta.get("ownerReferences"))
            if isinstance(o, dict) and o.get("controller")
        ),
        "",
    )
    return KubePod(
        context=context,
        namespace=_str(meta.get("namespace")),
        name=_str(meta.get("name")),
        uid=_str(meta.get("uid")),
        phase=_str(status.get("phase")) or "Pending",
        containers=tuple(
            _container(c, statuses.get(_str(c.get("name"))))
            for c in _list(spec.get("containers"))
            if isinstance(c, dict)
        ),
        node=_str(spec.get("nodeName")),
        created=timestamp(meta.get("creationTimestamp")),
        owner=owner,
        labels=_pairs(meta.get("labels")),
        deleting=bool(meta.get("deletionTimestamp")),
        reason=_str(status.get("reason")),
    )


def revision(obj: dict[str, Any], current: str = "") -> Revision:
    """A ReplicaSet as one entry of its Deployment's history; `current`: the
    Deployment's own revision, which marks the ReplicaSet it runs now."""
    meta, spec, status = (
        _dict(obj.get("metadata")),
        _dict(obj.get("spec")),
        _dict(obj.get("status")),
    )
    annotations = _dict(meta.get("annotations"))
    number = annotations.get(REVISION_ANNOTATION, "0")
    return Revision(
        number=int(number) if str(number).isdigit() else 0,
        name=_str(meta.get("name")),
        containers=template_containers(spec),
        replicas=_int(status.get("replicas")),
        created=timestamp(meta.get("creationTimestamp")),
        change_cause=_str(annotations.get(CHANGE_CAUSE_ANNOTATION)),
        current=bool(current) and str(number) == current,
    )


def event(obj: dict[str, Any]) -> KubeEvent:
    involved = _dict(obj.get("involvedObject") or obj.get("regarding"))
    count = obj.get("count") or _dict(obj.get("series")).get("count") or 1
    return KubeEvent(
        at=timestamp(obj.get("lastTimestamp") or obj.get("eventTime") or obj.get("firstTimestamp"))
        or timestamp(_dict(obj.get("metadata")).get("creationTimestamp")),
        type=_str(obj.get("type")) or "Normal",
        reason=_str(obj.get("reason")),
        message=_str(obj.get("message") or obj.get("note")),
        object=f"{_str(involved.get('kind'))}/{_str(involved.get('name'))}",
        count=count if isinstance(count, int) else 1,
    )
