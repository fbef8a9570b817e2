"""devstack.kube with thousands of pods: bulk seeding (`ready=True`), paging and
watch stay fast, the controller leaves seeded objects alone.

https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks
"""

from __future__ import annotations

import json

import httpx

from devstack.kube import KubeApiServer

NAMESPACES = [f"team-{i}" for i in range(10)]


def test_five_thousand_ready_pods_page_and_watch():
    with KubeApiServer(ready_delay=0.1, history=20000) as api:
        for ns in NAMESPACES:
            for d in range(10):
                api.add_deployment(ns, f"app-{d}", f"nginx:{d}", replicas=50, ready=True)
        with httpx.Client(base_url=api.url, headers=api.auth_headers, timeout=30) as client:
            names, token, pages = [], None, 0
            while True:
                params = {"limit": 500, **({"continue": token} if token else {})}
                page = client.get("/api/v1/pods", params=params).json()
                names += [
                    (p["metadata"]["namespace"], p["metadata"]["name"]) for p in page["items"]
                ]
                pages += 1
                token = page["metadata"].get("continue")
                if not token:
                    break
            assert pages == 10 and len(set(names)) == 5000
            pod = page["items"][-1]
            assert pod["status"]["phase"] == "Running"
            assert all(c["ready"] for c in pod["status"]["containerStatuses"])
            assert pod["spec"]["nodeName"] in ("node-1", "node-2")
            d = client.get("/apis/apps/v1/namespaces/team-3/deployments/app-4").json()
            rs = client.get("/apis/apps/v1/namespaces/team-3/replicasets").json()["items"]
            assert {r["status"]["readyReplicas"] for r in rs} == {50}
            api.wait_until(
                lambda: (
                    client.get("/apis/apps/v1/namespaces/team-3/deployments/app-4")
                    .json()["status"]
                    .get("availableReplicas")
                    == 50
                )
            )
            d = client.get("/apis/apps/v1/namespaces/team-3/deployments/app-4").json()
            assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
            progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
            assert progressing["reason"] == "NewReplicaSetAvailable"
            # no pod churn: the controller found nothing to do
            assert len(api.pods()) == 5000
            # a watch from "any" version starts with 5000 synthetic ADDED events
            count = 0
            params = {"watch": "1", "timeoutSeconds": "10", "labelSelector": "app=app-1"}
            with client.stream("GET", "/api/v1/pods", params=params) as response:
                for line in response.iter_lines():
                    event = json.loads(line)
                    assert event["object"]["metadata"]["labels"]["app"] == "app-1"
                    count += event["type"] == "ADDED"
                    if count == 500:
                        break
            assert count == 500
            # a change to one deployment still rolls out among the 5000
            api.add_deployment("team-0", "small", "nginx:1", replicas=2, ready=True)
            patch = {
                "spec": {"template": {"spec": {"containers": [{"name": "small", "image": "x:2"}]}}}
            }
            client.patch(
                "/apis/apps/v1/namespaces/team-0/deployments/small",
                content=json.dumps(patch),
                headers={"Content-Type": "application/strategic-merge-patch+json"},
            )

            def rolled() -> bool:
                pods = api.pods("team-0", app="small")
                images = {p["spec"]["containers"][0]["image"] for p in pods}
                return (
                    len(pods) == 2
                    and images == {"x:2"}
                    and all(p["status"]["phase"] == "Running" for p in pods)
                )

            api.wait_until(rolled, timeout=30)
