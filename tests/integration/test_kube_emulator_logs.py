"""devstack.kube over HTTP: the pods/log subresource.

https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#get-read-log-of-the-specified-pod
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from devstack.kube import KubeApiServer

HOSTILE = [
    "\x1b[31mred\x1b[0m and \x1b]0;title\x07",
    "[bold]x[/] [link=http://evil]click[/link]",
    "<script>alert(1)</script> \u202eevil",
]


@pytest.fixture
def api():
    with KubeApiServer(ready_delay=0.1) as server:
        yield server


@pytest.fixture
def client(api):
    with httpx.Client(base_url=api.url, headers=api.auth_headers, timeout=10) as c:
        yield c


def running_pod(api: KubeApiServer, app: str) -> str:
    def find():
        pods = api.pods("default", app=app)
        return pods and pods[0]["status"]["phase"] == "Running" and pods[0]["metadata"]["name"]

    return api.wait_until(find)


def log_path(pod: str) -> str:
    return f"/api/v1/namespaces/default/pods/{pod}/log"


def test_synthetic_log_and_query_parameters(api, client):
    api.add_deployment("default", "web", "nginx:1")
    pod = running_pod(api, "web")
    api.wait_until(lambda: len(client.get(log_path(pod)).text.splitlines()) >= 4)
    plain = client.get(log_path(pod))
    assert plain.status_code == 200 and plain.headers["content-type"] == "text/plain"
    lines = plain.text.splitlines()
    assert lines[0] == "INFO web listening on :8080" and plain.text.endswith("\n")
    assert client.get(log_path(pod), params={"container": "web"}).text.startswith(lines[0])
    tail = client.get(log_path(pod), params={"tailLines": 2}).text.splitlines()
    assert len(tail) == 2 and tail[-1].startswith("INFO web GET /healthz")
    stamped = client.get(log_path(pod), params={"timestamps": "true", "tailLines": 1}).text
    stamp, _, rest = stamped.rstrip("\n").partition(" ")
    assert stamp.endswith("Z") and len(stamp) == len("2026-01-01T00:00:00.000000000Z")
    assert rest.startswith("INFO web")
    assert len(client.get(log_path(pod), params={"limitBytes": 10}).content) == 10
    assert client.get(log_path(pod), params={"sinceSeconds": 3600}).text.startswith(lines[0])
    api.set_pod_log("default", pod, "web", ["old"])  # sinceSeconds filters by line time
    time.sleep(1.1)
    api.append_pod_log("default", pod, "web", "new")
    assert client.get(log_path(pod), params={"sinceSeconds": 1}).text == "new\n"
    missing = client.get(log_path("nope"))
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"
    assert client.get(log_path(pod), params={"container": "db"}).json()["message"] == (
        f"container db is not valid for pod {pod}"
    )
    prev = client.get(log_path(pod), params={"previous": "true"})
    assert prev.status_code == 400 and prev.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'previous terminated container "web" in pod "{pod}" not found',
        "reason": "BadRequest",
        "code": 400,
    }
    assert httpx.get(api.url + log_path(pod)).status_code == 401


def test_several_containers_need_a_name(api, client):
    api.add_deployment("default", "web", "x", containers=[("a", "app:1"), ("b", "envoy:1")])
    pod = running_pod(api, "web")
    answer = client.get(log_path(pod))
    assert answer.status_code == 400 and answer.headers["content-type"] == "application/json"
    assert answer.json()["message"] == (
        f"a container name must be specified for pod {pod}, choose one of: [a b]"
    )
    assert answer.json()["reason"] == "BadRequest" and answer.json()["code"] == 400
    assert client.get(log_path(pod), params={"container": "b"}).text.startswith("INFO b ")


def test_hostile_text_is_served_verbatim(api, client):
    api.add_deployment("default", "web", "nginx:1")
    pod = running_pod(api, "web")
    api.set_pod_log("default", pod, "web", HOSTILE)
    assert client.get(log_path(pod)).content == ("\n".join(HOSTILE) + "\n").encode()
    api.set_pod_log("default", pod, "web", ["before the restart"], previous=True)
    previous = client.get(log_path(pod), params={"previous": "1"})
    assert previous.status_code == 200 and previous.text == "before the restart\n"


def test_crashed_container_has_previous_logs_and_waiting_one_has_none(api, client):
    api.add_deployment("default", "crash", "crash:1")
    api.add_deployment("default", "puller", "pull:1")

    def restarted():
        pods = api.pods("default", app="crash")
        c = pods and pods[0]["status"]["containerStatuses"][0]
        return c and c["restartCount"] >= 2 and pods[0]["metadata"]["name"]

    pod = api.wait_until(restarted)
    current = client.get(log_path(pod)).text
    assert current.splitlines()[-1] == "panic: no database connection, exiting"
    previous = client.get(log_path(pod), params={"previous": "true"})
    assert previous.status_code == 200 and "panic:" in previous.text

    def pulling():
        pods = api.pods("default", app="puller")
        state = pods and pods[0]["status"]["containerStatuses"][0]["state"]
        return state and "ImagePullBackOff" in str(state) and pods[0]["metadata"]["name"]

    waiting = api.wait_until(pulling)
    answer = client.get(log_path(waiting))
    assert answer.status_code == 400 and answer.json()["message"] == (
        f'container "puller" in pod "{waiting}" is waiting to start: '
        "trying and failing to pull image"
    )


def test_follow_streams_new_lines_until_the_pod_is_deleted(api, client):
    api.add_deployment("default", "web", "nginx:1")
    pod = running_pod(api, "web")
    api.set_pod_log("default", pod, "web", ["one"])
    got: list[str] = []
    headers: dict[str, str] = {}

    def follow() -> None:
        with (
            httpx.Client(base_url=api.url, headers=api.auth_headers, timeout=10) as c,
            c.stream("GET", log_path(pod), params={"follow": "true"}) as response,
        ):
            headers.update(response.headers)
            got.extend(response.iter_lines())

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    api.wait_until(lambda: got == ["one"])
    api.append_pod_log("default", pod, "web", "two", "[red]three[/]")
    api.wait_until(lambda: len(got) == 3)
    assert thread.is_alive()  # still following
    client.delete(f"/api/v1/namespaces/default/pods/{pod}")
    thread.join(5)
    assert not thread.is_alive() and got == ["one", "two", "[red]three[/]"]
    assert headers["transfer-encoding"] == "chunked" and headers["content-type"] == "text/plain"
    # synthetic lines keep coming while following (one per ready_delay)
    fresh = running_pod(api, "web")
    seen: list[str] = []

    def follow_synthetic() -> None:
        with (
            httpx.Client(base_url=api.url, headers=api.auth_headers, timeout=10) as c,
            c.stream("GET", log_path(fresh), params={"follow": "1", "tailLines": "1"}) as r,
        ):
            for line in r.iter_lines():
                seen.append(line)
                if len(seen) >= 3:
                    return

    reader = threading.Thread(target=follow_synthetic, daemon=True)
    reader.start()
    reader.join(10)
    assert len(seen) == 3 and all(s.startswith("INFO web") for s in seen)
    numbers = [int(s.rsplit("=", 1)[1]) for s in seen if "request=" in s]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
