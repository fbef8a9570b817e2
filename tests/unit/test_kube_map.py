"""Kubernetes objects onto records, rollout states as kubectl decides them, and
kubeconfig files merged as kubectl merges them."""

from __future__ import annotations

import json

import pytest

from opsdash.model.kube import RolloutState
from opsdash.sources import kube_map, kubeconfig
from opsdash.sources.base import SourceError


def deployment(**status) -> dict:
    spec_replicas = status.pop("spec_replicas", 3)
    generation = status.pop("generation", 2)
    conditions = status.pop("conditions", [])
    paused = status.pop("paused", False)
    return {
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "u1",
            "generation": generation,
            "annotations": {kube_map.REVISION_ANNOTATION: "4"},
            "labels": {"app.kubernetes.io/name": "web"},
            "creationTimestamp": "2026-12-01T10:00:00Z",
        },
        "spec": {
            "replicas": spec_replicas,
            "paused": paused,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "spec": {"containers": [{"name": "app", "image": "acc/web:4"}]},
            },
        },
        "status": {"observedGeneration": 2, "conditions": conditions, **status},
    }


DONE = {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}


@pytest.mark.parametrize(
    ("fields", "state", "message"),
    [
        (DONE, RolloutState.COMPLETE, 'deployment "web" successfully rolled out'),
        (
            {**DONE, "generation": 3},
            RolloutState.PROGRESSING,
            "Waiting for deployment spec update to be observed...",
        ),
        (
            {**DONE, "updatedReplicas": 1},
            RolloutState.PROGRESSING,
            "1 out of 3 new replicas have been updated...",
        ),
        (
            {**DONE, "replicas": 4},
            RolloutState.PROGRESSING,
            "1 old replicas are pending termination...",
        ),
        (
            {**DONE, "availableReplicas": 2},
            RolloutState.PROGRESSING,
            "2 of 3 updated replicas are available...",
        ),
        (
            {
                **DONE,
                "updatedReplicas": 1,
                "conditions": [
                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
                ],
            },
            RolloutState.FAILED,
            'deployment "web" exceeded its progress deadline',
        ),
        ({**DONE, "paused": True}, RolloutState.PAUSED, 'deployment "web" is paused'),
    ],
)
def test_deployment_rollout_states_follow_kubectl(fields, state, message):
    workload = kube_map.workload("prod", "Deployment", deployment(**fields))
    assert workload.rollout is state
    assert message in workload.rollout_message


def test_a_deployment_becomes_a_workload_record():
    w = kube_map.workload("prod", "Deployment", deployment(**DONE))
    assert (w.key, w.desired, w.ready, w.updated, w.available) == (
        "prod/Deployment/shop/web",
        3,
        3,
        3,
        3,
    )
    assert (w.revision, w.images, w.selector) == ("4", ("acc/web:4",), (("app", "web"),))
    assert w.label("app.kubernetes.io/name") == "web"
    assert w.created is not None and w.created.year == 2026


def test_statefulset_and_daemonset_rollouts():
    sts = {
        "metadata": {"name": "db", "namespace": "shop", "generation": 2},
        "spec": {"replicas": 2, "template": {"spec": {"containers": []}}},
        "status": {
            "observedGeneration": 2,
            "readyReplicas": 2,
            "currentRevision": "db-aaa",
            "updateRevision": "db-bbb",
            "updatedReplicas": 1,
        },
    }
    assert kube_map.workload("c", "StatefulSet", sts).rollout is RolloutState.PROGRESSING
    sts["status"]["currentRevision"] = "db-bbb"
    done = kube_map.workload("c", "StatefulSet", sts)
    assert (done.rollout, done.revision) == (RolloutState.COMPLETE, "bbb")
    ds = {
        "metadata": {"name": "agent", "namespace": "kube-system", "generation": 1},
        "spec": {"template": {"spec": {"containers": []}}},
        "status": {
            "observedGeneration": 1,
            "desiredNumberScheduled": 2,
            "updatedNumberScheduled": 2,
            "numberAvailable": 1,
            "numberReady": 1,
        },
    }
    agent = kube_map.workload("c", "DaemonSet", ds)
    assert (agent.rollout, agent.desired, agent.ready) == (RolloutState.PROGRESSING, 2, 1)
    assert "1 of 2 updated pods are available" in agent.rollout_message
    ds["spec"]["updateStrategy"] = {"type": "OnDelete"}
    assert kube_map.workload("c", "DaemonSet", ds).rollout is RolloutState.UNKNOWN


def pod(statuses: list[dict], **meta) -> dict:
    return {
        "metadata": {
            "name": "web-1",
            "namespace": "shop",
            "uid": "p1",
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d9", "controller": True}],
            **meta,
        },
        "spec": {
            "nodeName": "node-1",
            "containers": [{"name": s["name"], "image": "img"} for s in statuses],
        },
        "status": {"phase": "Running", "containerStatuses": statuses},
    }


def test_a_crash_looping_pod_names_its_trouble():
    record = kube_map.pod(
        "prod",
        pod(
            [
                {
                    "name": "app",
                    "ready": False,
                    "restartCount": 7,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
                },
                {"name": "sidecar", "ready": True, "restartCount": 0, "state": {"running": {}}},
            ]
        ),
    )
    assert (record.ready, record.restarts, record.trouble) == (1, 7, "CrashLoopBackOff")
    assert record.status_word == "CrashLoopBackOff"
    assert record.crashed == ("app",)
    assert record.container_names == ("app", "sidecar")
    assert (record.owner, record.node) == ("ReplicaSet/web-5d9", "node-1")
    assert record.containers[0].last_exit == 137


def test_an_oom_killed_container_that_came_back_is_still_flagged():
    record = kube_map.pod(
        "c",
        pod(
            [
                {
                    "name": "app",
                    "ready": True,
                    "restartCount": 1,
                    "state": {"running": {}},
                    "lastState": {"terminated": {"reason": "OOMKilled"}},
                }
            ]
        ),
    )
    assert record.trouble == "OOMKilled"


def test_a_deleting_pod_is_terminating_and_garbage_is_tolerated():
    record = kube_map.pod("c", pod([], deletionTimestamp="2026-12-01T10:00:00Z"))
    assert record.status_word == "Terminating"
    odd = kube_map.pod("c", {"metadata": "x", "spec": None, "status": {"containerStatuses": 5}})
    assert (odd.name, odd.phase, odd.containers) == ("", "Pending", ())
    assert kube_map.workload("c", "Deployment", {}).name == ""


def test_events_and_revisions():
    event = kube_map.event(
        {
            "involvedObject": {"kind": "Pod", "name": "web-1"},
            "reason": "BackOff",
            "message": "Back-off restarting failed container",
            "type": "Warning",
            "count": 4,
            "lastTimestamp": "2026-12-01T10:05:00Z",
        }
    )
    assert (event.object, event.type, event.count) == ("Pod/web-1", "Warning", 4)
    rs = {
        "metadata": {
            "name": "web-5d9",
            "labels": {"pod-template-hash": "5d9"},
            "annotations": {kube_map.REVISION_ANNOTATION: "3"},
        },
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "a:3"}]}}},
        "status": {"replicas": 2},
    }
    revision = kube_map.revision(rs, "3")
    assert (revision.number, revision.current, revision.containers) == (3, True, (("app", "a:3"),))


# --- kubeconfig -----------------------------------------------------------------


def write(path, clusters, users, contexts, current=None):
    document = {
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": [{"name": n, "context": c} for n, c in contexts.items()],
    }
    if current:
        document["current-context"] = current
    path.write_text(json.dumps(document))
    return path


def test_kubeconfig_files_merge_first_one_wins(tmp_path):
    (tmp_path / "a").mkdir()
    first = write(
        tmp_path / "a" / "config",
        {"prod": {"server": "https://one", "certificate-authority": "ca.pem"}},
        {"me": {"token": "t1", "exec": {"apiVersion": "client.authentication.k8s.io/v1"}}},
        {"prod": {"cluster": "prod", "user": "me"}},
    )
    second = write(
        tmp_path / "b",
        {"prod": {"server": "https://two"}, "dev": {"server": "https://dev"}},
        {"me": {"token": "t2"}},
        {"prod": {"cluster": "prod"}, "dev": {"cluster": "dev", "user": "me"}},
        current="dev",
    )
    merged = kubeconfig.load((first, tmp_path / "missing", second))
    assert merged.contexts == ("prod", "dev")
    assert merged.current_context == "dev"  # the first file naming one
    assert merged.server("prod") == "https://one"
    assert merged.server("dev") == "https://dev"
    (cluster,) = [c for c in merged.document["clusters"] if c["name"] == "prod"]
    assert cluster["cluster"]["certificate-authority"] == str(tmp_path / "a" / "ca.pem")
    (user,) = merged.document["users"]
    assert user["user"]["exec"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"


def test_kubeconfig_problems_are_one_line(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        kubeconfig.load((tmp_path / "none",))
    bad = tmp_path / "bad"
    bad.write_text("clusters: [\n  - {name: x\n")
    with pytest.raises(SourceError, match=r"bad line \d+: not a kubeconfig"):
        kubeconfig.load((bad,))
    scalar = tmp_path / "scalar"
    scalar.write_text("just text")
    with pytest.raises(SourceError, match="a YAML mapping is expected"):
        kubeconfig.load((scalar,))


def test_kubeconfig_files_come_from_the_setting_then_the_environment(tmp_path):
    env = {"KUBECONFIG": f"{tmp_path}/a:{tmp_path}/b", "HOME": str(tmp_path)}
    assert kubeconfig.kubeconfig_files("", env) == (tmp_path / "a", tmp_path / "b")
    assert kubeconfig.kubeconfig_files(str(tmp_path / "c"), env) == (tmp_path / "c",)
    assert kubeconfig.kubeconfig_files("", {"HOME": str(tmp_path)}) == (
        tmp_path / ".kube" / "config",
    )
