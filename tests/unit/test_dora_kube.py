"""The Kubernetes watcher: ClusterSnapshots through record_events into a real store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from opsdash.config import Config, ServiceConfig
from opsdash.dora import kube_events
from opsdash.dora.keys import compute_keys
from opsdash.dora.source import DoraSource
from opsdash.dora.watcher import record_events
from opsdash.model.kube import (
    ClusterSnapshot,
    Condition,
    KubePod,
    KubeWorkload,
    PodContainer,
    RolloutState,
)
from opsdash.services import service_of_workload
from opsdash.store import DeploymentEvent

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LABEL = "kubernetes:prod"
SELECTOR = (("app.kubernetes.io/name", "web"),)
NO_SERVICES = Config(path=None)


def web(revision="1", image="shop/web:v1", rollout=RolloutState.COMPLETE, **kw) -> KubeWorkload:
    return KubeWorkload(
        context="prod",
        kind=kw.pop("kind", "Deployment"),
        namespace="shop",
        name=kw.pop("name", "web"),
        uid="0123456789ab",
        desired=kw.pop("desired", 2),
        ready=2,
        updated=2,
        available=kw.pop("available", 2),
        containers=(("web", image),),
        revision=revision,
        generation=int(revision) if revision.isdigit() else 1,
        observed_generation=int(revision) if revision.isdigit() else 1,
        rollout=rollout,
        selector=kw.pop("selector", SELECTOR),
        **kw,
    )


def pod(reason="", ready=True, last_reason="", name="web-5d9c7-abcde") -> KubePod:
    container = PodContainer(
        "web",
        "shop/web:v1",
        ready=ready,
        restarts=3 if reason or last_reason else 0,
        state="waiting" if reason else "running",
        reason=reason,
        last_reason=last_reason,
    )
    return KubePod(
        "prod",
        "shop",
        name,
        "uid-p",
        "Running",
        (container,),
        labels=SELECTOR,
        owner="ReplicaSet/x",
    )


def cluster(*workloads, pods=()) -> ClusterSnapshot:
    return ClusterSnapshot(
        context="prod",
        source=LABEL,
        namespaces=(),
        workloads=tuple(workloads),
        pods=tuple(pods),
        taken_at=NOW,
        kube_context="prod-ctx",
    )


def feed(store, snapshot, at, config=NO_SERVICES, acting=()):
    return record_events(store, config, LABEL, snapshot, at, acting=acting)


def test_new_revision_is_one_deploy_and_the_same_snapshot_is_nothing(new_store, tmp_path):
    store = new_store()
    assert feed(store, cluster(web()), NOW) == []  # first sight: known, not a deploy
    later = NOW + timedelta(hours=1)
    rolling = cluster(web("2", "shop/web:v2", RolloutState.PROGRESSING))
    assert feed(store, rolling, later) == []  # counted once its rollout finishes
    done = cluster(web("2", "shop/web:v2"))
    assert feed(store, done, later + timedelta(minutes=2)) == ["deploy web shop/web:v2"]
    assert feed(store, done, later + timedelta(minutes=3)) == []  # the same object
    assert feed(store, cluster(web("2", "shop/web:v2")), later + timedelta(minutes=4)) == []
    (event,) = store.deployments()
    assert (event.service, event.version, event.result, event.source, event.image) == (
        "web",
        "shop/web:v2",
        "success",
        "kubernetes",
        "shop/web:v2",
    )
    assert event.external_id == "kube:prod-ctx/Deployment/shop/web@2#01234567"
    assert event.at == later.isoformat()  # its rollout began


def test_a_restart_of_the_watcher_or_a_second_one_counts_it_once(new_store):
    store = new_store()
    feed(store, cluster(web()), NOW)
    other = new_store()  # a second opsdash on the same store
    feed(other, cluster(web()), NOW)
    done = cluster(web("2", "shop/web:v2"))
    at = NOW + timedelta(hours=1)
    assert feed(store, done, at) == ["deploy web shop/web:v2"]
    assert feed(other, done, at + timedelta(seconds=30)) == []
    store.close()
    store = new_store()  # opsdash restarted
    assert feed(store, done, at + timedelta(minutes=5)) == []
    assert len(store.deployments()) == 1
    # Both saw the rollout under way: still one.
    rolling = cluster(web("3", "shop/web:v3", RolloutState.PROGRESSING))
    feed(store, rolling, at + timedelta(hours=1))
    feed(other, rolling, at + timedelta(hours=1))
    third = cluster(web("3", "shop/web:v3"))
    feed(other, third, at + timedelta(hours=1, minutes=1))
    feed(store, third, at + timedelta(hours=1, minutes=1))
    assert [e.version for e in store.deployments()] == ["shop/web:v3", "shop/web:v2"]


def test_a_change_while_away_is_counted_at_its_rollout_time(new_store, tmp_path):
    store = new_store()
    feed(store, cluster(web()), NOW)
    store.close()
    store = new_store()
    finished = NOW + timedelta(hours=2)
    condition = Condition("Progressing", "True", "NewReplicaSetAvailable", updated=finished)
    back = NOW + timedelta(hours=5)
    assert feed(store, cluster(web("4", "shop/web:v4", conditions=(condition,))), back) == [
        "deploy web shop/web:v4"
    ]
    assert store.deployments()[0].at == finished.isoformat()


def test_restart_with_the_same_images_is_not_a_deploy(new_store, tmp_path):
    store = new_store()
    feed(store, cluster(web()), NOW)
    assert feed(store, cluster(web("2")), NOW + timedelta(minutes=1)) == []
    # the spec seen before its revision: wait for the revision
    early = web("2", "shop/web:v2")
    assert feed(store, cluster(early), NOW + timedelta(minutes=2)) == []
    assert feed(store, cluster(web("3", "shop/web:v2")), NOW + timedelta(minutes=3)) == [
        "deploy web shop/web:v2"
    ]


def test_failed_rollout_then_undo(new_store, tmp_path):
    store = new_store()
    feed(store, cluster(web()), NOW)
    t1 = NOW + timedelta(hours=1)
    assert feed(store, cluster(web("2", "shop/web:v2", RolloutState.FAILED)), t1) == [
        "deploy web shop/web:v2 (failed)"
    ]
    t2 = t1 + timedelta(minutes=20)
    assert feed(store, cluster(web("3", "shop/web:v1")), t2) == ["deploy web shop/web:v1"]
    rollback, failed = store.deployments()
    assert (failed.result, failed.source) == ("failed", "kubernetes")
    assert (rollback.result, rollback.source, rollback.version) == (
        "success",
        "kubernetes-rollback",
        "shop/web:v1",
    )
    keys = compute_keys(DoraSource(NO_SERVICES, store).deploys(t2), {}, [], t2, 30).current
    assert keys.deploys == 2
    assert keys.change_failure_rate == 0.5
    assert keys.recovery_time == timedelta(minutes=20)


def test_undo_of_a_good_revision_fails_it_and_an_unfinished_one_is_rolled_back(new_store, tmp_path):
    store = new_store()
    feed(store, cluster(web()), NOW)
    t1 = NOW + timedelta(hours=1)
    feed(store, cluster(web("2", "shop/web:v2")), t1)
    t2 = t1 + timedelta(minutes=10)
    assert feed(store, cluster(web("3", "shop/web:v1")), t2) == ["deploy web shop/web:v1"]
    t3 = t2 + timedelta(hours=1)
    feed(store, cluster(web("4", "shop/web:v5", RolloutState.PROGRESSING)), t3)
    t4 = t3 + timedelta(minutes=3)
    assert feed(store, cluster(web("5", "shop/web:v1", RolloutState.PROGRESSING)), t4) == [
        "deploy web shop/web:v5 (rolled back)"
    ]
    assert feed(store, cluster(web("5", "shop/web:v1")), t4 + timedelta(minutes=1)) == [
        "deploy web shop/web:v1"
    ]
    assert [(e.version, e.result, e.source) for e in store.deployments()] == [
        ("shop/web:v1", "success", "kubernetes-rollback"),
        ("shop/web:v5", "rolled back", "kubernetes"),
        ("shop/web:v1", "success", "kubernetes-rollback"),
        ("shop/web:v2", "success", "kubernetes"),
    ]
    now = t4 + timedelta(minutes=2)
    keys = compute_keys(DoraSource(NO_SERVICES, store).deploys(now), {}, [], now, 30).current
    assert (keys.deploys, keys.change_failure_rate) == (4, 0.5)
    assert keys.recovery_time == timedelta(minutes=(10 + 3) / 2)  # from when each rollout began


def test_statefulset_undo_returns_to_an_old_hash_and_is_still_recorded(new_store, tmp_path):
    store = new_store()

    def sts(revision, image, generation):
        return replace(web(revision, image, kind="StatefulSet", name="db"), generation=generation)

    feed(store, cluster(sts("aaa", "pg:16.1", 1)), NOW)
    feed(store, cluster(sts("bbb", "pg:16.2", 2)), NOW + timedelta(hours=1))
    feed(store, cluster(sts("aaa", "pg:16.1", 3)), NOW + timedelta(hours=2))
    ids = [e.external_id for e in store.deployments()]
    assert ids == [
        "kube:prod-ctx/StatefulSet/shop/db@aaa.3#01234567",
        "kube:prod-ctx/StatefulSet/shop/db@bbb.2#01234567",
    ]


def test_own_action_is_not_counted_twice(new_store, tmp_path):
    store = new_store()
    feed(store, cluster(web()), NOW)
    at = NOW + timedelta(hours=1)
    done = cluster(web("2", "shop/web:v2"))
    assert feed(store, done, at, acting={"web"}) == []  # the action is still running
    store.add_deployment(
        DeploymentEvent(
            at.isoformat(),
            "web",
            "prod",
            "app",
            "shop/web:v2",
            "",
            "success",
            "deployment-set-image",
            version=kube_events.workload_version(done.workloads[0]),
        )
    )
    assert feed(store, done, at + timedelta(seconds=20)) == []
    assert [e.source for e in store.deployments()] == ["deployment-set-image"]


def test_version_names_a_commit_when_it_can():
    assert kube_events.workload_version(web(image="reg:5000/shop/web:ABC1234")) == "abc1234"
    labelled = web(image="shop/web:latest", labels=(("app.kubernetes.io/version", "1.4.2"),))
    assert kube_events.workload_version(labelled) == "1.4.2"
    assert kube_events.workload_version(web(image="web@sha256:" + "f" * 64)) == (
        "web@sha256:" + "f" * 64
    )
    assert kube_events.image_tag("localhost:5000/web") == ""


def test_running_commit_is_kept_for_lead_time(new_store, tmp_path):
    store = new_store()
    feed(store, cluster(web(image="shop/web:0123abcd")), NOW)
    assert store.watched_versions_of("web", "container") == [("0123abcd", NOW.isoformat())]


def test_crash_loop_opens_an_issue_that_closes_when_it_is_over(new_store, tmp_path):
    store = new_store()
    feed(store, cluster(web()), NOW)
    sick = cluster(web(available=1), pods=[pod("CrashLoopBackOff", ready=False)])
    assert feed(store, sick, NOW + timedelta(minutes=1)) == [
        "issue web: web-5d9c7-abcde CrashLoopBackOff"
    ]
    between = cluster(web(available=1), pods=[pod(ready=True, last_reason="Error")])
    well = NOW + timedelta(minutes=10)
    assert feed(store, between, well) == []  # clear, not for long yet
    assert feed(store, sick, well + timedelta(seconds=30)) == []  # the same issue goes on
    healthy = cluster(web(), pods=[pod()])
    clear = well + timedelta(minutes=2)
    assert feed(store, healthy, clear) == []
    assert feed(store, healthy, clear + timedelta(minutes=2)) == ["recovered web"]
    assert feed(store, healthy, clear + timedelta(minutes=3)) == []
    (issue,) = store.health_issues()
    assert (issue.service, issue.source, issue.reason, issue.end) == (
        "web",
        LABEL,
        "web-5d9c7-abcde CrashLoopBackOff",
        clear.isoformat(),
    )
    assert issue.start == (NOW + timedelta(minutes=1)).isoformat()


def test_short_of_replicas_past_the_grace_is_an_issue(new_store, tmp_path):
    store = new_store()
    short = cluster(web(available=1))
    assert feed(store, short, NOW) == []
    assert feed(store, short, NOW + timedelta(seconds=30)) == []
    assert feed(store, short, NOW + timedelta(minutes=2)) == ["issue web: web 1/2 available"]
    assert store.health_issues()[0].start == NOW.isoformat()
    rolling = cluster(web("2", "shop/web:v2", RolloutState.PROGRESSING, available=1))
    assert feed(store, rolling, NOW + timedelta(minutes=3)) == []  # its rollout: not more
    gone = cluster()
    assert feed(store, gone, NOW + timedelta(minutes=5)) == ["recovered web (gone)"]


def test_health_and_deploys_feed_the_keys(new_store, tmp_path):
    store = new_store()
    feed(store, cluster(web()), NOW)
    t1 = NOW + timedelta(hours=1)
    feed(store, cluster(web("2", "shop/web:v2")), t1)
    t2 = t1 + timedelta(minutes=5)
    feed(store, cluster(web("2", "shop/web:v2"), pods=[pod("OOMKilled", ready=False)]), t2)
    feed(
        store,
        cluster(web("2", "shop/web:v2"), pods=[pod(last_reason="OOMKilled", ready=False)]),
        t2,
    )
    t3 = t2 + timedelta(minutes=30)
    feed(store, cluster(web("2", "shop/web:v2"), pods=[pod()]), t3)
    feed(store, cluster(web("2", "shop/web:v2"), pods=[pod()]), t3 + timedelta(minutes=5))
    source = DoraSource(NO_SERVICES, store)
    now = t3 + timedelta(minutes=10)
    keys = compute_keys(source.deploys(now), {}, source.issues(), now, 30).current
    assert (keys.deploys, keys.change_failure_rate) == (1, 1.0)
    assert keys.recovery_time == timedelta(minutes=30)


def test_service_matches_workloads_by_name_and_label(new_store, tmp_path):
    by_label = ServiceConfig(name="shop", match_label="app.kubernetes.io/name=web")
    by_name = ServiceConfig(name="payments", match_name="shop/pay-*")
    config = Config(path=None, services=(by_name, by_label))
    assert service_of_workload(config, web()) == "shop"  # the selector's label
    pay = web(name="pay-api", labels=(("app.kubernetes.io/name", "pay"),))
    assert service_of_workload(config, pay) == "payments"
    assert service_of_workload(config, web(name="other", selector=())) == "other"
    store = new_store()
    feed(store, cluster(web(), pay), NOW, config)
    feed(store, cluster(web("2", "shop/web:v2"), pay), NOW + timedelta(hours=1), config)
    feed(
        store,
        cluster(
            web("2", "shop/web:v2"), replace(pay, revision="2", containers=(("api", "pay:2"),))
        ),
        NOW + timedelta(hours=2),
        config,
    )
    assert [(e.service, e.version) for e in store.deployments()] == [
        ("payments", "pay:2"),
        ("shop", "shop/web:v2"),
    ]


def test_an_unchanged_cluster_reads_nothing_back(new_store, tmp_path, monkeypatch):
    store = new_store()
    snapshot = cluster(web(), web(name="api"), pods=[pod()])
    feed(store, snapshot, NOW)
    feed(store, snapshot, NOW + timedelta(minutes=2))  # the clear grace passes

    def no_reads(*_args, **_kw):
        raise AssertionError("read the store for an unchanged workload")

    monkeypatch.setattr(store, "watched_version", no_reads)
    monkeypatch.setattr(store, "open_issue", no_reads)
    monkeypatch.setattr(store, "close_issue", no_reads)
    assert feed(store, snapshot, NOW + timedelta(minutes=3)) == []  # the same object
    # a new snapshot with the same workloads: their versions are not read again
    monkeypatch.undo()
    monkeypatch.setattr(store, "watched_version", no_reads)
    again = cluster(web(), web(name="api"), pods=[pod()])
    assert feed(store, again, NOW + timedelta(minutes=4)) == []
