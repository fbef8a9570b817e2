"""The Kubernetes actions' requests and decisions without a cluster: kubectl's
undo annotations and refusals, set image's patch, the values the dialogs take,
and what following a rollout reports (a fake `Cluster` whose watches move on
when asked)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from opsdash.actions.base import ActionError
from opsdash.actions.kube_requests import (
    JSON_PATCH,
    NeedsValue,
    parse_images,
    parse_replicas,
    rfc3339_now,
    set_image_request,
    undo_request,
)
from opsdash.actions.kube_rollout import follow
from opsdash.actions.kubernetes import KubeActions, interrupted_state
from opsdash.model.kube import KubePod, KubeWorkload, RolloutState

REV = "deployment.kubernetes.io/revision"


def workload(**kw) -> KubeWorkload:
    values = dict(
        context="prod",
        kind="Deployment",
        namespace="default",
        name="web",
        uid="u1",
        desired=2,
        ready=2,
        updated=2,
        available=2,
        containers=(("web", "nginx:1"), ("side", "envoy:1")),
        revision="2",
        generation=2,
        observed_generation=2,
        rollout_message='deployment "web" successfully rolled out',
    )
    values.update(kw)
    return KubeWorkload(**values)


def template(image: str, hash_: str = "") -> dict:
    labels = {"app": "web", **({"pod-template-hash": hash_} if hash_ else {})}
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "web", "image": image}]},
    }


def rs(revision: int, image: str, **annotations) -> dict:
    return {
        "metadata": {
            "name": f"web-h{revision}",
            "annotations": {REV: str(revision), **annotations},
        },
        "spec": {"template": template(image, f"h{revision}")},
    }


def deployment(image: str, revision: int, **annotations) -> dict:
    return {
        "metadata": {
            "name": "web",
            "namespace": "default",
            "annotations": {REV: str(revision), **annotations},
        },
        "spec": {"template": template(image)},
    }


def test_undo_goes_to_the_previous_revision_keeping_annotations_as_kubectl_does():
    deploy = deployment(
        "nginx:2",
        2,
        **{"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "mine"},
    )
    sets = [
        rs(1, "nginx:1", **{"deployment.kubernetes.io/desired-replicas": "2", "note": "old"}),
        rs(2, "nginx:2"),
    ]
    request, chosen, revision = undo_request(deploy, sets)
    assert (revision, chosen["metadata"]["name"]) == (1, "web-h1")
    assert request.method == "PATCH" and request.content_type == JSON_PATCH
    assert request.path == "/apis/apps/v1/namespaces/default/deployments/web"
    assert request.params is None
    replace_template, replace_annotations = request.body
    assert replace_template["path"] == "/spec/template"
    assert replace_template["value"]["metadata"]["labels"] == {"app": "web"}  # no hash
    assert replace_annotations == {
        "op": "replace",
        "path": "/metadata/annotations",
        "value": {
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            REV: "2",
            "note": "old",  # copied from the ReplicaSet; "team" is not kept, as kubectl does
        },
    }
    assert "pod-template-hash" in sets[0]["spec"]["template"]["metadata"]["labels"]  # not mutated


@pytest.mark.parametrize(
    ("deploy", "sets", "to", "words"),
    [
        (
            deployment("nginx:2", 2),
            [rs(2, "nginx:2")],
            0,
            'no rollout history found for deployment "web"',
        ),
        (
            deployment("nginx:2", 2),
            [rs(1, "nginx:1"), rs(2, "nginx:2")],
            5,
            "unable to find specified revision 5 in history",
        ),
        (
            deployment("nginx:1", 3),
            [rs(1, "nginx:1"), rs(3, "nginx:1")],
            1,
            "skipped rollback (current template already matches revision 1)",
        ),
    ],
)
def test_undo_refuses_in_kubectls_words(deploy, sets, to, words):
    with pytest.raises(ActionError) as caught:
        undo_request(deploy, sets, to)
    assert str(caught.value) == words


def test_undo_of_a_paused_deployment_is_refused():
    deploy = deployment("nginx:2", 2)
    deploy["spec"]["paused"] = True
    with pytest.raises(ActionError, match="you cannot rollback a paused deployment"):
        undo_request(deploy, [rs(1, "nginx:1"), rs(2, "nginx:2")])


def test_set_image_patches_only_the_changed_container_in_order():
    request = set_image_request(workload(), {"side": "envoy:2"})
    assert request.params == {"fieldManager": "kubectl-set"}
    assert request.content_type == "application/strategic-merge-patch+json"
    assert request.body == {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}],
                    "containers": [{"image": "envoy:2", "name": "side"}],
                }
            }
        }
    }
    assert request.lines()[0] == (
        "Send PATCH /apis/apps/v1/namespaces/default/deployments/web?fieldManager=kubectl-set"
        " (application/strategic-merge-patch+json):"
    )
    assert request.lines()[1].startswith("  {")  # shown literally, not numbered


def test_values_the_dialogs_take():
    two = workload()
    one = workload(containers=(("web", "nginx:1"),))
    assert parse_images(one, "nginx:2") == {"web": "nginx:2"}
    assert parse_images(two, "web=nginx:2, side=envoy:2") == {"web": "nginx:2", "side": "envoy:2"}
    with pytest.raises(ActionError, match="say which, as container=image"):
        parse_images(two, "nginx:2")
    with pytest.raises(ActionError, match='unable to find container named "db"'):
        parse_images(two, "db=postgres:16")
    assert parse_replicas(" 3 ") == 3
    with pytest.raises(ActionError, match="not a replica count"):
        parse_replicas("-1")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", rfc3339_now())


class FakeCluster:
    """The watches as a list of records handed out one per look."""

    read_only = False
    auto_undo = False
    name = "prod"
    context = "prod"
    label = "prod"

    def __init__(self, records, raw=None):
        self.records = list(records)
        self.raw = raw or {}
        self.sent = []

    def current(self, kind, namespace, name):
        return self.records.pop(0) if len(self.records) > 1 else self.records[0]

    def replicasets(self, _workload):
        return [
            {
                "metadata": {"name": "web-new", "annotations": {REV: "3"}},
                "spec": {"replicas": 2},
                "status": {"readyReplicas": 1},
            },
            {"metadata": {"name": "web-old", "annotations": {REV: "2"}}, "status": {"replicas": 1}},
        ]


def test_follow_reports_kubectls_lines_and_the_new_replicaset_until_complete():
    progressing = workload(
        generation=3,
        observed_generation=3,
        revision="3",
        ready=1,
        updated=1,
        rollout=RolloutState.PROGRESSING,
        rollout_message='Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas'
        " have been updated...",
    )
    stale = replace(progressing, observed_generation=2)
    done = workload(generation=3, observed_generation=3, revision="3")
    lines = []
    followed = follow(
        FakeCluster([stale, progressing, done]), workload(), 3, lambda s, d: lines.append(d), 60
    )
    assert followed.state is RolloutState.COMPLETE
    assert lines == [
        "Waiting for deployment spec update to be observed...",
        progressing.rollout_message,
        "new ReplicaSet web-new (revision 3): 1/2 ready; old ReplicaSets: 1 pod left",
        'deployment "web" successfully rolled out',
    ]


def test_a_rollout_past_the_timeout_is_still_going_not_a_failure():
    going = workload(
        generation=3,
        observed_generation=3,
        rollout=RolloutState.PROGRESSING,
        rollout_message="Waiting...",
    )
    source = FakeCluster([going])
    actions = KubeActions(source, timeout=0)
    followed = follow(source, workload(), 3, lambda s, d: None, 0)
    assert followed.timed_out
    result = actions._outcome(None, workload(), followed, lambda s, d: None, True, True)
    assert result.ok and not result.deployed
    assert (
        "still rolling out after 0s" in result.message
        and "the cluster carries it on" in result.message
    )


def test_a_failed_rollout_without_auto_undo_raises_with_kubectls_words():
    failed = workload(
        rollout=RolloutState.FAILED,
        rollout_message='deployment "web" exceeded its progress deadline',
    )
    source = FakeCluster([failed])
    followed = follow(source, workload(), 2, lambda s, d: None, 60)
    with pytest.raises(ActionError) as caught:
        KubeActions(source)._outcome(None, workload(), followed, lambda s, d: None, True, True)
    assert not caught.value.rolled_back
    assert str(caught.value) == (
        'deployment/web: deployment "web" exceeded its progress deadline'
        " (auto_undo is off: left as it is; u undoes it)"
    )


def test_plans_refuse_what_does_not_apply_without_a_request():
    source = FakeCluster([workload()])
    daemon = workload(kind="DaemonSet")
    with pytest.raises(
        ActionError, match="undo applies to Deployments; daemonset/web is a DaemonSet"
    ):
        KubeActions(source).plan("undo", daemon, None)
    with pytest.raises(ActionError, match="no replicas to scale"):
        KubeActions(source).plan("scale", daemon, "3")
    pod = KubePod("prod", "default", "web-1", "p1", "Running", ())
    with pytest.raises(ActionError, match="on a pod, delete it"):
        KubeActions(source).plan("restart", pod, None)
    assert issubclass(NeedsValue, ActionError)


def test_interrupted_state_says_where_the_workload_is():
    moved = workload(revision="4", rollout=RolloutState.PROGRESSING, rollout_message="Waiting...")
    facts = {
        "workload_kind": "Deployment",
        "namespace": "default",
        "name": "web",
        "revision_before": "3",
    }
    assert interrupted_state(FakeCluster([moved]), facts) == (
        "deployment/web: revision 4 (was 3), progressing: Waiting..."
    )
    assert interrupted_state(FakeCluster([None]), facts) == "deployment/web is not there now"
