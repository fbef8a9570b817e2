"""The kubernetes source against the API emulator (devstack.kube) over TLS with a
kubeconfig of two contexts: list once, then watch; 410 re-lists; a dead API
server is an error that recovers by itself; a token never reaches a message."""

from __future__ import annotations

import os

import pytest

from devstack.kube import KubeApiServer, write_kubeconfig
from opsdash.model.kube import ClusterSnapshot, RolloutState
from opsdash.sources.base import Detection, SourceError
from opsdash.sources.kube_api import KubeError
from opsdash.sources.kubernetes import KubernetesConfig, KubernetesSource
from tests.pilot import sync_wait


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("kube-tls")


@pytest.fixture
def clusters(tls_dir):
    with (
        KubeApiServer(token="prod-secret-token-0001", ready_delay=0.05, tls_dir=tls_dir) as prod,
        KubeApiServer(token="staging-secret-token-02", ready_delay=0.05, tls_dir=tls_dir) as stg,
    ):
        yield prod, stg


@pytest.fixture
def kubeconfig(tmp_path, clusters):
    prod, staging = clusters
    return write_kubeconfig(tmp_path / "config", {"prod": prod, "staging": staging})


def source_for(kubeconfig, context: str, **kw) -> KubernetesSource:
    config = KubernetesConfig(name=context, context=context, kubeconfig=str(kubeconfig), **kw)
    return KubernetesSource(config, environ={})


def poll_until(source: KubernetesSource, predicate, timeout: float = 15.0) -> ClusterSnapshot:
    def ready():
        try:
            snapshot = source.poll()
        except SourceError:
            return None
        return snapshot if predicate(snapshot) else None

    return sync_wait(ready, timeout=timeout)


def test_two_contexts_show_their_own_workloads_and_pods(clusters, kubeconfig):
    prod, staging = clusters
    prod.add_deployment("default", "web", "acc/web:1", replicas=2)
    staging.add_deployment("default", "api", "acc/api:1", replicas=1)
    sources = [source_for(kubeconfig, "prod"), source_for(kubeconfig, "staging")]
    try:
        snap_prod = poll_until(sources[0], lambda s: any(w.ready == 2 for w in s.workloads))
        snap_stg = poll_until(sources[1], lambda s: any(w.ready == 1 for w in s.workloads))
    finally:
        for s in sources:
            s.close()
    (web,) = snap_prod.workloads
    assert (web.context, web.kind, web.name, web.desired, web.images) == (
        "prod",
        "Deployment",
        "web",
        2,
        ("acc/web:1",),
    )
    assert web.rollout is RolloutState.COMPLETE
    assert web.revision == "1"
    assert len(snap_prod.pods_of(web)) == 2
    assert [w.name for w in snap_stg.workloads] == ["api"]
    assert snap_prod.server.startswith("https://127.0.0.1:")


def test_changes_arrive_by_watch_without_listing_again(clusters, kubeconfig):
    prod, _ = clusters
    prod.add_deployment("default", "web", "acc/web:1", replicas=1)
    source = source_for(kubeconfig, "prod")
    try:
        poll_until(source, lambda s: s.workloads and s.workloads[0].ready == 1)
        lists = source.watch_stats()["lists"]
        first = source.poll()
        assert source.poll() is first  # nothing changed: the same snapshot, no work
        prod.add_deployment("default", "api", "acc/api:1", replicas=3)
        snap = poll_until(
            source, lambda s: any(w.name == "api" and w.ready == 3 for w in s.workloads)
        )
        assert source.watch_stats()["lists"] == lists
        assert len(snap.pods) == 4
    finally:
        source.close()


def test_a_compacted_history_relists_once(clusters, kubeconfig):
    prod, _ = clusters
    prod.add_deployment("default", "web", "acc/web:1", replicas=1)
    source = source_for(kubeconfig, "prod", namespaces=("default",))
    try:
        poll_until(source, lambda s: s.workloads and s.workloads[0].ready == 1)
        lists = source.watch_stats()["lists"]
        prod.stop()  # while nobody watches, a change, then compaction:
        prod.add_deployment("default", "api", "acc/api:1", replicas=1)
        prod.store.compact()  # the versions the watches hold are now too old: 410 Gone
        prod.start()
        poll_until(source, lambda s: any(w.name == "api" for w in s.workloads), timeout=60)
        assert source.watch_stats()["lists"] == 2 * lists  # once more per watch, no more
    finally:
        source.close()


def test_a_dead_api_server_is_an_error_that_recovers(clusters, kubeconfig):
    prod, _ = clusters
    prod.add_deployment("default", "web", "acc/web:1", replicas=1)
    source = source_for(kubeconfig, "prod", timeout=2.0)
    try:
        poll_until(source, lambda s: s.workloads and s.workloads[0].ready == 1)
        prod.stop()

        def failing():
            try:
                source.poll()
            except SourceError as exc:
                return str(exc)
            return None

        message = sync_wait(failing, timeout=20)
        assert "prod-secret-token" not in message
        prod.start()
        prod.add_deployment("default", "api", "acc/api:1", replicas=1)
        poll_until(source, lambda s: any(w.name == "api" for w in s.workloads), timeout=60)
    finally:
        source.close()


def test_a_refused_token_says_so_without_the_token(clusters, tmp_path):
    prod, _ = clusters
    prod.token = "rotated-token-9999999"
    config = write_kubeconfig(tmp_path / "config", {"prod": prod})
    prod.token = "prod-secret-token-0001"
    source = source_for(config, "prod", timeout=2.0)
    try:
        with pytest.raises(SourceError) as caught:
            source.poll()
    finally:
        source.close()
    assert "401" in str(caught.value)
    assert "rotated-token" not in str(caught.value)


def test_autodetection_takes_the_current_context_of_merged_files(clusters, tmp_path):
    prod, staging = clusters
    first = write_kubeconfig(tmp_path / "a", {"staging": staging})
    second = write_kubeconfig(tmp_path / "b", {"prod": prod, "staging": prod})
    env = {"KUBECONFIG": os.pathsep.join([str(first), str(second)]), "HOME": str(tmp_path)}
    (config,) = KubernetesSource.autodetect(Detection(environ=env))
    assert config.context == "staging"  # the first file's current-context wins
    staging.add_deployment("default", "only-in-staging", "acc/x:1")
    source = KubernetesSource(config, environ=env)
    try:
        snap = poll_until(source, lambda s: bool(s.workloads))
    finally:
        source.close()
    assert [w.name for w in snap.workloads] == ["only-in-staging"]  # the first file's cluster


def test_no_kubeconfig_detects_nothing(tmp_path):
    assert KubernetesSource.autodetect(Detection(environ={"HOME": str(tmp_path)})) == ()


def test_in_cluster_reads_the_service_account_and_rereads_a_rotated_token(
    clusters, tmp_path, monkeypatch
):
    prod, _ = clusters
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(prod.token + "\n")  # kubelet's files end in a newline
    (account / "ca.crt").write_bytes(prod.ca_file.read_bytes())
    (account / "namespace").write_text("default")
    monkeypatch.setattr("opsdash.sources.kubeconfig.SERVICE_ACCOUNT", account)
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(prod.port)}
    (config,) = KubernetesSource.autodetect(Detection(environ={**env, "HOME": str(tmp_path)}))
    assert config.in_cluster
    prod.add_deployment("default", "web", "acc/web:1")
    source = KubernetesSource(config, environ=env)
    try:
        poll_until(source, lambda s: bool(s.workloads))
        prod.stop()  # every watch must reconnect, with the token it has
        prod.token = "rotated-service-account-token"
        (account / "token").write_text(prod.token + "\n")
        prod.start()
        prod.add_deployment("default", "api", "acc/api:1")
        poll_until(source, lambda s: any(w.name == "api" for w in s.workloads), timeout=60)
    finally:
        source.close()


def test_quiet_watches_are_checked_so_a_hung_server_is_an_error(clusters, kubeconfig, monkeypatch):
    prod, _ = clusters
    prod.add_deployment("default", "web", "acc/web:1")
    source = source_for(kubeconfig, "prod")
    try:
        poll_until(source, lambda s: bool(s.workloads))
        monkeypatch.setattr("opsdash.sources.kubernetes.QUIET_SECONDS", 0.0)
        asked = []
        real_get = source.api.get

        async def hung(path, params=None):
            if path == "/version":
                asked.append(path)
                raise KubeError("GET /version: no answer within 10s")
            return await real_get(path, params)

        monkeypatch.setattr(source.api, "get", hung)
        with pytest.raises(SourceError, match="no answer"):
            source.poll()
        assert asked == ["/version"]
        monkeypatch.setattr(source.api, "get", real_get)
        assert [w.name for w in source.poll().workloads] == ["web"]  # answered: ok again
    finally:
        source.close()
