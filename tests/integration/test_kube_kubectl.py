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


@pytest.fixture(scope="module")
def shared_tls(tmp_path_factory):
    """One throwaway CA with server and client certificates for this module's
    `cluster` servers (openssl takes about a second per set)."""
    return tmp_path_factory.mktemp("kube-tls")


@pytest.fixture
def cluster(tmp_path, shared_tls):
    """One emulator that kubectl reaches with a client certificate (no token)."""
    with KubeApiServer(token="t", ready_delay=0.1, tls_dir=shared_tls) as api:
        config = write_kubeconfig(tmp_path / "kubeconfig", {"cert": api}, auth="cert")
        assert "token" not in config.read_text()
        yield (
            api,
            [kubectl_binary(), "--kubeconfig", str(config), "--cache-dir", str(tmp_path / "c")],
        )


def kubectl_fails(base: list[str], *args: str) -> str:
    done = subprocess.run([*base, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0, f"kubectl {' '.join(args)} should fail: {done.stdout}"
    return done.stderr


def test_set_image_is_a_strategic_merge_patch(cluster):
    api, base = cluster
    api.add_deployment("default", "web", "nginx:1", replicas=2)
    kubectl(base, "rollout", "status", "deploy/web", "--timeout=20s")
    out = kubectl(base, "set", "image", "deployment/web", "web=nginx:2")
    assert out.strip() == "deployment.apps/web image updated"
    (change,) = api.calls("PATCH")
    assert change.path == "/apis/apps/v1/namespaces/default/deployments/web"
    assert change.content_type == SMP and change.query == {"fieldManager": "kubectl-set"}
    assert change.body == {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}],
                    "containers": [{"image": "nginx:2", "name": "web"}],
                }
            }
        }
    }
    assert change.user_agent.startswith("kubectl/")
    assert "successfully rolled out" in kubectl(
        base, "rollout", "status", "deploy/web", "--timeout=20s"
    )
    pods = api.pods("default", app="web")
    assert len(pods) == 2 and {p["spec"]["containers"][0]["image"] for p in pods} == {"nginx:2"}
    assert (
        api.deployment("default", "web")["metadata"]["annotations"][
            "deployment.kubernetes.io/revision"
        ]
        == "2"
    )


def test_statefulset_daemonset_get_status_restart(cluster):
    api, base = cluster
    api.add_statefulset("default", "db", "postgres:16", replicas=2)
    api.add_daemonset("default", "agent", "fluent-bit:3")
    assert "roll out complete: 2 new pods" in kubectl(
        base, "rollout", "status", "sts/db", "--timeout=20s"
    )
    assert 'daemon set "agent" successfully rolled out' in kubectl(
        base, "rollout", "status", "ds/agent", "--timeout=20s"
    )
    listing = kubectl(base, "get", "sts,ds")
    sts_block, ds_block = listing.strip().split("\n\n")
    assert sts_block.splitlines()[0].split() == ["NAME", "READY", "AGE"]
    assert sts_block.splitlines()[1].split()[:2] == ["statefulset.apps/db", "2/2"]
    assert ds_block.splitlines()[0].split()[:6] == [
        "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE"
    ]  # fmt: skip
    assert ds_block.splitlines()[1].split()[:7] == [
        "daemonset.apps/agent", "2", "2", "2", "2", "2", "<none>"
    ]  # fmt: skip
    revision = api.store.get("statefulsets", "default", "db")["status"]["updateRevision"]
    assert kubectl(base, "rollout", "restart", "sts/db").strip() == "statefulset.apps/db restarted"
    assert (
        kubectl(base, "rollout", "restart", "ds/agent").strip() == "daemonset.apps/agent restarted"
    )
    paths = [(c.path, c.content_type) for c in api.calls("PATCH")]
    assert paths == [
        ("/apis/apps/v1/namespaces/default/statefulsets/db", SMP),
        ("/apis/apps/v1/namespaces/default/daemonsets/agent", SMP),
    ]
    kubectl(base, "rollout", "status", "sts/db", "--timeout=20s")
    kubectl(base, "rollout", "status", "ds/agent", "--timeout=20s")
    status = api.store.get("statefulsets", "default", "db")["status"]
    assert status["updateRevision"] != revision
    assert status["currentRevision"] == status["updateRevision"]
    for pod in api.pods("default"):
        assert RESTARTED in pod["metadata"]["annotations"]
    wide = kubectl(base, "get", "pods", "-o", "wide").splitlines()
    assert wide[0].split()[-2:] == ["IP", "NODE"]
    assert {line.split()[-1] for line in wide[1:]} == {"node-1", "node-2"}


def test_logs_delete_pod_and_events(cluster):
    api, base = cluster
    api.add_deployment("default", "web", "x", containers=[("app", "app:1"), ("side", "envoy:1")])
    api.add_deployment("default", "crash", "registry.local/crash:1")
    kubectl(base, "rollout", "status", "deploy/web", "--timeout=20s")
    (pod,) = api.pods("default", app="web")
    name = pod["metadata"]["name"]
    api.set_pod_log("default", name, "app", ["one", "two", "\x1b[1m[bold]three[/]\x1b[0m"])
    plain = subprocess.run([*base, "logs", name], capture_output=True, text=True, timeout=60)
    if plain.returncode:  # kubectl 1.20 passes the server's 400 on
        assert "a container name must be specified for pod" in plain.stderr
        assert "choose one of: [app side]" in plain.stderr
    else:  # kubectl 1.21+ picks the first container itself and says so
        assert 'Defaulted container "app"' in plain.stderr and plain.stdout.startswith("one\n")
    assert kubectl(base, "logs", name, "-c", "app") == "one\ntwo\n\x1b[1m[bold]three[/]\x1b[0m\n"
    assert (
        kubectl(base, "logs", name, "-c", "app", "--tail", "1") == "\x1b[1m[bold]three[/]\x1b[0m\n"
    )
    stderr = kubectl_fails(base, "logs", name, "-c", "side", "--previous")
    assert f'previous terminated container "side" in pod "{name}" not found' in stderr

    def crashed():
        pods = api.pods("default", app="crash")
        return pods and pods[0]["status"]["containerStatuses"][0]["restartCount"] >= 2 and pods[0]

    crashing = api.wait_until(crashed)["metadata"]["name"]
    assert "panic:" in kubectl(base, "logs", crashing, "--previous")
    listing = kubectl(base, "get", "pods")
    assert any(
        line.split()[:3] == [crashing, "0/1", "CrashLoopBackOff"] for line in listing.splitlines()
    )
    # -f follows until the pod goes away
    follower = subprocess.Popen(
        [*base, "logs", "-f", name, "-c", "app"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert follower.stdout.readline() == "one\n"
        api.append_pod_log("default", name, "app", "four")
        lines = [follower.stdout.readline() for _ in range(3)]
        assert lines[-1] == "four\n"
        before = len(api.requests)
        assert kubectl(base, "delete", "pod", name).strip() == f'pod "{name}" deleted'
        assert follower.wait(timeout=20) == 0
    finally:
        follower.kill()
    follow_query = next(
        r.query
        for r in api.requests
        if r.path.endswith(f"/pods/{name}/log") and "follow" in r.query
    )
    assert follow_query == {"container": "app", "follow": "true"}
    (delete,) = api.calls("DELETE")
    assert delete.path == f"/api/v1/namespaces/default/pods/{name}"
    assert delete.body == {"propagationPolicy": "Background"}
    waited = [r for r in api.requests[before:] if r.method == "GET" and r.path.endswith("/pods")]
    if delete.user_agent.startswith("kubectl/v1.20."):  # --wait: kubectl 1.20 lists by name
        assert waited and waited[0].query.get("fieldSelector") == f"metadata.name={name}"
    events = kubectl(base, "get", "events", "--field-selector", f"involvedObject.name={name}")
    assert events.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    reasons = {line.split()[2] for line in events.splitlines()[1:]}
    assert {"Scheduled", "Pulled", "Created", "Started", "Killing"} <= reasons
    backoff = kubectl(base, "get", "events", "--field-selector", "reason=BackOff")
    assert "Warning" in backoff and f"pod/{crashing}" in backoff
