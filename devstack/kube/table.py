"""Server-side printing: the meta.k8s.io/v1 Table kubectl asks for with
`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, with the columns
kube-apiserver prints for these kinds (pkg/printers/internalversion/printers.go).

https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from typing import Any


def human_age(stamp: str | None) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration, for the ranges tests see."""
    if not stamp:
        return "<unknown>"
    seconds = max(0, int(time.time() - calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))))
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    return f"{hours}h" if hours < 48 else f"{hours // 24}d"


def _col(name: str, type_: str = "string", fmt: str = "", priority: int = 0) -> dict[str, Any]:
    return {"name": name, "type": type_, "format": fmt, "description": name, "priority": priority}


def _pod_status(pod: dict[str, Any]) -> str:
    for c in pod["status"].get("containerStatuses", []):
        waiting = c.get("state", {}).get("waiting")
        if waiting:
            return waiting.get("reason", "Waiting")
    return pod["status"].get("phase", "Unknown")


def _deployment(d: dict[str, Any]) -> list[Any]:
    st, spec = d.get("status", {}), d["spec"]
    containers = spec["template"]["spec"]["containers"]
    labels = spec["selector"].get("matchLabels", {})
    return [
        f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        st.get("updatedReplicas", 0),
        st.get("availableReplicas", 0),
        human_age(d["metadata"].get("creationTimestamp")),
        ",".join(c["name"] for c in containers),
        ",".join(c["image"] for c in containers),
        ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
    ]


def _template(obj: dict[str, Any]) -> list[str]:
    containers = obj["spec"]["template"]["spec"]["containers"]
    return [",".join(c["name"] for c in containers), ",".join(c["image"] for c in containers)]


def _statefulset(sts: dict[str, Any]) -> list[Any]:
    st = sts.get("status", {})
    return [
        f"{st.get('readyReplicas', 0)}/{sts['spec'].get('replicas', 1)}",
        human_age(sts["metadata"].get("creationTimestamp")),
        *_template(sts),
    ]


def _daemonset(ds: dict[str, Any]) -> list[Any]:
    st, spec = ds.get("status", {}), ds["spec"]
    selector = spec["template"]["spec"].get("nodeSelector") or {}
    labels = spec["selector"].get("matchLabels", {})
    return [
        st.get("desiredNumberScheduled", 0),
        st.get("currentNumberScheduled", 0),
        st.get("numberReady", 0),
        st.get("updatedNumberScheduled", 0),
        st.get("numberAvailable", 0),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>",
        human_age(ds["metadata"].get("creationTimestamp")),
        *_template(ds),
        ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
    ]


def _replicaset(rs: dict[str, Any]) -> list[Any]:
    st = rs.get("status", {})
    return [
        rs["spec"]["replicas"],
        st.get("replicas", 0),
        st.get("readyReplicas", 0),
        human_age(rs["metadata"].get("creationTimestamp")),
    ]


def _pod(pod: dict[str, Any]) -> list[Any]:
    statuses = pod["status"].get("containerStatuses", [])
    return [
        f"{sum(c.get('ready', False) for c in statuses)}/{len(statuses)}",
        _pod_status(pod),
        sum(c.get("restartCount", 0) for c in statuses),
        human_age(pod["metadata"].get("creationTimestamp")),
        pod["status"].get("podIP") or "<none>",
        pod["spec"].get("nodeName") or "<none>",
    ]


def _namespace(ns: dict[str, Any]) -> list[Any]:
    return [ns["status"].get("phase", ""), human_age(ns["metadata"].get("creationTimestamp"))]


def _event(ev: dict[str, Any]) -> list[Any]:
    obj = ev["involvedObject"]
    return [  # the Name column comes last, hidden unless -o wide
        human_age(ev.get("lastTimestamp")),
        ev.get("type", ""),
        ev.get("reason", ""),
        f"{obj['kind'].lower()}/{obj['name']}",
        ev.get("message", ""),
        ev["metadata"]["name"],
    ]


PRINTERS: dict[str, tuple[list[dict[str, Any]], Callable[[dict[str, Any]], list[Any]]]] = {
    "deployments": (
        [
            _col("Ready"),
            _col("Up-to-date", "integer"),
            _col("Available", "integer"),
            _col("Age"),
            _col("Containers", priority=1),
            _col("Images", priority=1),
            _col("Selector", priority=1),
        ],
        _deployment,
    ),
    "replicasets": (
        [
            _col("Desired", "integer"),
            _col("Current", "integer"),
            _col("Ready", "integer"),
            _col("Age"),
        ],
        _replicaset,
    ),
    "pods": (
        [
            _col("Ready"),
            _col("Status"),
            _col("Restarts", "integer"),
            _col("Age"),
            _col("IP", priority=1),
            _col("Node", priority=1),
        ],
        _pod,
    ),
    "statefulsets": (
        [_col("Ready"), _col("Age"), _col("Containers", priority=1), _col("Images", priority=1)],
        _statefulset,
    ),
    "daemonsets": (
        [
            _col("Desired", "integer"),
            _col("Current", "integer"),
            _col("Ready", "integer"),
            _col("Up-to-date", "integer"),
            _col("Available", "integer"),
            _col("Node Selector"),
            _col("Age"),
            _col("Containers", priority=1),
            _col("Images", priority=1),
            _col("Selector", priority=1),
        ],
        _daemonset,
    ),
    "namespaces": ([_col("Status"), _col("Age")], _namespace),
    "events": (
        [
            _col("Last Seen"),
            _col("Type"),
            _col("Reason"),
            _col("Object"),
            _col("Message"),
            _col("Name", fmt="name", priority=1),
        ],
        _event,
    ),
}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept and "g=meta.k8s.io" in accept


def table(resource: str, items: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    columns, cells = PRINTERS[resource]
    named = resource != "events"  # events print their name last (see _event)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": [_col("Name", fmt="name"), *columns] if named else columns,
        "rows": [
            {
                "cells": [item["metadata"]["name"], *cells(item)] if named else cells(item),
                "object": {  # includeObject=Metadata, the default for tables
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": item["metadata"],
                },
            }
            for item in items
        ],
    }
