"""What the Docker watcher records from a real engine: a compose service replaced
outside opsdash (docker rm -f + docker run) is one deployment event, its failing
healthcheck a health issue. Polled with DockerSource itself, no UI."""

from __future__ import annotations

import pytest

from opsdash.dora.watcher import record_events
from opsdash.sources.docker import DockerHostConfig, DockerSource
from opsdash.store import Store
from tests.fakes import docker_config, run_isolated, unique
from tests.pilot import sync_wait

pytestmark = pytest.mark.docker
DEADLINE = 60.0


def image_id(engine, ref: str) -> str:
    return engine.cli("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()


def test_a_service_replaced_outside_opsdash_is_one_deploy_and_unhealthy_an_issue(engine, tmp_path):
    project = unique("shop")
    name = f"{project}-web-1"
    service = f"{project}/web"
    labels = ["--label", f"com.docker.compose.project={project}"]
    labels += ["--label", "com.docker.compose.service=web"]
    config = docker_config(engine.docker_host)
    source = DockerSource(DockerHostConfig(name="test", host=engine.docker_host, timeout=20))
    store = Store(tmp_path / "opsdash.db")
    label = "docker:test"

    def poll() -> list[str]:
        return record_events(store, config, label, source.poll())

    def mine(snapshot_lines: list[str]) -> list[str]:
        return [line for line in snapshot_lines if project in line]

    try:
        run_isolated(engine, name, *labels, "local/busybox:1", "sleep", "100000")
        sync_wait(
            lambda: any(c.name == name and c.running for c in source.poll().containers),
            timeout=DEADLINE,
        )
        assert mine(poll()) == []  # first sight: remembered, not a deploy
        assert mine(poll()) == []

        engine.cli("rm", "-f", name)
        # local/web:1 has a healthcheck on $PORT; nothing listens there, so it turns unhealthy
        run_isolated(engine, name, *labels, "-e", "PORT=1", "local/web:1", "sleep", "100000")
        lines: list[str] = []
        sync_wait(
            lambda: lines.extend(mine(poll())) or any(line.startswith("issue") for line in lines),
            timeout=DEADLINE,
        )
        new_image = image_id(engine, "local/web:1")
        assert f"deploy {service} {new_image[:19]}" in lines
        assert f"issue {service}: {name} unhealthy" in lines

        for _ in range(3):  # seen again and again: nothing new
            assert mine(poll()) == []
        store.close()
        store = Store(tmp_path / "opsdash.db")  # opsdash restarted
        assert mine(poll()) == []

        (event,) = [e for e in store.deployments() if e.service == service]
        assert (event.source, event.version, event.digest, event.image, event.result) == (
            "docker",
            new_image,
            new_image,
            "local/web:1",
            "success",
        )
        (issue,) = [i for i in store.health_issues() if i.service == service]
        assert (issue.source, issue.reason, issue.end) == (label, f"{name} unhealthy", None)

        engine.cli("rm", "-f", name)
        assert mine(poll()) == [f"recovered {service} (gone)"]
    finally:
        engine.cli("rm", "-f", name, check=False)
        source.close()
        store.close()
