"""kubectl, the reference client, against the Kubernetes emulator (devstack.kube).

No kube-apiserver runs here; Debian's kubectl can be had without installing it:
`apt-get download kubernetes-client && dpkg-deb -x kubernetes-client_*.deb DIR`,
then OPSDASH_KUBECTL=DIR/usr/bin/kubectl. kubectl sends a bearer token only over
TLS (client-go; kubernetes/kubectl#744), so the emulator serves HTTPS with a
throwaway CA here.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from devstack.kube import KubeApiServer, write_kubeconfig

SMP = "application/strategic-merge-patch+json"
RESTARTED = "kubectl.kubernetes.io/restartedAt"


def kubectl_binary() -> str | None:
    return os.environ.get("OPSDASH_KUBECTL") or shutil.which("kubectl")


pytestmark = pytest.mark.skipif(
    kubectl_binary() is None or shutil.which("openssl") is None,
    reason="no kubectl (set OPSDASH_KUBECTL to Debian's, from `apt-get download "
    "kubernetes-client` + `dpkg-deb -x`) or no openssl for the emulator's TLS",
)


@pytest.fixture
def clusters(tmp_path):
    with (
        KubeApiServer(token="prod-token", ready_delay=0.1, tls_dir=tmp_path / "tls-prod") as prod,
        KubeApiServer(token="stage-token", ready_delay=0.1, tls_dir=tmp_path / "tls-st") as stage,
    ):
        prod.add_deployment("default", "web", "nginx:1", replicas=2)
        prod.add_deployment("team-a", "api", "nginx:1", replicas=1)
        stage.add_deployment("default", "canary", "nginx:1", replicas=1)
        config = write_kubeconfig(tmp_path / "kubeconfig", {"prod": prod, "staging": stage})
        base = [kubectl_binary(), "--kubeconfig", str(config), "--cache-dir", str(tmp_path / "c")]
        yield prod, stage, base


def kubectl(base: list[str], *args: str) -> str:
    done = subprocess.run([*base, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def test_get_restart_status_undo(clusters):
    prod, stage, base = clusters
    kubectl(base, "rollout", "status", "deploy/web", "--timeout=20s")
    kubectl(base, "-n", "team-a", "rollout", "status", "deploy/api", "--timeout=20s")
    listing = kubectl(base, "get", "deploy", "-A")  # a server-side Table
    assert listing.split()[:6] == ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    rows = [line.split()[:5] for line in listing.splitlines()[1:]]
    assert rows == [["default", "web", "2/2", "2", "2"], ["team-a", "api", "1/1", "1", "1"]]
    assert "canary" in kubectl(base, "--context", "staging", "get", "deploy")

    assert (
        kubectl(base, "rollout", "restart", "deploy/web").strip() == "deployment.apps/web restarted"
    )
    (restart,) = prod.calls("PATCH")
    assert restart.path == "/apis/apps/v1/namespaces/default/deployments/web"
    assert restart.content_type == SMP
    assert restart.query == {"fieldManager": "kubectl-rollout"}
    annotations = restart.body["spec"]["template"]["metadata"]["annotations"]
    assert list(annotations) == [RESTARTED] and restart.user_agent.startswith("kubectl/")
    assert "successfully rolled out" in kubectl(
        base, "rollout", "status", "deploy/web", "--timeout=20s"
    )
    revision = prod.deployment("default", "web")["metadata"]["annotations"]
    assert revision["deployment.kubernetes.io/revision"] == "2"

    assert "rolled back" in kubectl(base, "rollout", "undo", "deploy/web")
    undo = prod.calls("PATCH")[-1]
    assert undo.content_type == "application/json-patch+json"
    assert [op["path"] for op in undo.body] == ["/spec/template", "/metadata/annotations"]
    assert RESTARTED not in (undo.body[0]["value"]["metadata"].get("annotations") or {})
    kubectl(base, "rollout", "status", "deploy/web", "--timeout=20s")
    # the revision-1 ReplicaSet came back as revision 3, as the deployment controller does
    history = kubectl(base, "rollout", "history", "deploy/web")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
    assert not stage.calls()  # the other context's cluster saw no writes
