"""The Kubernetes actions against the API emulator (devstack.kube) over TLS with a
kubeconfig of two contexts, each request held against kubectl 1.20's own.

The two clusters are seeded alike; kubectl acts on the staging context and
opsdash on prod, each the same step, so each pair of requests has the same path
and the same history behind it. The requests must be equal in method, path,
query, content type and body, but for restartedAt's time, the random pod name,
and, in undo's template, the nulls and empty maps Go's typed structs add
(`creationTimestamp: null`, `resources: {}`), which the API server's defaulting
makes equal (the emulator prunes them the same way).
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess

import pytest

from devstack.kube import KubeApiServer, write_kubeconfig
from opsdash.actions.base import ActionError
from opsdash.actions.journal import ActionJournal
from opsdash.actions.kubernetes import KubeActions, NeedsValue, interrupted_state
from opsdash.actions.runner import ActionRunner
from opsdash.model.kube import KubePod, KubeWorkload, RolloutState
from opsdash.sources.base import SourceError
from opsdash.sources.kubernetes import KubernetesConfig, KubernetesSource
from opsdash.store import Store
from tests.integration.test_kube_kubectl import kubectl_binary
from tests.pilot import sync_wait

PROD_TOKEN = "prod-secret-token-7731"
STAGE_TOKEN = "stage-secret-token-8842"
RESTARTED = "kubectl.kubernetes.io/restartedAt"

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="no openssl for the emulator's TLS"
)
needs_kubectl = pytest.mark.skipif(
    kubectl_binary() is None,
    reason="no kubectl (OPSDASH_KUBECTL: Debian's kubernetes-client, see test_kube_kubectl)",
)


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("kube-act-tls")


@pytest.fixture
def clusters(tls_dir, tmp_path):
    with (
        KubeApiServer(token=PROD_TOKEN, ready_delay=0.05, tls_dir=tls_dir) as prod,
        KubeApiServer(token=STAGE_TOKEN, ready_delay=0.05, tls_dir=tls_dir) as stage,
    ):
        config = write_kubeconfig(tmp_path / "kubeconfig", {"prod": prod, "staging": stage})
        yield prod, stage, config


def make_source(kubeconfig, context: str = "prod", **kw) -> KubernetesSource:
    config = KubernetesConfig(name=context, context=context, kubeconfig=str(kubeconfig), **kw)
    return KubernetesSource(config, environ={})


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "opsdash.db")


@pytest.fixture
def runner(store):
    return ActionRunner(store, actor="tester@box")


def workload(source: KubernetesSource, name: str, namespace: str = "default") -> KubeWorkload:
    """Once the watches show it rolled out."""

    def ready():
        try:
            snap = source.poll()
        except SourceError:
            return None
        return next(
            (
                w
                for w in snap.workloads
                if w.name == name
                and w.namespace == namespace
                and w.rollout is RolloutState.COMPLETE
                and w.ready == w.desired
                and w.observed_generation >= w.generation
            ),
            None,
        )

    return sync_wait(ready, timeout=20)


def act(source, runner, action, target, value=None, **kw):
    """Plan and run as the flow does (journaled, audited); returns (plan, result, lines)."""
    planned = KubeActions(source, **kw).plan(action, target, value)
    lines: list[tuple[str, str]] = []
    result = runner.execute_journaled(
        planned.plan,
        lambda journal: planned.run(planned.plan, journal, lambda _q: False),
        show=lambda step, detail: lines.append((step, detail)),
    )
    return planned, result, lines


def kubectl(config, context: str, *args: str) -> str:
    base = [kubectl_binary(), "--kubeconfig", str(config), "--context", context]
    done = subprocess.run([*base, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def pruned(value):
    if isinstance(value, dict):
        kept = {k: pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None and v != {}}
    if isinstance(value, list):
        return [pruned(v) for v in value]
    return value


def request(m) -> tuple:
    return (m.method, m.path, m.query, m.content_type, m.body)


def wait_rolled_out(server, name="web", ns="default"):
    def done():
        d = server.deployment(ns, name)
        s = d.get("status", {})
        want = d["spec"].get("replicas", 1)
        return (
            s.get("observedGeneration") == d["metadata"].get("generation")
            and s.get("updatedReplicas", 0) == want
            and s.get("readyReplicas", 0) == want
            and s.get("replicas", 0) == want
        )

    server.wait_until(done, timeout=20)


@needs_kubectl
def test_each_request_is_what_kubectl_sends(clusters, runner):
    prod, stage, config = clusters
    for server in (prod, stage):
        server.add_deployment("default", "web", "nginx:1", replicas=2)
        wait_rolled_out(server)
    source = make_source(config)
    try:
        # set image
        kubectl(config, "staging", "set", "image", "deploy/web", "web=nginx:2")
        act(source, runner, "set-image", workload(source, "web"), "nginx:2")
        assert request(prod.calls("PATCH")[-1]) == request(stage.calls("PATCH")[-1])
        wait_rolled_out(stage)

        # rollout restart: the same but for the time it stamps
        kubectl(config, "staging", "rollout", "restart", "deploy/web")
        act(source, runner, "restart", workload(source, "web"))
        ours, theirs = prod.calls("PATCH")[-1], stage.calls("PATCH")[-1]
        assert ours.query == theirs.query == {"fieldManager": "kubectl-rollout"}
        stamp = theirs.body["spec"]["template"]["metadata"]["annotations"][RESTARTED]
        body = copy.deepcopy(ours.body)
        assert body["spec"]["template"]["metadata"]["annotations"][RESTARTED][:2] == "20"
        body["spec"]["template"]["metadata"]["annotations"][RESTARTED] = stamp
        assert request(ours)[:4] == request(theirs)[:4] and body == theirs.body
        wait_rolled_out(stage)

        # rollout undo --to-revision=1
        kubectl(config, "staging", "rollout", "undo", "deploy/web", "--to-revision=1")
        act(source, runner, "undo", workload(source, "web"), "1")
        ours, theirs = prod.calls("PATCH")[-1], stage.calls("PATCH")[-1]
        assert request(ours)[:4] == request(theirs)[:4]
        assert ours.content_type == "application/json-patch+json"
        assert [op["path"] for op in ours.body] == ["/spec/template", "/metadata/annotations"]
        assert pruned(ours.body) == pruned(theirs.body)
        assert ours.body[1] == theirs.body[1]  # the annotations exactly
        wait_rolled_out(stage)

        # scale
        kubectl(config, "staging", "scale", "deploy/web", "--replicas=3")
        act(source, runner, "scale", workload(source, "web"), "3")
        assert request(prod.calls("PATCH")[-1]) == request(stage.calls("PATCH")[-1])
        assert prod.calls("PATCH")[-1].path.endswith("/deployments/web/scale")
        wait_rolled_out(stage)

        # delete pod
        victim = stage.store.list("pods")[1][0]["metadata"]["name"]
        kubectl(config, "staging", "delete", "pod", victim)
        pod = source.poll().pods[0]
        act(source, runner, "delete", pod)
        ours, theirs = prod.calls("DELETE")[-1], stage.calls("DELETE")[-1]
        assert ours.path.replace(pod.name, victim) == theirs.path
        assert request(ours)[2:] == request(theirs)[2:]
        assert ours.body == {"propagationPolicy": "Background"}
    finally:
        source.close()
    sent = [(m.method, m.content_type) for m in prod.mutations]
    assert sent == [(m.method, m.content_type) for m in stage.mutations]


def test_restart_follows_the_rollout_to_complete(clusters, runner, store):
    prod, _stage, config = clusters
    prod.add_deployment("default", "web", "nginx:1", replicas=3)
    source = make_source(config)
    try:
        before = workload(source, "web")
        planned, result, lines = act(source, runner, "restart", before)
        after = workload(source, "web")
    finally:
        source.close()
    assert result.ok and "successfully rolled out" in result.message
    assert after.revision == "2" and after.images == ("nginx:1",)
    text = "\n".join(detail for _step, detail in lines)
    assert 'Waiting for deployment "web" rollout to finish' in text
    assert re.search(r"new ReplicaSet web-\w+ \(revision 2\): \d/\d ready; old ReplicaSets: ", text)
    assert 'deployment "web" successfully rolled out' in text
    steps = "\n".join(planned.plan.steps)
    assert "kubectl --context prod -n default rollout restart deployment/web" in steps
    assert (
        "PATCH /apis/apps/v1/namespaces/default/deployments/web?fieldManager=kubectl-rollout"
        in steps
    )
    (entry,) = store.audit_entries()
    assert (entry.action, entry.kind, entry.target, entry.result) == (
        "restart",
        "deployment",
        "web",
        "ok",
    )
    assert [s for _at, s, _d in entry.steps][:2] == ["patch", "sent"]
    assert not store.deployments()  # a restart is not a deployment (as for a container)


def test_restart_of_a_paused_deployment_is_refused_in_kubectls_words(clusters):
    prod, _stage, config = clusters
    prod.add_deployment("default", "web", "nginx:1")
    source = make_source(config)
    try:
        target = workload(source, "web")
        deploy = prod.deployment("default", "web")
        deploy["spec"]["paused"] = True
        prod.store.update("deployments", deploy)
        with pytest.raises(ActionError, match=r"can't restart paused deployment \(run rollout"):
            KubeActions(source).plan("restart", target, None)
    finally:
        source.close()
    assert not prod.calls("PATCH")


def test_a_failing_image_with_auto_undo_is_undone_and_the_audit_says_so(clusters, runner, store):
    prod, _stage, config = clusters
    prod.add_deployment("default", "web", "nginx:1", replicas=2, progress_deadline=1)
    source = make_source(config, auto_undo=True)
    try:
        target = workload(source, "web")
        planned = KubeActions(source).plan("set-image", target, "nginx:fail-2")
        assert any("undo it to revision 1 (auto_undo = true)" in s for s in planned.plan.steps)
        with pytest.raises(ActionError) as caught:
            act(source, runner, "set-image", target, "nginx:fail-2")
        after = workload(source, "web")
    finally:
        source.close()
    assert caught.value.rolled_back
    assert "exceeded its progress deadline" in str(caught.value)
    assert "undone automatically (auto_undo)" in str(caught.value)
    assert after.images == ("nginx:1",) and after.revision == "3"
    undo = prod.calls("PATCH")[-1]
    assert undo.content_type == "application/json-patch+json"
    (entry,) = store.audit_entries()
    assert entry.result == "rolled back" and "auto_undo" in entry.error
    assert "auto-undo" in [s for _at, s, _d in entry.steps]
    (deploy,) = store.deployments()
    assert (deploy.result, deploy.source) == ("rolled back", "deployment-set-image")


def test_a_failing_image_without_auto_undo_is_reported_failed(clusters, runner, store):
    prod, _stage, config = clusters
    prod.add_deployment("default", "web", "nginx:1", replicas=2, progress_deadline=1)
    source = make_source(config)
    try:
        with pytest.raises(ActionError) as caught:
            act(source, runner, "set-image", workload(source, "web"), "web=nginx:fail")
        record = source.current("Deployment", "default", "web")
    finally:
        source.close()
    assert not caught.value.rolled_back
    assert 'deployment "web" exceeded its progress deadline' in str(caught.value)
    assert "auto_undo is off" in str(caught.value)
    assert record.rollout is RolloutState.FAILED and record.images == ("nginx:fail",)
    assert len(prod.calls("PATCH")) == 1  # nothing was undone
    (entry,) = store.audit_entries()
    assert entry.result == "failed"


def test_undo_to_a_picked_revision(clusters, runner, store):
    prod, _stage, config = clusters
    prod.add_deployment("default", "web", "nginx:1", replicas=2)
    source = make_source(config)
    try:
        act(source, runner, "set-image", workload(source, "web"), "nginx:2")
        act(source, runner, "set-image", workload(source, "web"), "nginx:3")
        current = workload(source, "web")
        assert current.revision == "3"
        with pytest.raises(ActionError, match="already at revision 3"):
            KubeActions(source).plan("undo", current, "3")
        with pytest.raises(ActionError, match="unable to find specified revision 9 in history"):
            KubeActions(source).plan("undo", current, "9")
        planned, result, _lines = act(source, runner, "undo", current, "1")
        after = workload(source, "web")
    finally:
        source.close()
    assert planned.plan.old_image == "web=nginx:3" and planned.plan.new_image == "web=nginx:1"
    assert "back from revision 3 to revision 1" in planned.plan.steps[0]
    assert result.ok and after.images == ("nginx:1",) and after.revision == "4"
    kinds = [(d.source, d.result, d.version) for d in store.deployments()]
    assert kinds == [
        # the version as the DORA watcher names it (images here), so it counts once
        ("deployment-undo", "success", "nginx:1"),
        ("deployment-set-image", "success", "nginx:3"),
        ("deployment-set-image", "success", "nginx:2"),
    ]


def test_scale_down_and_zero_needs_the_name(clusters, runner):
    prod, _stage, config = clusters
    prod.add_deployment("default", "web", "nginx:1", replicas=3)
    source = make_source(config)
    try:
        target = workload(source, "web")
        with pytest.raises(NeedsValue, match=r"Replicas for deployment/web \(now 3\)"):
            KubeActions(source).plan("scale", target, None)
        zero = KubeActions(source).plan("scale", target, "0")
        assert "type its name" in zero.typed_reason
        assert KubeActions(source).plan("scale", target, "2").typed_reason == ""
        _planned, result, _lines = act(source, runner, "scale", target, "1")
        after = source.current("Deployment", "default", "web")
    finally:
        source.close()
    assert result.ok
    assert (after.desired, after.ready) == (1, 1)
    assert len(prod.store.list("pods")[1]) == 1


def test_a_deleted_pod_is_recreated(clusters, runner):
    prod, _stage, config = clusters
    prod.add_deployment("default", "web", "nginx:1", replicas=2)
    source = make_source(config)
    try:
        workload(source, "web")
        pod: KubePod = source.poll().pods[0]
        planned, result, _lines = act(source, runner, "delete", pod)
        names = {p.name for p in source.poll().pods}
    finally:
        source.close()
    assert "kubectl --context prod -n default delete pod " + pod.name in planned.plan.steps[1]
    assert result.ok and "recreated it: 2/2 ready" in result.message
    assert pod.name not in names and len(names) == 2


def test_an_unfinished_action_says_what_the_workload_does(clusters, runner, store, monkeypatch):
    """What the next start finds of an action whose opsdash died: its audit row
    (written when confirmed) and the facts to say where the workload is."""
    prod, _stage, config = clusters
    prod.add_deployment("default", "web", "nginx:1")
    source = make_source(config)
    try:
        target = workload(source, "web")
        planned = KubeActions(source).plan("set-image", target, "nginx:2")
        journal = runner._begin(planned.plan, None)  # confirmed, then killed before the patch
        planned.run(planned.plan, _Dies(journal.store, journal.audit_id), lambda _q: False)
    except _Killed:
        pass
    try:
        (row,) = store.unfinished_actions()
        assert row.audit.result == "running" and row.audit.target == "web"
        assert row.facts["workload_kind"] == "Deployment" and row.facts["revision_before"] == "1"
        assert interrupted_state(source, row.facts) == (
            'deployment/web: revision 1, complete: deployment "web" successfully rolled out'
        )
        from opsdash.actions import recovery

        monkeypatch.setattr(
            recovery, "_alive", lambda _row, _store=None: False
        )  # its opsdash is gone
        (item,) = recovery.find_interrupted(store, {}, {"prod": source})
        assert item.now == (
            "Kubernetes carries a started rollout on by itself; now deployment/web: revision 1,"
            ' complete: deployment "web" successfully rolled out'
        )
        assert item.repair == recovery.CLOSE and item.last_step == "patch"
    finally:
        source.close()


class _Killed(Exception):
    pass


class _Dies(ActionJournal):
    """A journal whose process dies at the patch step (after its facts are noted)."""

    def __call__(self, step, detail):
        super().__call__(step, detail)
        if step == "patch":
            raise _Killed


def test_no_token_reaches_an_error_or_the_audit(clusters, runner, store):
    prod, _stage, config = clusters
    prod.add_deployment("default", "web", "nginx:1")
    source = make_source(config)
    try:
        planned = KubeActions(source).plan("restart", workload(source, "web"), None)
        prod.token = "rotated"  # the patch is refused: 401
        with pytest.raises(ActionError) as caught:
            runner.execute_journaled(
                planned.plan, lambda journal: planned.run(planned.plan, journal, lambda _q: False)
            )
    finally:
        prod.token = PROD_TOKEN
        source.close()
    assert "401" in str(caught.value)
    (entry,) = store.audit_entries()
    text = repr(store.audit_entries()) + str(caught.value) + repr(entry.steps)
    assert PROD_TOKEN not in text and STAGE_TOKEN not in text


@needs_kubectl
@pytest.mark.parametrize(
    ("kind", "ref", "add"),
    [
        ("StatefulSet", "sts/db", lambda s: s.add_statefulset("default", "db", "pg:1", 2)),
        ("DaemonSet", "ds/db", lambda s: s.add_daemonset("default", "db", "pg:1")),
    ],
)
def test_statefulsets_and_daemonsets_restart_and_set_image_as_kubectl_does(
    clusters, runner, kind, ref, add
):
    prod, stage, config = clusters
    for server in (prod, stage):
        add(server)
    source = make_source(config)

    def ready(image: str):
        def check():
            w = workload(source, "db")
            return w if w.kind == kind and w.images == (image,) else None

        return sync_wait(check, timeout=30)

    try:
        kubectl(config, "staging", "set", "image", ref, "db=pg:2")
        _plan, result, _ = act(source, runner, "set-image", ready("pg:1"), "pg:2")
        assert result.ok, result.message
        assert request(prod.calls("PATCH")[-1]) == request(stage.calls("PATCH")[-1])
        kubectl(config, "staging", "rollout", "restart", ref)
        _, result, _ = act(source, runner, "restart", ready("pg:2"))
        assert result.ok, result.message
        ours, theirs = prod.calls("PATCH")[-1], stage.calls("PATCH")[-1]
        assert request(ours)[:4] == request(theirs)[:4]
        assert ours.query == {"fieldManager": "kubectl-rollout"}
        assert ready("pg:2").rollout is RolloutState.COMPLETE
    finally:
        source.close()
