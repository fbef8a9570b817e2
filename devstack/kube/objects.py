"""Builders for the Kubernetes objects the emulator serves, shaped as the API
reference documents them (https://kubernetes.io/docs/reference/kubernetes-api/)."""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import time
import uuid
from typing import Any

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"

# resource -> (apiVersion, kind, namespaced)
KINDS: dict[str, tuple[str, str, bool]] = {
    "namespaces": ("v1", "Namespace", False),
    "pods": ("v1", "Pod", True),
    "events": ("v1", "Event", True),
    "deployments": ("apps/v1", "Deployment", True),
    "replicasets": ("apps/v1", "ReplicaSet", True),
    "statefulsets": ("apps/v1", "StatefulSet", True),
    "daemonsets": ("apps/v1", "DaemonSet", True),
}
NODES = ("node-1", "node-2")  # the fixed node list pods are scheduled on


def now_iso() -> str:
    """RFC 3339 in UTC, second resolution, as metav1.Time serialises."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_uid() -> str:
    return str(uuid.uuid4())


def suffix(n: int = 5) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand
    return "".join(secrets.choice(alphabet) for _ in range(n))


def status(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    # https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def _pruned(value: Any) -> Any:
    """Without nulls and empty maps: what the real server's defaulting makes equal
    (kubectl rollout undo sends `creationTimestamp: null` and `resources: {}`)."""
    if isinstance(value, dict):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None and v != {}}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def template_hash(template: dict[str, Any]) -> str:
    """Stable hash of a pod template without its own hash label (the real one is
    fnv32a of the template, safe-encoded; only stability matters here)."""
    clean = _pruned(copy.deepcopy(template))
    clean.get("metadata", {}).get("labels", {}).pop(HASH_LABEL, None)
    digest = hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 20, 2))


def namespace(name: str) -> dict[str, Any]:
    # https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/namespace-v1/
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def deployment(
    ns: str,
    name: str,
    image: str,
    replicas: int = 1,
    *,
    progress_deadline: int = 600,
    max_surge: int | str = "25%",
    max_unavailable: int | str = "25%",
    labels: dict[str, str] | None = None,
    containers: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    # https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/
    labels = labels or {"app": name}
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": ns, "labels": dict(labels), "annotations": {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": pod_spec(containers or [(name, image)]),
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": max_surge, "maxUnavailable": max_unavailable},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": progress_deadline,
        },
        "status": {},
    }


def pod_spec(containers: list[tuple[str, str]]) -> dict[str, Any]:
    # https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodSpec
    return {
        "containers": [
            {"name": n, "image": i, "imagePullPolicy": "IfNotPresent"} for n, i in containers
        ],
        "restartPolicy": "Always",
    }


def owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def replicaset(deploy: dict[str, Any], hash_: str, revision: int) -> dict[str, Any]:
    # https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/replica-set-v1/
    meta = deploy["metadata"]
    template = copy.deepcopy(deploy["spec"]["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = hash_
    selector = copy.deepcopy(deploy["spec"]["selector"])
    selector.setdefault("matchLabels", {})[HASH_LABEL] = hash_
    return {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": f"{meta['name']}-{hash_}",
            "namespace": meta["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {
                REVISION: str(revision),
                "deployment.kubernetes.io/desired-replicas": str(deploy["spec"].get("replicas", 1)),
            },
            "ownerReferences": [owner_ref(deploy)],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
        "status": {"replicas": 0},
    }


def pod(
    owner: dict[str, Any],
    name: str | None = None,
    node: str = NODES[0],
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    # https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/
    template = copy.deepcopy(owner["spec"]["template"])
    containers = template["spec"]["containers"]
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": name or f"{owner['metadata']['name']}-{suffix()}",
            "namespace": owner["metadata"]["namespace"],
            "labels": {**template["metadata"].get("labels", {}), **(labels or {})},
            "annotations": dict(template["metadata"].get("annotations", {})),
            "ownerReferences": [owner_ref(owner)],
        },
        "spec": {**template["spec"], "nodeName": node, "schedulerName": "default-scheduler"},
        "status": pending_status(containers, node),
    }


def pending_status(containers: list[dict[str, Any]], node: str) -> dict[str, Any]:
    """PodStatus of a scheduled pod whose containers are still being created."""
    return {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now_iso()}],
        "hostIP": node_ip(node),
        "containerStatuses": [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "started": False,
                "state": {"waiting": {"reason": "ContainerCreating"}},
                "lastState": {},
            }
            for c in containers
        ],
        "qosClass": "BestEffort",
    }


def node_ip(node: str) -> str:
    digits = "".join(ch for ch in node if ch.isdigit()) or "1"
    return f"172.18.0.{int(digits) % 250 + 2}"


def image_id(image: str) -> str:
    """containerStatuses[].imageID: the image's repo digest."""
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"docker.io/{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def container_id(pod_uid: str, name: str, restarts: int) -> str:
    raw = f"{pod_uid}/{name}/{restarts}".encode()
    return f"containerd://{hashlib.sha256(raw).hexdigest()}"


def _set_spec(ns: str, name: str, image: str, replicas: int | None, containers, labels):
    labels = labels or {"app": name}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(labels)},
        "template": {
            "metadata": {"labels": dict(labels)},
            "spec": pod_spec(containers or [(name, image)]),
        },
        "revisionHistoryLimit": 10,
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"name": name, "namespace": ns, "labels": dict(labels), "annotations": {}}, spec


def statefulset(
    ns: str,
    name: str,
    image: str,
    replicas: int = 1,
    *,
    containers: list[tuple[str, str]] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    # https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/stateful-set-v1/
    meta, spec = _set_spec(ns, name, image, replicas, containers, labels)
    spec.update(
        serviceName=name,
        podManagementPolicy="OrderedReady",
        updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        persistentVolumeClaimRetentionPolicy={"whenDeleted": "Retain", "whenScaled": "Retain"},
    )
    return {
        "kind": "StatefulSet",
        "apiVersion": "apps/v1",
        "metadata": meta,
        "spec": spec,
        "status": {"replicas": 0, "availableReplicas": 0},
    }


def daemonset(
    ns: str,
    name: str,
    image: str,
    *,
    containers: list[tuple[str, str]] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    # https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/daemon-set-v1/
    meta, spec = _set_spec(ns, name, image, None, containers, labels)
    spec["updateStrategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
    }
    status = {
        k: 0
        for k in (
            "currentNumberScheduled",
            "desiredNumberScheduled",
            "numberMisscheduled",
            "numberReady",
        )
    }
    return {
        "kind": "DaemonSet",
        "apiVersion": "apps/v1",
        "metadata": meta,
        "spec": spec,
        "status": status,
    }


def event(
    involved: dict[str, Any], reason: str, message: str, component: str, type_: str = "Normal"
) -> dict[str, Any]:
    # core v1 Event, /api/v1/namespaces/{ns}/events:
    # https://kubernetes.io/docs/reference/generated/kubernetes-api/v1.30/#event-v1-core
    # (events.k8s.io/v1 serves the same events in another shape: see event_v1)
    meta = involved["metadata"]
    stamp = now_iso()
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {
            "name": f"{meta['name']}.{secrets.token_hex(8)}",
            "namespace": meta.get("namespace", "default"),
        },
        "involvedObject": {
            "kind": involved["kind"],
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "uid": meta.get("uid", ""),
            "apiVersion": involved["apiVersion"],
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "type": type_,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": "",
    }


def event_v1(core: dict[str, Any]) -> dict[str, Any]:
    """A core v1 Event as events.k8s.io/v1 shows it (the same stored object):
    https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/"""
    meta = core["metadata"]
    first = core.get("firstTimestamp") or now_iso()
    return {
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": meta,
        "eventTime": core.get("eventTime") or first.replace("Z", ".000000Z"),
        "reason": core.get("reason", ""),
        "note": core.get("message", ""),
        "type": core.get("type", "Normal"),
        "regarding": core["involvedObject"],
        "reportingController": core.get("reportingComponent") or core["source"]["component"],
        "reportingInstance": core.get("reportingInstance", ""),
        "action": core.get("reason", ""),
        "deprecatedSource": core.get("source", {}),
        "deprecatedFirstTimestamp": first,
        "deprecatedLastTimestamp": core.get("lastTimestamp") or first,
        "deprecatedCount": core.get("count", 1),
    }
