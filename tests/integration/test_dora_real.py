"""The DORA keys from real events: redeploys and a rollback on the real Docker
engine, deploy builds forced on the real Buildbot. They land in the store, move
deployment frequency in the Deployments panel, a rollback counts as a failure,
and the history is still there after opsdash restarts."""

from __future__ import annotations

import dataclasses

import pytest

from opsdash.model.deployments import ServiceDeployments
from opsdash.sources.buildbot import BuildbotConfig
from opsdash.store import Store
from opsdash.widgets.resource_table import ResourceTable
from tests.fakes import docker_config, run_isolated, unique
from tests.pilot import confirm_and_finish, real_app, select_container, settle, wait_for

pytestmark = pytest.mark.docker
DEADLINE = 90.0


def deployment_rows(app) -> dict[str, ServiceDeployments]:
    table = app.screen.query_one("#deployments-table", ResourceTable)
    return {r.service: r for r in table.records.values()}


def deploys_30d(app, service: str) -> int:
    row = deployment_rows(app).get(service)
    return row.report(30).current.deploys if row else 0


async def act(pilot, key: str) -> str:
    await pilot.press(key)
    return await confirm_and_finish(pilot, DEADLINE)


async def test_redeploys_builds_and_a_rollback_move_the_keys_and_survive_a_restart(
    engine, buildbot, tmp_path
):
    name = unique("dora")
    run_isolated(engine, name, "local/busybox:1", "sleep", "100000")
    config = docker_config(engine.docker_host)
    config = dataclasses.replace(
        config,
        sources=(
            *config.sources,
            BuildbotConfig(
                name="bb",
                url=buildbot.url,
                deploy="deploy",
                deploy_branch="main",
                refresh=0.5,
                timeout=5,
            ),
        ),
    )
    db = tmp_path / "opsdash.db"
    store = Store(db)
    app = real_app(config, store=store)
    app.poller.sources["dora:keys"].refresh = 0.5
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await select_container(pilot, name)
        await act(pilot, "R")  # redeploy (same tag: a new container)
        await wait_for(pilot, lambda: deploys_30d(app, name) == 1, timeout=DEADLINE)
        await select_container(pilot, name)
        await act(pilot, "R")
        await wait_for(pilot, lambda: deploys_30d(app, name) == 2, timeout=DEADLINE)
        await select_container(pilot, name)
        await act(pilot, "u")  # roll back: the deploy before it counts as failed
        await wait_for(pilot, lambda: deploys_30d(app, name) == 3, timeout=DEADLINE)
        keys = deployment_rows(app)[name].report(30).current
        assert keys.failed >= 1 and keys.change_failure_rate == pytest.approx(keys.failed / 3)

        builds_before = deploys_30d(app, "bb")
        request = buildbot.force("deploy", branch="main")
        buildbot.wait_build(request["buildrequestid"], complete=True, timeout=DEADLINE)
        await wait_for(pilot, lambda: deploys_30d(app, "bb") == builds_before + 1, timeout=DEADLINE)
        before_restart = {s: r.report(30).current for s, r in deployment_rows(app).items()}
    store.close()

    app = real_app(config, store=Store(db))  # opsdash restarts on the same store
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: deploys_30d(app, name) == 3, timeout=DEADLINE)
        after = {s: r.report(30).current for s, r in deployment_rows(app).items()}
    assert after[name] == before_restart[name]
    assert after["bb"].deploys >= before_restart["bb"].deploys
    engine.cli("rm", "-f", name)


async def test_an_image_change_outside_opsdash_and_an_unhealthy_container_are_recorded(
    engine, tmp_path
):
    """docker rm + docker run of a compose service with another image is a deploy;
    its failing healthcheck opens a health issue for the service."""
    project = unique("shop")
    labels = ["--label", f"com.docker.compose.project={project}"]
    labels += ["--label", "com.docker.compose.service=web"]
    name = f"{project}-web-1"
    run_isolated(engine, name, *labels, "local/busybox:1", "sleep", "100000")
    store = Store(tmp_path / "opsdash.db")
    app = real_app(docker_config(engine.docker_host), store=store)
    service = f"{project}/web"
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await select_container(pilot, name)  # seen once: remembered, not a deploy
        engine.cli("rm", "-f", name)
        # local/web:1 has a healthcheck on $PORT; nothing listens on 1, so it turns unhealthy
        run_isolated(engine, name, *labels, "-e", "PORT=1", "local/web:1", "sleep", "100000")
        await wait_for(
            pilot, lambda: [e for e in store.deployments() if e.service == service], DEADLINE
        )
        await wait_for(
            pilot, lambda: [i for i in store.health_issues() if i.service == service], DEADLINE
        )
        await wait_for(pilot, lambda: deploys_30d(app, service) == 1, timeout=DEADLINE)
    (event,) = [e for e in store.deployments() if e.service == service]
    image_id = engine.cli("inspect", "-f", "{{.Image}}", name).stdout.strip()
    assert (event.source, event.version) == ("docker", image_id)
    (issue,) = [i for i in store.health_issues() if i.service == service]
    assert issue.reason == f"{name} unhealthy"
    engine.cli("rm", "-f", name)
