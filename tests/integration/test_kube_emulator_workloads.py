"""devstack.kube over HTTP: StatefulSets, DaemonSets, pod troubles that progress
(CrashLoopBackOff, OOMKilled, ImagePullBackOff), events, multi-container pods.

https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/stateful-set-v1/
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/daemon-set-v1/
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus
https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/
"""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from devstack.kube import KubeApiServer

APPS = "/apis/apps/v1"
SMP = "application/strategic-merge-patch+json"


@pytest.fixture
def api():
    with KubeApiServer(ready_delay=0.1, bookmark_interval=0.2) as server:
        yield server


@pytest.fixture
def client(api):
    with httpx.Client(base_url=api.url, headers=api.auth_headers, timeout=10) as c:
        yield c


def sts_done(client: httpx.Client, name: str, ns: str = "default") -> dict | None:
    """kubectl's StatefulSet rollout-status test (pkg/polymorphichelpers/rollout_status.go)."""
    s = client.get(f"{APPS}/namespaces/{ns}/statefulsets/{name}").json()
    st, want = s["status"], s["spec"]["replicas"]
    if st.get("observedGeneration", 0) < s["metadata"]["generation"]:
        return None
    if st.get("readyReplicas", 0) < want or st.get("updatedReplicas", 0) < want:
        return None
    return s if st["currentRevision"] == st["updateRevision"] else None


def ds_done(client: httpx.Client, name: str, ns: str = "default") -> dict | None:
    d = client.get(f"{APPS}/namespaces/{ns}/daemonsets/{name}").json()
    st = d["status"]
    if st.get("observedGeneration", 0) < d["metadata"]["generation"]:
        return None
    want = st["desiredNumberScheduled"]
    if st.get("updatedNumberScheduled", 0) < want or st.get("numberAvailable", 0) < want:
        return None
    return d


def watch_until(api: KubeApiServer, path: str, rv: str, done) -> list[dict]:
    """Watch events after `rv` until `done(events)` holds (or the 10 s watch ends)."""
    out: list[dict] = []

    def run() -> None:
        params = {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "10"}
        with (
            httpx.Client(base_url=api.url, headers=api.auth_headers, timeout=15) as c,
            c.stream("GET", path, params=params) as response,
        ):
            for line in response.iter_lines():
                out.append(json.loads(line))
                if done(out):
                    return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(15)
    return out


def _names(events: list[dict], type_: str) -> list[str]:
    return [e["object"]["metadata"]["name"] for e in events if e["type"] == type_]


def image_patch(name: str, image: str) -> str:
    return json.dumps(
        {"spec": {"template": {"spec": {"containers": [{"name": name, "image": image}]}}}}
    )


def test_statefulset_ordered_pods_and_rolling_update(api, client):
    rv = client.get("/api/v1/pods").json()["metadata"]["resourceVersion"]
    api.add_statefulset("default", "db", "postgres:16", replicas=3)
    first = api.wait_until(lambda: sts_done(client, "db"))
    st = first["status"]
    assert first["kind"] == "StatefulSet" and first["spec"]["serviceName"] == "db"
    assert st["replicas"] == st["readyReplicas"] == st["availableReplicas"] == 3
    assert st["updatedReplicas"] == st["currentReplicas"] == 3 and st["observedGeneration"] == 1
    assert st["currentRevision"].startswith("db-")
    pods = api.pods("default", app="db")
    assert [p["metadata"]["name"] for p in pods] == ["db-0", "db-1", "db-2"]
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in pods} == {
        st["updateRevision"]
    }
    assert pods[1]["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "db-1"
    assert pods[0]["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    # OrderedReady: db-1 is created only once db-0 is Ready, db-2 once db-1 is
    history = watch_until(api, "/api/v1/pods", rv, lambda evs: "db-2" in _names(evs, "ADDED"))
    order = []
    for e in history:
        name = e["object"]["metadata"]["name"]
        ready = any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in e["object"]["status"].get("conditions", [])
        )
        order.append((e["type"], name, ready))
    added = [n for t, n, _ in order if t == "ADDED"]
    assert added == ["db-0", "db-1", "db-2"]
    for lower, higher in (("db-0", "db-1"), ("db-1", "db-2")):
        first_ready = next(i for i, (_, n, r) in enumerate(order) if n == lower and r)
        assert order.index(("ADDED", higher, False)) > first_ready
    # RollingUpdate: a new revision, pods replaced from the highest ordinal down
    rv = client.get("/api/v1/pods").json()["metadata"]["resourceVersion"]
    patched = client.patch(
        f"{APPS}/namespaces/default/statefulsets/db",
        content=image_patch("db", "postgres:17"),
        headers={"Content-Type": SMP},
    )
    assert patched.status_code == 200 and patched.json()["metadata"]["generation"] == 2
    done = api.wait_until(lambda: sts_done(client, "db"))
    assert done["status"]["updateRevision"] != st["updateRevision"]
    assert done["status"]["currentRevision"] == done["status"]["updateRevision"]
    history = watch_until(api, "/api/v1/pods", rv, lambda evs: len(_names(evs, "DELETED")) == 3)
    deleted = _names(history, "DELETED")
    assert deleted == ["db-2", "db-1", "db-0"]
    images = {p["spec"]["containers"][0]["image"] for p in api.pods("default", app="db")}
    assert images == {"postgres:17"}
    # scale subresource and scale-down from the highest ordinal
    scaled = client.patch(
        f"{APPS}/namespaces/default/statefulsets/db/scale",
        content=json.dumps({"spec": {"replicas": 1}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert scaled.status_code == 200 and scaled.json()["kind"] == "Scale"
    api.wait_until(lambda: [p["metadata"]["name"] for p in api.pods("default")] == ["db-0"])
    reasons = {
        e["message"]
        for e in client.get(
            "/api/v1/namespaces/default/events",
            params={"fieldSelector": "involvedObject.kind=StatefulSet,involvedObject.name=db"},
        ).json()["items"]
    }
    assert "create Pod db-0 in StatefulSet db successful" in reasons
    assert "delete Pod db-2 in StatefulSet db successful" in reasons


def test_daemonset_one_pod_per_node_and_rollout(api, client):
    api.add_daemonset("kube-system", "agent", "fluent-bit:3")
    done = api.wait_until(lambda: ds_done(client, "agent", "kube-system"))
    st = done["status"]
    assert st["desiredNumberScheduled"] == st["currentNumberScheduled"] == 2
    assert st["numberReady"] == st["numberAvailable"] == st["updatedNumberScheduled"] == 2
    assert st["numberMisscheduled"] == 0 and st["observedGeneration"] == 1
    pods = api.pods("kube-system", app="agent")
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["node-1", "node-2"]
    assert all(p["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet" for p in pods)
    old = {p["metadata"]["name"] for p in pods}
    patched = client.patch(
        f"{APPS}/namespaces/kube-system/daemonsets/agent",
        content=image_patch("agent", "fluent-bit:4"),
        headers={"Content-Type": SMP},
    )
    assert patched.status_code == 200

    def rolled():
        d = ds_done(client, "agent", "kube-system")
        return d if d and d["status"]["observedGeneration"] == 2 else None

    api.wait_until(rolled)
    pods = api.pods("kube-system", app="agent")
    assert not old & {p["metadata"]["name"] for p in pods}
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"fluent-bit:4"}
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["node-1", "node-2"]
    # merge and JSON patches work as for Deployments; a watch sees the changes
    rv = client.get(f"{APPS}/daemonsets").json()["metadata"]["resourceVersion"]
    path = f"{APPS}/namespaces/kube-system/daemonsets/agent"
    merged = client.patch(
        path,
        content=json.dumps({"metadata": {"labels": {"tier": "node"}}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merged.status_code == 200 and merged.json()["metadata"]["labels"]["tier"] == "node"
    ops = [{"op": "add", "path": "/metadata/annotations/owner", "value": "ops"}]
    jp = client.patch(
        path, content=json.dumps(ops), headers={"Content-Type": "application/json-patch+json"}
    )
    assert jp.status_code == 200 and jp.json()["metadata"]["annotations"] == {"owner": "ops"}
    seen = watch_until(
        api,
        f"{APPS}/namespaces/kube-system/daemonsets",
        rv,
        lambda evs: any("owner" in e["object"]["metadata"]["annotations"] for e in evs),
    )
    assert {e["type"] for e in seen} == {"MODIFIED"} and seen[-1]["object"]["kind"] == "DaemonSet"
    discovery = {r["name"]: r for r in client.get(APPS).json()["resources"]}
    assert discovery["daemonsets"]["shortNames"] == ["ds"]
    assert discovery["statefulsets"]["shortNames"] == ["sts"]
    assert discovery["statefulsets/scale"]["kind"] == "Scale"
    listed = client.get(f"{APPS}/daemonsets").json()
    assert listed["kind"] == "DaemonSetList" and len(listed["items"]) == 1


def test_sets_as_tables(api, client):
    api.add_statefulset("default", "db", "postgres:16", replicas=2)
    api.add_daemonset("default", "agent", "fluent-bit:3")
    api.wait_until(lambda: sts_done(client, "db") and ds_done(client, "agent"))
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    sts = client.get(f"{APPS}/namespaces/default/statefulsets", headers=accept).json()
    assert [c["name"] for c in sts["columnDefinitions"] if c["priority"] == 0] == [
        "Name", "Ready", "Age"
    ]  # fmt: skip
    assert sts["rows"][0]["cells"][:2] == ["db", "2/2"]
    ds = client.get(f"{APPS}/namespaces/default/daemonsets", headers=accept).json()
    assert [c["name"] for c in ds["columnDefinitions"] if c["priority"] == 0] == [
        "Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age"
    ]  # fmt: skip
    assert ds["rows"][0]["cells"][:7] == ["agent", 2, 2, 2, 2, 2, "<none>"]


def _container(api: KubeApiServer, app: str) -> dict:
    """The first container status of the one pod of `app` ({} before it exists)."""
    pods = api.pods("default", app=app)
    return pods[0]["status"]["containerStatuses"][0] if pods else {}


def test_crash_loop_and_oom_progress(api, client):
    api.add_deployment("default", "crash", "registry.local/crash:1", replicas=1)
    api.add_deployment("default", "oom", "registry.local/oom:1", replicas=1)
    for app, reason, code in (("crash", "Error", 1), ("oom", "OOMKilled", 137)):
        api.wait_until(lambda app=app: _container(api, app).get("restartCount", 0) >= 3)
        (pod,) = api.pods("default", app=app)
        c = pod["status"]["containerStatuses"][0]
        assert c["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert "restarting failed container" in c["state"]["waiting"]["message"]
        terminated = c["lastState"]["terminated"]
        assert terminated["reason"] == reason and terminated["exitCode"] == code
        assert {"startedAt", "finishedAt", "containerID"} <= set(terminated)
        assert c["ready"] is False and c["started"] is False
        assert c["image"] == f"registry.local/{app}:1" and c["imageID"]
        ready = next(x for x in pod["status"]["conditions"] if x["type"] == "Ready")
        assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["nodeName"] in ("node-1", "node-2")
        assert pod["status"]["podIP"].startswith("10.244.") and pod["status"]["startTime"]
        before = c["restartCount"]
        api.wait_until(lambda app=app, n=before: _container(api, app).get("restartCount", 0) > n)
        events = client.get(
            "/api/v1/namespaces/default/events",
            params={"fieldSelector": f"involvedObject.uid={pod['metadata']['uid']}"},
        ).json()["items"]
        backoff = next(e for e in events if e["reason"] == "BackOff")
        assert backoff["type"] == "Warning" and backoff["count"] >= 3  # aggregated
        assert backoff["firstTimestamp"] <= backoff["lastTimestamp"]
        assert {"Scheduled", "Pulled", "Created", "Started"} <= {e["reason"] for e in events}
    d = client.get(f"{APPS}/namespaces/default/deployments/crash").json()
    assert d["status"].get("readyReplicas", 0) == 0
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    rows = client.get("/api/v1/namespaces/default/pods", headers=accept).json()["rows"]
    assert {r["cells"][2] for r in rows} == {"CrashLoopBackOff"}


def test_image_pull_back_off_stays(api, client):
    api.add_deployment("default", "puller", "registry.local/pull-me:1", replicas=1)
    api.add_deployment("default", "fine", "nginx:1", replicas=1)
    api.wait_until(lambda: _container(api, "fine").get("ready"))
    api.wait_until(
        lambda: (
            _container(api, "puller").get("state", {}).get("waiting", {}).get("reason")
            == "ImagePullBackOff"
        )
    )
    (pod,) = api.pods("default", app="puller")
    c = pod["status"]["containerStatuses"][0]
    assert c["restartCount"] == 0 and c["ready"] is False and c["lastState"] == {}
    assert pod["status"]["phase"] == "Pending"
    name = pod["metadata"]["name"]
    events = client.get(
        "/api/v1/namespaces/default/events",
        params={"fieldSelector": f"involvedObject.name={name},involvedObject.kind=Pod"},
    ).json()
    assert events["kind"] == "EventList"
    by_reason = {e["reason"]: e for e in events["items"]}
    assert {"Scheduled", "Pulling", "Failed", "BackOff"} <= set(by_reason)
    assert by_reason["Failed"]["type"] == "Warning"
    assert by_reason["Scheduled"]["source"]["component"] == "default-scheduler"
    involved = by_reason["BackOff"]["involvedObject"]
    assert involved == {**involved, "kind": "Pod", "name": name, "namespace": "default"}
    assert all(e["involvedObject"]["name"] == name for e in events["items"])
    fine = api.pods("default", app="fine")[0]["status"]["containerStatuses"][0]
    assert fine["state"]["running"]["startedAt"] and fine["started"] is True


def test_events_for_a_rollout_list_and_watch(api, client):
    rv = client.get("/api/v1/namespaces/default/events").json()["metadata"]["resourceVersion"]
    api.add_deployment("default", "web", "nginx:1", replicas=2)
    api.wait_until(
        lambda: len([p for p in api.pods("default") if p["status"]["phase"] == "Running"]) == 2
    )
    deploy_events = client.get(
        "/api/v1/namespaces/default/events",
        params={"fieldSelector": "involvedObject.kind=Deployment,involvedObject.name=web"},
    ).json()["items"]
    (scaled,) = deploy_events
    assert scaled["reason"] == "ScalingReplicaSet" and scaled["type"] == "Normal"
    assert scaled["source"] == {"component": "deployment-controller"}
    assert scaled["message"].startswith("Scaled up replica set web-") and scaled["count"] == 1
    rs_events = client.get(
        "/api/v1/namespaces/default/events",
        params={"fieldSelector": "involvedObject.kind=ReplicaSet"},
    ).json()["items"]
    assert [e["reason"] for e in rs_events] == ["SuccessfulCreate", "SuccessfulCreate"]
    (pod,) = api.pods("default")[:1]
    client.delete(f"/api/v1/namespaces/default/pods/{pod['metadata']['name']}")
    api.wait_until(lambda: len(api.pods("default")) == 2 and pod not in api.pods("default"))
    watched = watch_until(
        api,
        "/api/v1/namespaces/default/events",
        rv,
        lambda evs: any(e["object"]["reason"] == "Killing" for e in evs),
    )
    assert watched and all(e["object"]["kind"] == "Event" for e in watched)
    reasons = {e["object"]["reason"] for e in watched}
    assert {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Started", "Killing"} <= reasons
    killing = next(e["object"] for e in watched if e["object"]["reason"] == "Killing")
    assert killing["involvedObject"]["name"] == pod["metadata"]["name"]
    assert killing["message"] == "Stopping container web"
    # events.k8s.io/v1: the same events, in that group's shape, read-only
    v1 = client.get(
        "/apis/events.k8s.io/v1/namespaces/default/events",
        params={"fieldSelector": f"regarding.name={pod['metadata']['name']},reason=Killing"},
    ).json()
    assert v1["kind"] == "EventList" and v1["apiVersion"] == "events.k8s.io/v1"
    (item,) = v1["items"]
    assert item["note"] == "Stopping container web" and item["regarding"]["kind"] == "Pod"
    assert item["reportingController"] == "kubelet" and item["deprecatedCount"] == 1
    assert item["eventTime"].endswith("Z") and item["type"] == "Normal"
    one = client.get(f"/apis/events.k8s.io/v1/namespaces/default/events/{item['metadata']['name']}")
    assert one.json()["apiVersion"] == "events.k8s.io/v1"
    assert (
        client.delete(
            f"/apis/events.k8s.io/v1/namespaces/default/events/{item['metadata']['name']}"
        ).status_code
        == 405
    )
    groups = [g["name"] for g in client.get("/apis").json()["groups"]]
    assert groups == ["apps", "events.k8s.io"]


def test_multi_container_pods(api, client):
    api.add_deployment(
        "default", "web", "unused", replicas=1, containers=[("app", "app:1"), ("proxy", "envoy:1")]
    )
    api.wait_until(
        lambda: api.pods("default") and api.pods("default")[0]["status"]["phase"] == "Running"
    )
    (pod,) = api.pods("default")
    assert [c["name"] for c in pod["spec"]["containers"]] == ["app", "proxy"]
    statuses = pod["status"]["containerStatuses"]
    assert [(c["name"], c["image"], c["ready"]) for c in statuses] == [
        ("app", "app:1", True),
        ("proxy", "envoy:1", True),
    ]
    # one crashing sidecar: the pod is not ready, the other container runs on
    smp = {"spec": {"template": {"spec": {"containers": [{"name": "proxy", "image": "crash:1"}]}}}}
    client.patch(
        f"{APPS}/namespaces/default/deployments/web",
        content=json.dumps(smp),
        headers={"Content-Type": SMP},
    )

    def crashing():
        for p in api.pods("default"):
            by_name = {c["name"]: c for c in p["status"]["containerStatuses"]}
            if by_name["proxy"]["restartCount"] >= 1:
                return p
        return None

    p = api.wait_until(crashing)
    by_name = {c["name"]: c for c in p["status"]["containerStatuses"]}
    assert by_name["app"]["ready"] is True and by_name["app"]["restartCount"] == 0
    assert by_name["proxy"]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    row = client.get(
        f"/api/v1/namespaces/default/pods/{p['metadata']['name']}", headers=accept
    ).json()["rows"][0]
    assert row["cells"][1] == "1/2" and row["cells"][2] == "CrashLoopBackOff"


def test_a_bare_pod_posted_runs(api, client):
    # https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#create-create-a-pod
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "debug", "labels": {"app": "debug"}},
        "spec": {"containers": [{"name": "sh", "image": "busybox:1"}]},
    }
    made = client.post("/api/v1/namespaces/default/pods", json=body)
    assert made.status_code == 201 and made.json()["metadata"]["uid"]

    def running():
        pod = client.get("/api/v1/namespaces/default/pods/debug").json()
        return pod if pod.get("status", {}).get("phase") == "Running" else None

    pod = api.wait_until(running)
    assert pod["spec"]["nodeName"] in ("node-1", "node-2") and pod["status"]["podIP"]
    assert pod["status"]["containerStatuses"][0]["ready"] is True
    assert client.get("/api/v1/namespaces/default/pods/debug/log").status_code == 200
