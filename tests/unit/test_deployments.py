"""What the watchers record for the DORA keys: deployment events and health issues
from hand-built poll data, into a real store in a temporary directory."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from opsdash.config import Config, ServiceConfig
from opsdash.dora.ci_events import dora_result
from opsdash.dora.docker_events import container_version
from opsdash.dora.watcher import record_events
from opsdash.model import Container, DockerSnapshot, PipelineSnapshot, Service, VendorDeployment
from opsdash.model.ml import ModelRow, ModelsSnapshot, ThresholdState
from opsdash.store import DeploymentEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LABEL = "docker:prod"
NO_CONFIG = Config(path=None)


def compose(project: str, service: str, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return (
        ("com.docker.compose.project", project),
        ("com.docker.compose.service", service),
        *extra,
    )


def box(
    name: str = "shop-web-1",
    image_id: str = "sha256:" + "1" * 64,
    created: datetime = T0,
    *,
    labels: tuple[tuple[str, str], ...] | None = None,
    state: str = "running",
    **kw,
) -> Container:
    return Container(
        host="prod",
        id=f"{name}-{image_id[-6:]}-{created.timestamp():.0f}",
        name=name,
        image="registry.example/shop/web:1",
        state=state,
        status=kw.pop("status", "Up 5 minutes"),
        created=created,
        labels=compose("shop", "web") if labels is None else labels,
        image_id=image_id,
        **kw,
    )


def docker(*containers: Container, services: tuple[Service, ...] = ()) -> DockerSnapshot:
    return DockerSnapshot("prod", tuple(containers), services, swarm_manager=bool(services))


def swarm(image: str, state: str = "completed", running: int = 3, updated: datetime = T0):
    return Service("prod", "svc1", "api", image, "replicated", running, 3, state, updated=updated)


def model_rows(
    version: str,
    *,
    state: ThresholdState = ThresholdState.OK,
    changed: datetime | None = None,
    source: str = "mlflow:registry",
    kind: str = "mlflow",
) -> ModelsSnapshot:
    rows = tuple(
        ModelRow(
            source,
            kind,
            "churn",
            metric,
            version,
            0.5,
            state=state if metric == "auc" else ThresholdState.OK,
            alias="champion" if kind == "mlflow" else "",
            serving_changed_at=changed,
        )
        for metric in ("auc", "f1")
    )
    return ModelsSnapshot(source, kind, rows)


def new_id(digit: str) -> str:
    return "sha256:" + digit * 64


# --- containers ------------------------------------------------------------------------


def test_first_sight_is_remembered_and_a_new_image_is_one_deploy_also_after_a_restart(
    new_store, tmp_path
):
    store = new_store()
    assert record_events(store, NO_CONFIG, LABEL, docker(box()), T0) == []
    assert store.deployments() == []
    t1 = T0 + timedelta(hours=3)
    replaced = docker(box(image_id=new_id("2"), created=t1))
    assert record_events(store, NO_CONFIG, LABEL, replaced, t1 + timedelta(seconds=5)) == [
        f"deploy shop/web {new_id('2')[:19]}"
    ]
    for poll in range(3):
        assert record_events(store, NO_CONFIG, LABEL, replaced, t1 + timedelta(minutes=poll)) == []
    store.close()

    store = new_store()  # opsdash restarted on the same file
    assert record_events(store, NO_CONFIG, LABEL, replaced, t1 + timedelta(hours=1)) == []
    (event,) = store.deployments()
    assert event == DeploymentEvent(
        at=t1.isoformat(),
        service="shop/web",
        host="prod",
        kind="app",
        image="registry.example/shop/web:1",
        digest=new_id("2"),
        result="success",
        source="docker",
        environment="production",
        version=new_id("2"),
        external_id=f"docker:prod:shop/web:{new_id('2')}:{t1.isoformat()}",
    )
    store.close()


def test_oci_revision_is_the_version_and_one_revision_of_a_service_is_one_deploy(
    new_store, tmp_path
):
    config = Config(
        path=None,
        services=(
            ServiceConfig(
                name="shop", match_label="com.docker.compose.project=shop", environment="prod"
            ),
        ),
    )
    store = new_store()
    rev = ("org.opencontainers.image.revision", "a1b2c3d")
    web = box(labels=compose("shop", "web", rev))
    worker = box("shop-worker-1", new_id("9"), labels=compose("shop", "worker", rev))
    assert container_version(web) == "a1b2c3d"
    assert container_version(replace(web, labels=(), image_id="")) == web.image
    record_events(store, config, LABEL, docker(web, worker), T0)

    # the worker recreated later on the same image: the service did not change
    t1 = T0 + timedelta(hours=1)
    worker_again = replace(worker, id="w2", created=t1)
    assert record_events(store, config, LABEL, docker(web, worker_again), t1) == []

    # web and worker both on a new revision: one deployment of the service
    t2 = T0 + timedelta(hours=2)
    rev2 = ("org.opencontainers.image.revision", "e4f5a6b")
    web2 = box(image_id=new_id("3"), created=t2, labels=compose("shop", "web", rev2))
    worker2 = box(
        "shop-worker-1",
        new_id("4"),
        t2 + timedelta(seconds=20),
        labels=compose("shop", "worker", rev2),
    )
    assert record_events(
        store, config, LABEL, docker(web2, worker2), t2 + timedelta(minutes=1)
    ) == ["deploy shop e4f5a6b"]
    (event,) = store.deployments()
    assert (event.service, event.version, event.environment) == ("shop", "e4f5a6b", "prod")
    store.close()


def test_opsdash_own_redeploy_is_counted_once(new_store, tmp_path):
    store = new_store()
    record_events(store, NO_CONFIG, LABEL, docker(box()), T0)
    t1 = T0 + timedelta(hours=1)
    new = box(image_id=new_id("2"), created=t1)
    # while opsdash redeploys, the old container is kept under another name
    old = box(f"shop-web-1-opsdash-old-{int(t1.timestamp())}", state="exited", exit_code=0)
    assert record_events(store, NO_CONFIG, LABEL, docker(new, old), t1 + timedelta(seconds=2)) == []
    # the runner records the redeploy when it is over, then the old one is gone
    done = t1 + timedelta(seconds=40)
    store.add_deployment(
        DeploymentEvent(
            done.isoformat(timespec="seconds"),
            "shop/web",
            "prod",
            "app",
            "registry.example/shop/web:1",
            "registry.example/shop/web@sha256:" + "f" * 64,
            "success",
            "container-redeploy",
            version=new_id("2"),  # what the watcher sees: no revision label, so the image id
        )
    )
    assert record_events(store, NO_CONFIG, LABEL, docker(new), done + timedelta(seconds=2)) == []
    assert [e.source for e in store.deployments()] == ["container-redeploy"]

    # a day later someone else replaces it: that one counts
    t2 = T0 + timedelta(days=1)
    assert record_events(store, NO_CONFIG, LABEL, docker(box(image_id=new_id("3"), created=t2)), t2)
    assert [e.source for e in store.deployments()] == ["docker", "container-redeploy"]
    store.close()


def test_outside_deploy_of_another_version_right_after_an_own_redeploy_counts(new_store, tmp_path):
    """The own-action slack swallows only the version opsdash deployed itself."""
    store = new_store()
    rev = (("org.opencontainers.image.revision", "a" * 40),)
    record_events(store, NO_CONFIG, LABEL, docker(box(labels=compose("shop", "web"))), T0)
    t1 = T0 + timedelta(hours=1)
    store.add_deployment(
        DeploymentEvent(
            t1.isoformat(timespec="seconds"),
            "shop/web",
            "prod",
            "app",
            "registry.example/shop/web:1",
            new_id("2"),
            "success",
            "container-redeploy",
            version="a" * 40,
        )
    )
    ours = box(image_id=new_id("2"), created=t1, labels=compose("shop", "web", *rev))
    assert record_events(store, NO_CONFIG, LABEL, docker(ours), t1 + timedelta(seconds=5)) == []
    # 30 s later someone runs `docker compose up` with another build: a deploy of its own
    t2 = t1 + timedelta(seconds=30)
    theirs = (("org.opencontainers.image.revision", "b" * 40),)
    other = box(image_id=new_id("3"), created=t2, labels=compose("shop", "web", *theirs))
    assert record_events(store, NO_CONFIG, LABEL, docker(other), t2 + timedelta(seconds=5))
    assert [(e.source, e.version) for e in store.deployments()] == [
        ("docker", "b" * 40),
        ("container-redeploy", "a" * 40),
    ]
    store.close()


def test_trouble_opens_one_issue_recovery_and_removal_close_it(new_store, tmp_path):
    store = new_store()
    healthy = box(health="healthy", status="Up 2 minutes (healthy)")
    record_events(store, NO_CONFIG, LABEL, docker(healthy), T0)
    sick = replace(healthy, health="unhealthy", status="Up 3 minutes (unhealthy)")
    t1 = T0 + timedelta(minutes=1)
    assert record_events(store, NO_CONFIG, LABEL, docker(sick), t1) == [
        "issue shop/web: shop-web-1 unhealthy"
    ]
    for minute in (2, 3):  # still sick: the same issue
        assert (
            record_events(store, NO_CONFIG, LABEL, docker(sick), T0 + timedelta(minutes=minute))
            == []
        )
    t4 = T0 + timedelta(minutes=4)
    assert record_events(store, NO_CONFIG, LABEL, docker(healthy), t4) == ["recovered shop/web"]
    (issue,) = store.health_issues()
    assert (issue.service, issue.source, issue.reason) == (
        "shop/web",
        LABEL,
        "shop-web-1 unhealthy",
    )
    assert (issue.start, issue.end) == (t1.isoformat(), t4.isoformat())

    # crash loops and failed exits are trouble; a clean exit is not
    cases = [
        (replace(healthy, state="restarting", status="Restarting (1) 2 seconds ago"), "restarting"),
        (replace(healthy, state="dead"), "dead"),
        (replace(healthy, state="exited", exit_code=137), "exited 137"),
        (replace(healthy, state="exited", status="Exited (2) 1 second ago"), "exited 2"),
        (replace(healthy, health="", status="Up 1 minute (unhealthy)"), "unhealthy"),
    ]
    for n, (container, why) in enumerate(cases):
        at = T0 + timedelta(hours=n + 1)
        assert record_events(store, NO_CONFIG, LABEL, docker(container), at) == [
            f"issue shop/web: shop-web-1 {why}"
        ]
        assert record_events(store, NO_CONFIG, LABEL, docker(healthy), at + timedelta(minutes=5))
    done = replace(healthy, state="exited", exit_code=0, status="Exited (0) 1 second ago")
    assert record_events(store, NO_CONFIG, LABEL, docker(done), T0 + timedelta(days=1)) == []

    # a service removed while in trouble is not in trouble any more
    gone = T0 + timedelta(days=2)
    record_events(store, NO_CONFIG, LABEL, docker(sick), gone)
    assert record_events(store, NO_CONFIG, LABEL, docker(), gone + timedelta(minutes=1)) == [
        "recovered shop/web (gone)"
    ]
    assert all(i.end is not None for i in store.health_issues())
    assert len(store.health_issues()) == 1 + len(cases) + 1
    store.close()


def test_swarm_update_counts_when_done_and_a_rollback_once(new_store, tmp_path):
    store = new_store()
    record_events(store, NO_CONFIG, LABEL, docker(services=(swarm("api:1"),)), T0)
    t1 = T0 + timedelta(hours=1)
    # while the update runs, replicas being replaced are neither a deploy nor trouble
    updating = docker(services=(swarm("api:2", "updating", 2, t1),))
    assert record_events(store, NO_CONFIG, LABEL, updating, t1 + timedelta(seconds=5)) == []
    done = docker(services=(swarm("api:2", "completed", 3, t1),))
    assert record_events(store, NO_CONFIG, LABEL, done, t1 + timedelta(minutes=1)) == [
        "deploy api api:2"
    ]
    assert record_events(store, NO_CONFIG, LABEL, done, t1 + timedelta(minutes=2)) == []

    # the next update fails and Swarm rolls it back: one deploy, rolled back
    t2 = T0 + timedelta(hours=2)
    trying = docker(services=(swarm("api:3", "updating", 2, t2),))
    assert record_events(store, NO_CONFIG, LABEL, trying, t2) == []
    t3 = t2 + timedelta(minutes=1)
    rolled = docker(services=(swarm("api:2", "rollback_completed", 3, t3),))
    assert record_events(store, NO_CONFIG, LABEL, rolled, t3 + timedelta(seconds=3)) == [
        "deploy api api:2 (rolled back)"
    ]
    assert record_events(store, NO_CONFIG, LABEL, rolled, t3 + timedelta(minutes=1)) == []
    store.close()
    store = new_store()
    assert record_events(store, NO_CONFIG, LABEL, rolled, t3 + timedelta(hours=1)) == []
    assert [(e.version, e.result, e.source, e.at) for e in store.deployments()] == [
        ("api:2", "rolled back", "swarm", t3.isoformat()),
        ("api:2", "success", "swarm", t1.isoformat()),
    ]

    # short of replicas outside an update: an issue, closed when all run again
    t4 = T0 + timedelta(hours=4)
    short = docker(services=(swarm("api:2", "rollback_completed", 1, t3),))
    assert record_events(store, NO_CONFIG, LABEL, short, t4) == ["issue api: api 1/3 replicas"]
    assert record_events(store, NO_CONFIG, LABEL, rolled, t4 + timedelta(minutes=2)) == [
        "recovered api"
    ]
    (issue,) = store.health_issues()
    assert (issue.source, issue.end) == (f"{LABEL}/swarm", (t4 + timedelta(minutes=2)).isoformat())
    store.close()


def test_swarm_rollback_seen_first_is_history_and_own_update_is_not_recounted(new_store, tmp_path):
    store = new_store()
    rolled = docker(services=(swarm("api:1", "rollback_completed"),))
    assert record_events(store, NO_CONFIG, LABEL, rolled, T0 + timedelta(hours=1)) == []
    t1 = T0 + timedelta(hours=2)
    store.add_deployment(
        DeploymentEvent(
            (t1 + timedelta(seconds=30)).isoformat(),
            "api",
            "prod",
            "app",
            "api:2",
            "",
            "success",
            "service-redeploy",
        )
    )
    done = docker(services=(swarm("api:2", "completed", 3, t1),))
    assert record_events(store, NO_CONFIG, LABEL, done, t1 + timedelta(minutes=1)) == []
    assert [e.source for e in store.deployments()] == ["service-redeploy"]
    store.close()


def test_swarm_task_containers_are_their_service(new_store, tmp_path):
    store = new_store()
    task = box(
        "api.1.x7f3k",
        labels=(("com.docker.swarm.service.name", "api"), ("com.docker.swarm.task.name", "api.1")),
    )
    record_events(store, NO_CONFIG, LABEL, docker(task), T0)
    t1 = T0 + timedelta(hours=1)
    newer = replace(task, name="api.1.q9w2e", image_id=new_id("5"), created=t1, health="unhealthy")
    assert record_events(store, NO_CONFIG, LABEL, docker(newer), t1) == [
        "issue api: api.1.q9w2e unhealthy"
    ]
    assert store.deployments() == []  # Swarm updates are seen on the service
    store.close()


# --- models ------------------------------------------------------------------------------


def test_alias_moved_outside_opsdash_is_a_model_deploy_but_not_opsdash_own(new_store, tmp_path):
    config = Config(path=None, services=(ServiceConfig(name="scoring", models=("churn",)),))
    store = new_store()
    label = "mlflow:registry"
    assert record_events(store, config, label, model_rows("4"), T0) == []
    moved = T0 + timedelta(hours=1)
    seen = moved + timedelta(minutes=1)
    assert record_events(store, config, label, model_rows("5", changed=moved), seen) == [
        "deploy scoring 5"
    ]
    assert record_events(store, config, label, model_rows("5", changed=moved), seen) == []
    (event,) = store.deployments()
    assert (event.kind, event.service, event.version, event.source, event.at) == (
        "model",
        "scoring",
        "5",
        "mlflow",
        moved.isoformat(),
    )
    assert event.external_id == f"mlflow:{label}:churn:champion:5:{moved.isoformat()}"

    # opsdash's own promote of 6 is recorded by the runner: not counted again
    promoted = T0 + timedelta(hours=2)
    store.add_deployment(
        DeploymentEvent(
            promoted.isoformat(),
            "scoring",
            label,
            "model",
            "",
            "",
            "success",
            "model-promote",
            version="6",
        )
    )
    assert record_events(store, config, label, model_rows("6", changed=promoted), promoted) == []
    # someone moves it to 7 right after: another version, so it counts
    again = promoted + timedelta(seconds=30)
    assert record_events(store, config, label, model_rows("7", changed=again), again) == [
        "deploy scoring 7"
    ]
    # a change time in the future (clock skew) is taken as now
    later = T0 + timedelta(hours=3)
    record_events(store, config, label, model_rows("8", changed=later + timedelta(days=1)), later)
    assert store.deployments()[0].at == later.isoformat()
    assert [e.source for e in store.deployments()] == [
        "mlflow",
        "mlflow",
        "model-promote",
        "mlflow",
    ]
    store.close()


@pytest.mark.parametrize(
    ("label", "kind"), [("mlflow:registry", "mlflow"), ("prometheus:serving", "prometheus")]
)
def test_breach_is_an_issue_until_the_metric_is_back_not_while_unknown(
    new_store, tmp_path, label, kind
):
    store = new_store()

    def rows(state: ThresholdState) -> ModelsSnapshot:
        return model_rows("4", state=state, source=label, kind=kind)

    assert record_events(store, NO_CONFIG, label, rows(ThresholdState.BREACH), T0) == [
        "issue churn: churn auc breach"
    ]
    assert record_events(store, NO_CONFIG, label, rows(ThresholdState.BREACH), T0) == []
    t1 = T0 + timedelta(minutes=10)
    assert record_events(store, NO_CONFIG, label, rows(ThresholdState.UNKNOWN), t1) == []
    t2 = T0 + timedelta(minutes=20)
    assert record_events(store, NO_CONFIG, label, rows(ThresholdState.WARNING), t2) == [
        "recovered churn"
    ]
    (issue,) = store.health_issues()
    assert (issue.service, issue.source, issue.reason, issue.start, issue.end) == (
        "churn",
        label,
        "churn auc breach",
        T0.isoformat(),
        t2.isoformat(),
    )
    assert store.deployments() == []  # the alias did not move (Prometheus rows have none)
    store.close()


# --- CI sources ---------------------------------------------------------------------------


def test_vendor_deployments_in_dora_words_under_their_service_once_final(new_store, tmp_path):
    config = Config(
        path=None,
        services=(ServiceConfig(name="shop", pipelines=("shop-api",), environment="production"),),
    )
    store = new_store()

    def deployment(id_: str, result: str) -> VendorDeployment:
        return VendorDeployment(
            id_, "github:shop-api", "acme/api", "production", "abc123", T0, result
        )

    def poll(*deployments: VendorDeployment) -> list[str]:
        data = PipelineSnapshot("github:shop-api", "github", (), deployments)
        return record_events(store, config, "github:shop-api", data, T0)

    assert poll(deployment("1", "in_progress"), deployment("2", "queued")) == []
    assert poll(
        deployment("1", "success"),
        deployment("2", "failure"),
        deployment("3", "inactive"),
        deployment("4", "error"),
        deployment("5", "canceled"),  # never reached production: not a deployment
    ) == ["4 deployments from github:shop-api"]
    assert poll(deployment("1", "success"), deployment("2", "failure")) == []
    by_id = {e.external_id: e for e in store.deployments()}
    assert {k: (e.result, e.service) for k, e in by_id.items()} == {
        "github:shop-api:1": ("success", "shop"),
        "github:shop-api:2": ("failed", "shop"),
        "github:shop-api:3": ("success", "shop"),
        "github:shop-api:4": ("failed", "shop"),
    }
    assert [dora_result(w) for w in ("Warnings", "cancelled", "rolled back", "running")] == [
        "success",
        None,
        "rolled back",
        None,
    ]
    # a source no [[service]] lists keeps its own service name
    other = VendorDeployment("9", "gitlab:infra", "ops/infra", "production", "def", T0, "success")
    record_events(
        store, config, "gitlab:infra", PipelineSnapshot("gitlab:infra", "gitlab", (), (other,)), T0
    )
    assert store.deployments()[0].service == "ops/infra"
    store.close()


def test_other_data_records_nothing(new_store, tmp_path):
    store = new_store()
    assert record_events(store, NO_CONFIG, "host:local", object(), T0) == []
    assert record_events(store, NO_CONFIG, "x", None, T0) == []
    store.close()
