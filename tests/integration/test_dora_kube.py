"""The Kubernetes watcher against the API emulator (devstack.kube): a set-image
rollout is one deploy, a rollout past its deadline a failed one with a health
issue, a return to the old image a rollback; the keys over them."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import httpx
import pytest

from devstack.kube import KubeApiServer, write_kubeconfig
from opsdash.config import Config, ServiceConfig
from opsdash.dora import kube_events
from opsdash.dora.keys import compute_keys
from opsdash.dora.source import DoraSource
from opsdash.dora.watcher import record_events
from opsdash.model.kube import RolloutState
from opsdash.sources.base import SourceError
from opsdash.sources.kubernetes import KubernetesConfig, KubernetesSource
from opsdash.store import Store
from tests.pilot import sync_wait

SMP = "application/strategic-merge-patch+json"
CONFIG = Config(path=None, services=(ServiceConfig(name="shop", match_label="app=web"),))


@pytest.fixture
def api():
    with KubeApiServer(token="dora-test-token-0001", ready_delay=0.05) as server:
        yield server


def set_image(api: KubeApiServer, image: str) -> None:
    body = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}
    response = httpx.patch(
        f"{api.url}/apis/apps/v1/namespaces/default/deployments/web",
        content=json.dumps(body),
        headers={**api.auth_headers, "Content-Type": SMP},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_rollouts_become_deploys_failures_and_a_rollback(api, tmp_path, monkeypatch):
    monkeypatch.setattr(kube_events, "CLEAR_GRACE", timedelta(seconds=0.5))
    api.add_deployment("default", "web", "shop/web:1", replicas=2, progress_deadline=1)
    kubeconfig = write_kubeconfig(tmp_path / "config", {"prod": api})
    source = KubernetesSource(
        KubernetesConfig(name="prod", context="prod", kubeconfig=str(kubeconfig)), environ={}
    )
    store = Store(tmp_path / "db")

    def poll_until(predicate):
        """Poll, record each snapshot, until the web workload satisfies `predicate`."""

        def step():
            try:
                snapshot = source.poll()
            except SourceError:
                return None
            record_events(store, CONFIG, "kubernetes:prod", snapshot)
            web = next((w for w in snapshot.workloads if w.name == "web"), None)
            return snapshot if web is not None and predicate(web) else None

        return sync_wait(step, timeout=20)

    try:
        poll_until(lambda w: w.rollout is RolloutState.COMPLETE and w.available == 2)
        assert store.deployments() == []  # first sight
        set_image(api, "shop/web:2")
        poll_until(lambda w: w.revision == "2" and w.rollout is RolloutState.COMPLETE)
        time.sleep(1.1)  # the store keeps seconds: one deploy a second, as on a cluster
        set_image(api, "registry.local/fail:3")
        poll_until(lambda w: w.rollout is RolloutState.FAILED)
        set_image(api, "shop/web:2")  # back to the template of revision 2
        poll_until(lambda w: w.revision == "4" and w.rollout is RolloutState.COMPLETE)

        def over():  # the failed pods are gone and the issue closed
            poll_until(lambda w: True)
            return all(i.end for i in store.health_issues())

        sync_wait(over, timeout=20)
    finally:
        source.close()
    events = store.deployments()
    assert [(e.service, e.version, e.result, e.source) for e in events] == [
        ("shop", "shop/web:2", "success", "kubernetes-rollback"),
        ("shop", "registry.local/fail:3", "failed", "kubernetes"),
        ("shop", "shop/web:2", "success", "kubernetes"),
    ]
    assert events[-1].external_id.startswith("kube:prod/Deployment/default/web@2#")
    (issue,) = store.health_issues()
    assert issue.service == "shop" and "ImagePullBackOff" in issue.reason
    dora = DoraSource(CONFIG, store)
    now = datetime.now().astimezone()
    keys = compute_keys(dora.deploys(now), {}, dora.issues(), now, 30).current
    assert keys.deploys == 3
    assert (keys.failed, keys.recovered, keys.ongoing) == (1, 1, 0)
    rollback_at = datetime.fromisoformat(events[0].at)
    assert keys.recovery_time == rollback_at - datetime.fromisoformat(events[1].at)
