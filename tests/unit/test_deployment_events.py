"""record_events: deployments and health issues from poll data, into a real store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from opsdash.config import Config, ServiceConfig
from opsdash.dora.watcher import record_events
from opsdash.model import Container, DockerSnapshot, PipelineSnapshot, Service, VendorDeployment
from opsdash.model.ml import ModelRow, ModelsSnapshot, ThresholdState
from opsdash.store import DeploymentEvent

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SHOP = (("com.docker.compose.project", "shop"), ("com.docker.compose.service", "web"))


def web(image_id="sha256:aaa", created=NOW, **kw) -> Container:
    return Container(
        host="local",
        id=f"id-{image_id}",
        name="shop-web-1",
        image="shop/web:1",
        state=kw.pop("state", "running"),
        status="Up",
        created=created,
        labels=kw.pop("labels", SHOP),
        image_id=image_id,
        **kw,
    )


def docker(*containers, services=()) -> DockerSnapshot:
    return DockerSnapshot("local", tuple(containers), tuple(services))


def test_image_change_is_one_deployment_also_across_a_restart(new_store, tmp_path):
    config = Config(path=None)
    store = new_store()
    assert record_events(store, config, "docker:local", docker(web()), NOW) == []  # first sight
    later = NOW + timedelta(hours=1)
    changed = docker(web("sha256:bbb", created=later))
    assert record_events(store, config, "docker:local", changed, later) == [
        "deploy shop/web sha256:bbb"
    ]
    assert record_events(store, config, "docker:local", changed, later) == []  # seen
    store.close()
    store = new_store()  # opsdash restarted
    assert record_events(store, config, "docker:local", changed, later) == []
    (event,) = store.deployments()
    assert (event.service, event.version, event.source, event.at) == (
        "shop/web",
        "sha256:bbb",
        "docker",
        later.isoformat(),
    )
    third = NOW + timedelta(hours=5)  # changed while opsdash was not running
    record_events(store, config, "docker:local", docker(web("sha256:ccc", created=third)), third)
    assert [e.version for e in store.deployments()] == ["sha256:ccc", "sha256:bbb"]


def test_own_redeploy_is_not_counted_twice_and_oci_revision_wins(new_store, tmp_path):
    config = Config(path=None)
    store = new_store()
    record_events(store, config, "docker:local", docker(web()), NOW)
    at = NOW + timedelta(minutes=5)
    store.add_deployment(
        DeploymentEvent(
            at.isoformat(),
            "shop/web",
            "local",
            "app",
            "",
            "",
            "success",
            "container-redeploy",
            version="sha256:bbb",  # the runner records what the watcher will see
        )
    )
    record_events(store, config, "docker:local", docker(web("sha256:bbb", created=at)), at)
    assert [e.source for e in store.deployments()] == ["container-redeploy"]
    labels = (*SHOP, ("org.opencontainers.image.revision", "0123abcd"))
    later = NOW + timedelta(hours=2)
    record_events(
        store, config, "docker:local", docker(web("sha256:ccc", later, labels=labels)), later
    )
    assert store.deployments()[0].version == "0123abcd"


def test_trouble_opens_one_issue_and_recovery_closes_it(new_store, tmp_path):
    config = Config(
        path=None,
        services=(ServiceConfig(name="shop", match_label="com.docker.compose.project=shop"),),
    )
    store = new_store()
    sick = docker(web(health="unhealthy"))
    assert record_events(store, config, "docker:local", sick, NOW) == [
        "issue shop: shop-web-1 unhealthy"
    ]
    assert record_events(store, config, "docker:local", sick, NOW + timedelta(minutes=1)) == []
    well = NOW + timedelta(minutes=20)
    assert record_events(store, config, "docker:local", docker(web(health="healthy")), well) == [
        "recovered shop"
    ]
    (issue,) = store.health_issues()
    assert (issue.service, issue.reason, issue.end) == (
        "shop",
        "shop-web-1 unhealthy",
        well.isoformat(timespec="seconds"),
    )
    crashed = web(state="exited", exit_code=137, labels=(("app", "x"),))
    record_events(store, config, "docker:local", docker(replace(crashed, name="batch")), well)
    assert store.health_issues()[-1].reason == "batch exited 137"


def test_swarm_update_rollback_and_short_replicas(new_store, tmp_path):
    config = Config(path=None)
    store = new_store()

    def api(image, state="completed", running=2):
        return Service("local", "s1", "api", image, "replicated", running, 2, state, updated=NOW)

    record_events(store, config, "docker:local", docker(services=[api("api:1")]), NOW)
    record_events(store, config, "docker:local", docker(services=[api("api:2")]), NOW)
    record_events(
        store, config, "docker:local", docker(services=[api("api:1", "rollback_completed", 1)]), NOW
    )
    assert [(e.version, e.result) for e in store.deployments()] == [
        ("api:1", "rolled back"),
        ("api:2", "success"),
    ]
    assert store.health_issues()[0].reason == "api 1/2 replicas"


def test_alias_moved_outside_opsdash_and_breach(new_store, tmp_path):
    config = Config(path=None, services=(ServiceConfig(name="ml", models=("churn",)),))
    store = new_store()

    def snapshot(version, state=ThresholdState.OK):
        row = ModelRow(
            "mlflow:reg", "mlflow", "churn", "accuracy", version, 0.9, state=state, alias="champion"
        )
        return ModelsSnapshot("mlflow:reg", "mlflow", (row,))

    record_events(store, config, "mlflow:reg", snapshot("2"), NOW)
    assert record_events(
        store, config, "mlflow:reg", snapshot("3", ThresholdState.BREACH), NOW
    ) == [
        "deploy ml 3",
        "issue ml: churn accuracy breach",
    ]
    (event,) = store.deployments()
    assert (event.kind, event.service, event.version, event.source) == (
        "model",
        "ml",
        "3",
        "mlflow",
    )
    assert record_events(store, config, "mlflow:reg", snapshot("3"), NOW) == ["recovered ml"]


def test_vendor_deployments_land_under_the_configured_service(new_store, tmp_path):
    config = Config(path=None, services=(ServiceConfig(name="shop", pipelines=("api",)),))
    store = new_store()
    deployment = VendorDeployment(
        "run:7", "github:api", "acme/api", "production", "abc", NOW, "success"
    )
    data = PipelineSnapshot("github:api", "github", (), (deployment,))
    assert record_events(store, config, "github:api", data, NOW) == [
        "1 deployments from github:api"
    ]
    assert record_events(store, config, "github:api", data, NOW) == []
    assert store.deployments()[0].service == "shop"


def test_a_service_being_acted_on_waits_for_the_action_to_record_itself(new_store, tmp_path):
    """The alias moved by opsdash's own promote shows up before the runner records
    it: the watcher waits, then sees the runner's record and adds nothing."""
    config = Config(path=None)
    store = new_store()

    def snapshot(version):
        row = ModelRow("mlflow:reg", "mlflow", "churn", "accuracy", version, 0.9, alias="champion")
        return ModelsSnapshot("mlflow:reg", "mlflow", (row,))

    record_events(store, config, "mlflow:reg", snapshot("2"), NOW)
    assert record_events(store, config, "mlflow:reg", snapshot("3"), NOW, acting={"churn"}) == []
    store.add_deployment(
        DeploymentEvent(
            NOW.isoformat(),
            "churn",
            "mlflow:reg",
            "model",
            "",
            "",
            "success",
            "model-promote",
            "",
            "3",
        )
    )
    assert record_events(store, config, "mlflow:reg", snapshot("3"), NOW) == []
    assert [e.source for e in store.deployments()] == ["model-promote"]


def test_an_orchestrator_run_that_pushed_a_model_is_a_model_deployment(new_store, tmp_path):
    config = Config(
        path=None,
        services=(
            ServiceConfig(name="ml", pipelines=("ml",)),
            ServiceConfig(name="churn-svc", models=("churn",)),
        ),
    )
    store = new_store()

    def pushed(run_id, result="success", service="ml", kind="model", source="airflow:ml"):
        return VendorDeployment(
            f"run:train/{run_id}", source, service, "", run_id, NOW, result, kind=kind
        )

    data = PipelineSnapshot(
        "airflow:ml",
        "airflow",
        (),
        (pushed("r1"), pushed("r2", "failed"), pushed("r3", "running"), pushed("a1", kind="app")),
    )
    assert record_events(store, config, "airflow:ml", data, NOW) == [
        "3 deployments from airflow:ml"
    ]
    events = {e.external_id: e for e in store.deployments()}
    assert {k: (e.kind, e.result, e.service) for k, e in events.items()} == {
        "airflow:ml:run:train/r1": ("model", "success", "ml"),
        "airflow:ml:run:train/r2": ("model", "failed", "ml"),
        "airflow:ml:run:train/a1": ("app", "success", "ml"),
    }  # r3 is not final: recorded once it is, under the same id
    assert record_events(store, config, "airflow:ml", data, NOW) == []  # once per id

    # A table not listed in any `pipelines` whose `service` names a model: that model's service.
    other = PipelineSnapshot(
        "kubeflow:kfp", "kubeflow", (), (pushed("k1", service="churn", source="kubeflow:kfp"),)
    )
    record_events(store, config, "kubeflow:kfp", other, NOW)
    by_id = {e.external_id: e for e in store.deployments()}
    assert by_id["kubeflow:kfp:run:train/k1"].service == "churn-svc"
    assert by_id["kubeflow:kfp:run:train/k1"].kind == "model"
