"""Bulk seeding: a Deployment with its ReplicaSet and Running, Ready pods
written straight into the store, so thousands of pods exist at once (a
benchmark) without the controller creating them one event at a time.

The objects are shaped as the controller itself would leave them, so it finds
nothing to do: the ReplicaSet carries the template hash and revision 1
(https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#pod-template-hash-label),
the pods are Ready (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from devstack.kube import objects as k
from devstack.kube.kubelet import ready_pod
from devstack.kube.store import Conflict


def ready_deployment(api: Any, deploy: dict[str, Any]) -> dict[str, Any]:
    ctl, store = api.controller, api.store
    replicas = deploy["spec"].get("replicas", 1)
    hash_ = k.template_hash(deploy["spec"]["template"])
    with store.lock:
        rs = k.replicaset(deploy, hash_, 1)
        rs["spec"]["replicas"] = replicas
        rs = store.create("replicasets", rs)
        for _ in range(replicas):
            made = None
            while made is None:  # generateName retries a taken name, as the API server does
                pod = k.pod(rs, node=ctl.pick_node())
                with contextlib.suppress(Conflict):
                    made = store.create("pods", ready_pod(pod, ctl.kubelet.next_ip()))
            uid = made["metadata"]["uid"]
            ctl.born[uid] = time.monotonic()
            ctl.kubelet.settled.add(uid)
            for c in made["spec"]["containers"]:
                ctl.logs.start(uid, c["name"])
        counts = {"replicas": replicas, "fullyLabeledReplicas": replicas}
        counts.update(readyReplicas=replicas, availableReplicas=replicas, observedGeneration=1)
        rs["status"] = {key: v for key, v in counts.items() if v}
        store.update("replicasets", rs)
        deploy["metadata"]["annotations"][k.REVISION] = "1"
        return store.update("deployments", deploy)
