"""Two Kubernetes contexts for the demo and the screenshots, on the API emulator.

No kube-apiserver runs here, so `devstack.kube` stands in (TLS, a bearer token,
a rollout controller that plays the kubelet). `prod` holds a shop with a
Deployment that has a history of three revisions, a worker in
CrashLoopBackOff, a StatefulSet and a DaemonSet; `staging` has a rollout stuck
on an image that never pulls (ProgressDeadlineExceeded after a few seconds).
A pod label and a log line carry markup and escapes, which must show as text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from devstack.kube import KubeApiServer, write_kubeconfig

HOSTILE_LOG = "GET /checkout 500 [bold red]not markup[/] \x1b]0;pwned\x07 done"
SMP = "application/strategic-merge-patch+json"
TOKENS = {"prod": "demo-prod-token-x1", "staging": "demo-staging-token-x2"}
KUBE_TOKENS = tuple(TOKENS.values())  # what a screenshot must never show


def _set_image(server: KubeApiServer, ns: str, name: str, container: str, image: str) -> None:
    """What `kubectl set image` sends, so the history is made as a user makes it."""
    body = {"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}
    with httpx.Client(
        base_url=server.url, headers=server.auth_headers, verify=str(server.ca_file), timeout=10
    ) as client:
        client.patch(
            f"/apis/apps/v1/namespaces/{ns}/deployments/{name}",
            content=json.dumps(body),
            headers={"Content-Type": SMP},
        ).raise_for_status()


def _rolled_out(server: KubeApiServer, ns: str, name: str, image: str) -> bool:
    deploy = server.deployment(ns, name) or {}
    status = deploy.get("status") or {}
    images = [c["image"] for c in deploy["spec"]["template"]["spec"]["containers"]]
    return (
        image in images
        and status.get("updatedReplicas") == deploy["spec"]["replicas"]
        and status.get("availableReplicas") == deploy["spec"]["replicas"]
        and status.get("replicas") == deploy["spec"]["replicas"]
    )


def _prod(server: KubeApiServer) -> None:
    server.add_deployment(
        "shop",
        "web",
        "acme/web:1.4.0",
        3,
        labels={"app": "web", "app.kubernetes.io/name": "web"},
    )
    current = "acme/web:1.4.0"
    for image in ("acme/web:1.4.1", "acme/web:1.5.0"):  # revisions 2 and 3
        server.wait_until(lambda now=current: _rolled_out(server, "shop", "web", now), 30)
        _set_image(server, "shop", "web", "web", image)
        current = image
    server.wait_until(lambda: _rolled_out(server, "shop", "web", current), 30)
    server.add_deployment("shop", "api", "acme/api:2.1.0", 2)
    server.add_deployment("shop", "worker", "acme/worker-crash:0.9.1", 1)
    server.add_deployment(
        "ml",
        "fraud-model",
        "acme/fraud-serve:7",
        2,
        containers=[("serve", "acme/fraud-serve:7"), ("metrics", "acme/exporter:1")],
        labels={"app": "fraud-model", "team": "[red]ml[/red]"},
    )
    server.add_statefulset("payments", "ledger-db", "postgres:16", 2)
    server.add_daemonset("kube-system", "node-agent", "acme/agent:3")


def _staging(server: KubeApiServer) -> None:
    server.add_deployment("shop", "web", "acme/web:1.5.0", 1)
    server.add_deployment("shop", "api", "acme/api:2.1.0", 2, progress_deadline=4)
    server.wait_until(lambda: _rolled_out(server, "shop", "api", "acme/api:2.1.0"), 30)
    _set_image(server, "shop", "api", "api", "acme/api:2.2.0-pull-missing")


def start_demo_clusters(base_dir: Path, stack: Any) -> tuple[dict[str, KubeApiServer], Path]:
    """Start `prod` and `staging` (closed with `stack`); returns them and a kubeconfig."""
    tls = base_dir / "kube-tls"
    tls.mkdir(parents=True, exist_ok=True)
    servers: dict[str, KubeApiServer] = {}
    for name, token in TOKENS.items():
        servers[name] = stack.enter_context(
            KubeApiServer(
                token=token,
                ready_delay=0.3,
                namespaces=("default", "kube-system", "shop", "payments", "ml"),
                tls_dir=tls,
            )
        )
    _prod(servers["prod"])
    _staging(servers["staging"])
    worker = servers["prod"].pods("shop", app="worker")
    if worker:
        pod = worker[0]["metadata"]["name"]
        servers["prod"].set_pod_log("shop", pod, "worker", ["starting worker", HOSTILE_LOG])
    return servers, write_kubeconfig(base_dir / "kubeconfig", servers)
