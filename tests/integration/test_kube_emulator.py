"""devstack.kube, the Kubernetes API emulator, over real HTTP with httpx: the
shapes and behaviours a Kubernetes source will rely on (no kube-apiserver can
run here; see docs on real servers, section 11)."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from devstack.kube import KubeApiServer, write_kubeconfig
from tests.pilot import sync_wait

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


def deploy_path(name: str, ns: str = "default") -> str:
    return f"{APPS}/namespaces/{ns}/deployments/{name}"


def rollout_done(client: httpx.Client, name: str) -> dict | None:
    """kubectl's rollout-status test (pkg/polymorphichelpers/rollout_status.go)."""
    d = client.get(deploy_path(name)).json()
    st = d["status"]
    if d["metadata"]["generation"] > st.get("observedGeneration", 0):
        return None
    progressing = next((c for c in st.get("conditions", []) if c["type"] == "Progressing"), {})
    assert progressing.get("reason") != "ProgressDeadlineExceeded"
    want = d["spec"]["replicas"]
    updated = st.get("updatedReplicas", 0)
    if (
        updated < want
        or st.get("replicas", 0) > updated
        or st.get("availableReplicas", 0) < updated
    ):
        return None
    return d


def smp(client: httpx.Client, name: str, body: dict) -> httpx.Response:
    return client.patch(deploy_path(name), content=json.dumps(body), headers={"Content-Type": SMP})


def image_patch(name: str, image: str) -> dict:
    return {"spec": {"template": {"spec": {"containers": [{"name": name, "image": image}]}}}}


def test_auth_is_required(api):
    anonymous = httpx.get(api.url + f"{APPS}/deployments")
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    wrong = httpx.get(api.url + "/api/v1/pods", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert httpx.get(api.url + "/version").json()["major"] == "1"  # public info, as on clusters


def test_discovery(client):
    assert client.get("/api").json()["versions"] == ["v1"]
    groups = client.get("/apis").json()
    assert groups["kind"] == "APIGroupList" and groups["groups"][0]["name"] == "apps"
    apps = client.get(APPS).json()
    assert apps["kind"] == "APIResourceList" and apps["groupVersion"] == "apps/v1"
    names = {r["name"]: r for r in apps["resources"]}
    assert names["deployments"]["shortNames"] == ["deploy"]
    assert names["deployments/scale"]["kind"] == "Scale"
    core = {r["name"] for r in client.get("/api/v1").json()["resources"]}
    assert {"pods", "events", "namespaces"} <= core


def test_list_paging_with_limit_and_continue(api, client):
    for i in range(5):
        api.add_deployment("team-a" if i % 2 else "team-b", f"app{i}", "nginx:1", replicas=0)
    seen, token, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"continue": token} if token else {})}
        page = client.get(f"{APPS}/deployments", params=params).json()
        assert page["kind"] == "DeploymentList" and page["apiVersion"] == "apps/v1"
        assert all("kind" not in item for item in page["items"])  # list items carry no TypeMeta
        seen += [i["metadata"]["name"] for i in page["items"]]
        pages += 1
        token = page["metadata"].get("continue")
        if not token:
            assert "remainingItemCount" not in page["metadata"]
            break
        assert page["metadata"]["remainingItemCount"] == 5 - len(seen)
    assert pages == 3 and sorted(seen) == [f"app{i}" for i in range(5)]
    team_a = client.get(f"{APPS}/namespaces/team-a/deployments").json()["items"]
    assert [d["metadata"]["name"] for d in team_a] == ["app1", "app3"]
    one = client.get(deploy_path("app1", "team-a")).json()
    assert one["kind"] == "Deployment" and one["metadata"]["namespace"] == "team-a"
    missing = client.get(deploy_path("nope"))
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"
    first = client.get(f"{APPS}/deployments", params={"limit": 2}).json()
    api.add_deployment("default", "later", "nginx:1", replicas=0)
    api.store.compact()  # as etcd compaction: the first page's revision is gone
    expired = client.get(f"{APPS}/deployments", params={"continue": first["metadata"]["continue"]})
    assert expired.status_code == 410 and expired.json()["reason"] == "Expired"


def _watch(api, path: str, params: dict, out: list, stop_when) -> threading.Thread:
    def run() -> None:
        with (
            httpx.Client(base_url=api.url, headers=api.auth_headers, timeout=10) as c,
            c.stream("GET", path, params={"watch": "1", **params}) as response,
        ):
            assert response.headers["transfer-encoding"] == "chunked"
            for line in response.iter_lines():
                out.append(json.loads(line))
                if stop_when(out):
                    return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_watch_events_bookmarks_and_410(api, client):
    api.add_deployment("default", "web", "nginx:1", replicas=1)
    listed = client.get(f"{APPS}/namespaces/default/deployments").json()
    rv = listed["metadata"]["resourceVersion"]
    events: list[dict] = []

    def done(evs: list[dict]) -> bool:
        kinds = {e["type"] for e in evs}
        return "BOOKMARK" in kinds and any(
            e["type"] == "MODIFIED" and e["object"]["metadata"].get("generation") == 2 for e in evs
        )

    params = {"resourceVersion": rv, "allowWatchBookmarks": "true", "timeoutSeconds": "5"}
    thread = _watch(api, f"{APPS}/namespaces/default/deployments", params, events, done)
    assert smp(client, "web", image_patch("web", "nginx:2")).status_code == 200
    thread.join(8)
    assert done(events), events
    assert all(int(e["object"]["metadata"]["resourceVersion"]) > int(rv) for e in events)
    mark = next(e for e in events if e["type"] == "BOOKMARK")
    assert mark["object"]["kind"] == "Deployment" and set(mark["object"]["metadata"]) == {
        "resourceVersion"
    }
    modified = next(e for e in events if e["type"] == "MODIFIED")
    assert modified["object"]["kind"] == "Deployment"  # watch objects keep TypeMeta
    # no resourceVersion: synthetic ADDED for what exists, then the stream
    pods: list[dict] = []
    _watch(api, "/api/v1/pods", {"timeoutSeconds": "2"}, pods, lambda evs: True).join(5)
    assert pods[0]["type"] == "ADDED" and pods[0]["object"]["kind"] == "Pod"
    # a resourceVersion older than the kept history: an ERROR event with a 410 Status
    api.store.compact()
    gone: list[dict] = []
    _watch(api, f"{APPS}/deployments", {"resourceVersion": rv}, gone, lambda evs: True).join(5)
    assert gone[0]["type"] == "ERROR"
    assert gone[0]["object"]["kind"] == "Status" and gone[0]["object"]["code"] == 410
    assert gone[0]["object"]["reason"] == "Expired"
    assert gone[0]["object"]["message"].startswith("too old resource version")


def test_template_patch_rolls_out_a_new_replicaset(api, client):
    api.add_deployment("default", "web", "nginx:1", replicas=3, max_surge=1, max_unavailable=0)
    first = sync_wait(lambda: rollout_done(client, "web"), timeout=10)
    assert first["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    start = client.get("/api/v1/pods").json()
    before = start["metadata"]["resourceVersion"]
    response = smp(client, "web", image_patch("web", "nginx:2"))
    assert response.status_code == 200 and response.json()["metadata"]["generation"] == 2
    done = sync_wait(lambda: rollout_done(client, "web"), timeout=10)
    assert done["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert done["status"]["updatedReplicas"] == done["status"]["readyReplicas"] == 3
    progressing = next(c for c in done["status"]["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "NewReplicaSetAvailable"
    rs = client.get(f"{APPS}/namespaces/default/replicasets").json()["items"]
    by_rev = {r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: r for r in rs}
    assert by_rev["1"]["spec"]["replicas"] == 0 and by_rev["2"]["spec"]["replicas"] == 3
    new_hash = by_rev["2"]["metadata"]["labels"]["pod-template-hash"]
    assert by_rev["2"]["metadata"]["name"] == f"web-{new_hash}"
    (container,) = by_rev["2"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "nginx:2"  # merged by name: the other fields stay
    assert container["imagePullPolicy"] == "IfNotPresent"
    pods = client.get("/api/v1/namespaces/default/pods", params={"labelSelector": "app=web"})
    assert {p["metadata"]["labels"]["pod-template-hash"] for p in pods.json()["items"]} == {
        new_hash
    }
    # maxSurge=1/maxUnavailable=0: never more than 4 pods, never fewer than 3 ready
    history: list[dict] = []
    params = {"resourceVersion": before, "timeoutSeconds": "1"}
    _watch(api, "/api/v1/pods", params, history, lambda evs: False).join(5)
    alive = {p["metadata"]["name"]: True for p in start["items"]}
    most, fewest_ready = 0, 3
    for event in history:
        pod = event["object"]
        if event["type"] == "DELETED":
            alive.pop(pod["metadata"]["name"])
        else:
            ready = [c for c in pod["status"]["conditions"] if c["type"] == "Ready"]
            alive[pod["metadata"]["name"]] = bool(ready) and ready[0]["status"] == "True"
        most, fewest_ready = max(most, len(alive)), min(fewest_ready, sum(alive.values()))
    assert most == 4 and fewest_ready == 3
    scaled = [
        e["message"]
        for e in client.get("/api/v1/namespaces/default/events").json()["items"]
        if e["reason"] == "ScalingReplicaSet"
    ]
    assert f"Scaled up replica set web-{new_hash} from 0 to 1" in scaled
    (patch,) = api.calls("PATCH")
    assert patch.content_type == SMP and patch.body == image_patch("web", "nginx:2")


def test_merge_and_json_patch(api, client):
    api.add_deployment("default", "web", "nginx:1", replicas=1)
    merge = client.patch(
        deploy_path("web"),
        content=json.dumps({"metadata": {"labels": {"tier": "front"}}, "spec": {"replicas": 2}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merge.status_code == 200
    assert merge.json()["spec"]["replicas"] == 2 and merge.json()["metadata"]["labels"]["tier"]
    ops = [
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:3"},
        {"op": "add", "path": "/metadata/annotations/owner", "value": "ops"},
    ]
    jp = client.patch(
        deploy_path("web"),
        content=json.dumps(ops),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert jp.status_code == 200
    assert jp.json()["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:3"
    bad = client.patch(
        deploy_path("web"),
        content=json.dumps([{"op": "replace", "path": "/spec/nope/x", "value": 1}]),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert bad.status_code == 422
    unsupported = client.patch(deploy_path("web"), json={"spec": {}})  # application/json
    assert unsupported.status_code == 415
    sync_wait(lambda: rollout_done(client, "web"), timeout=10)
    assert [c.content_type for c in api.calls("PATCH")] == [
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/json-patch+json",
        "application/json",
    ]


def test_failing_image_ends_in_progress_deadline_exceeded(api, client):
    api.add_deployment("default", "bad", "nginx:1", replicas=2, progress_deadline=1)
    sync_wait(lambda: rollout_done(client, "bad"), timeout=10)
    assert smp(client, "bad", image_patch("bad", "registry.local/fail:1")).status_code == 200

    def deadline_exceeded():
        d = client.get(deploy_path("bad")).json()
        cond = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
        return d if cond["reason"] == "ProgressDeadlineExceeded" else None

    d = sync_wait(deadline_exceeded, timeout=10)
    cond = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert cond["status"] == "False" and "has timed out progressing" in cond["message"]
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"] == 2
    # maxSurge 25% of 2 rounds up to 1, maxUnavailable down to 0: the old pods keep serving
    assert d["status"]["availableReplicas"] == 2 and d["status"]["updatedReplicas"] == 1
    assert d["status"]["replicas"] == 3
    pods = client.get("/api/v1/namespaces/default/pods").json()["items"]
    waiting = [
        p["status"]["containerStatuses"][0]["state"].get("waiting", {}).get("reason") for p in pods
    ]
    assert "ImagePullBackOff" in waiting


def test_scale_subresource(api, client):
    api.add_deployment("default", "web", "nginx:1", replicas=1)
    scale = client.get(deploy_path("web") + "/scale").json()
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 1} and scale["status"]["selector"] == "app=web"
    patched = client.patch(
        deploy_path("web") + "/scale",
        content=json.dumps({"spec": {"replicas": 3}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200 and patched.json()["spec"]["replicas"] == 3
    d = sync_wait(lambda: rollout_done(client, "web"), timeout=10)
    assert d["status"]["readyReplicas"] == 3
    stale = client.put(deploy_path("web") + "/scale", json={**scale, "spec": {"replicas": 0}})
    assert stale.status_code == 409 and stale.json()["reason"] == "Conflict"
    fresh = client.get(deploy_path("web") + "/scale").json()
    put = client.put(deploy_path("web") + "/scale", json={**fresh, "spec": {"replicas": 0}})
    assert put.status_code == 200
    sync_wait(lambda: not client.get("/api/v1/namespaces/default/pods").json()["items"], timeout=10)
    assert [(m.method, m.path) for m in api.calls()] == [
        ("PATCH", deploy_path("web") + "/scale"),
        ("PUT", deploy_path("web") + "/scale"),
        ("PUT", deploy_path("web") + "/scale"),
    ]


def test_deleted_pod_is_replaced(api, client):
    api.add_deployment("default", "web", "nginx:1", replicas=1)
    sync_wait(lambda: rollout_done(client, "web"), timeout=10)
    (pod,) = client.get("/api/v1/namespaces/default/pods").json()["items"]
    name = pod["metadata"]["name"]
    gone = client.delete(f"/api/v1/namespaces/default/pods/{name}")
    assert gone.status_code == 200 and gone.json()["metadata"]["name"] == name

    def replaced():
        items = client.get("/api/v1/namespaces/default/pods").json()["items"]
        return [p for p in items if p["metadata"]["name"] != name]

    assert sync_wait(replaced, timeout=10)
    (delete,) = api.calls("DELETE")
    assert delete.path == f"/api/v1/namespaces/default/pods/{name}" and delete.body is None
    assert client.get(f"/api/v1/namespaces/default/pods/{name}").status_code == 404
    # deleting the Deployment takes its ReplicaSets and pods with it (garbage collection)
    assert client.delete(deploy_path("web")).status_code == 200
    sync_wait(lambda: not client.get("/api/v1/pods").json()["items"], timeout=10)
    assert not client.get(f"{APPS}/replicasets").json()["items"]


def test_table_for_kubectl_get(api, client):
    api.add_deployment("default", "web", "nginx:1", replicas=2)
    sync_wait(lambda: rollout_done(client, "web"), timeout=10)
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    got = client.get(f"{APPS}/deployments", headers={"Accept": accept}).json()
    assert got["kind"] == "Table" and got["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in got["columnDefinitions"] if c["priority"] == 0] == [
        "Name", "Ready", "Up-to-date", "Available", "Age"
    ]  # fmt: skip
    (row,) = got["rows"]
    assert row["cells"][:4] == ["web", "2/2", 2, 2]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["namespace"] == "default"


def test_kubeconfig_with_two_clusters(tmp_path):
    with KubeApiServer(token="a") as one, KubeApiServer(token="b") as two:
        one.add_deployment("default", "left", "nginx:1", replicas=0)
        two.add_deployment("default", "right", "nginx:1", replicas=0)
        path = write_kubeconfig(tmp_path / "config", {"prod": one, "staging": two})
        config = json.loads(path.read_text())
        assert config["current-context"] == "prod"
        for ctx in config["contexts"]:
            cluster = next(c for c in config["clusters"] if c["name"] == ctx["context"]["cluster"])
            user = next(u for u in config["users"] if u["name"] == ctx["context"]["user"])
            headers = {"Authorization": f"Bearer {user['user']['token']}"}
            items = httpx.get(cluster["cluster"]["server"] + f"{APPS}/deployments", headers=headers)
            names = [d["metadata"]["name"] for d in items.json()["items"]]
            assert names == (["left"] if ctx["name"] == "prod" else ["right"])
