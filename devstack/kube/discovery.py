"""Discovery documents, enough for kubectl's legacy discovery (it falls back to
these when the server does not answer aggregated discovery).

https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api
"""

from __future__ import annotations

from typing import Any

# GET /version: version.Info (k8s.io/apimachinery/pkg/version/types.go); kubectl reads it
VERSION = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.0-opsdash-emulator",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.22.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_READ = ["get", "list", "watch"]
_RW = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _res(
    name: str,
    kind: str,
    namespaced: bool,
    verbs: list[str],
    short: list[str] | None = None,
    singular: str = "",
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": name,
        "singularName": singular,
        "namespaced": namespaced,
        "kind": kind,
        "verbs": verbs,
    }
    if short:
        doc["shortNames"] = short
    doc.update(extra)
    return doc


def core_v1() -> dict[str, Any]:
    # GET /api/v1  (APIResourceList)
    return {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            _res("events", "Event", True, _RW, ["ev"], "event"),
            _res(
                "namespaces",
                "Namespace",
                False,
                ["create", "delete", "get", "list", "patch", "update", "watch"],
                ["ns"],
                "namespace",
            ),
            _res("pods", "Pod", True, _RW, ["po"], "pod", categories=["all"]),
            _res("pods/log", "Pod", True, ["get"]),
            _res("pods/status", "Pod", True, ["get", "patch", "update"]),
        ],
    }


def apps_v1() -> dict[str, Any]:
    # GET /apis/apps/v1  (APIResourceList)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "apps/v1",
        "resources": [
            _res(
                "deployments", "Deployment", True, _RW, ["deploy"], "deployment", categories=["all"]
            ),
            _res(
                "deployments/scale",
                "Scale",
                True,
                ["get", "patch", "update"],
                group="autoscaling",
                version="v1",
            ),
            _res("deployments/status", "Deployment", True, ["get", "patch", "update"]),
            _res("replicasets", "ReplicaSet", True, _RW, ["rs"], "replicaset", categories=["all"]),
            _res("replicasets/status", "ReplicaSet", True, ["get", "patch", "update"]),
            _res(
                "statefulsets", "StatefulSet", True, _RW, ["sts"], "statefulset", categories=["all"]
            ),
            _res(
                "statefulsets/scale",
                "Scale",
                True,
                ["get", "patch", "update"],
                group="autoscaling",
                version="v1",
            ),
            _res("statefulsets/status", "StatefulSet", True, ["get", "patch", "update"]),
            _res("daemonsets", "DaemonSet", True, _RW, ["ds"], "daemonset", categories=["all"]),
            _res("daemonsets/status", "DaemonSet", True, ["get", "patch", "update"]),
        ],
    }


def events_v1() -> dict[str, Any]:
    # GET /apis/events.k8s.io/v1  (APIResourceList); read-only here
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "events.k8s.io/v1",
        "resources": [_res("events", "Event", True, _READ, ["ev"], "event")],
    }


def api_versions(address: str) -> dict[str, Any]:
    # GET /api  (APIVersions)
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def api_groups() -> dict[str, Any]:
    # GET /apis  (APIGroupList)
    groups = []
    for name in ("apps", "events.k8s.io"):
        version = {"groupVersion": f"{name}/v1", "version": "v1"}
        groups.append({"name": name, "versions": [version], "preferredVersion": version})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
