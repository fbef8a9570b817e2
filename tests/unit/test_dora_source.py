"""DoraSource: the keys from the store and a real git checkout, end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from opsdash.config import Config, DoraConfig, ServiceConfig
from opsdash.dora.source import DoraSource
from opsdash.store import DeploymentEvent
from tests.missing import missing

NOW = datetime.now(UTC).replace(microsecond=0)


def git(repo, *args, when: datetime | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    out = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def commit(repo, message: str, when: datetime) -> str:
    git(repo, "commit", "--allow-empty", "-q", "-m", message, when=when)
    return git(repo, "rev-parse", "HEAD")


def deployed(store, service, version, at, result="success", source="github:shop"):
    store.add_deployment(
        DeploymentEvent(
            at.isoformat(),
            service,
            "h",
            "app",
            "",
            "",
            result,
            source,
            "production",
            version,
            f"t:{version}:{at.isoformat()}",
        )
    )


@pytest.fixture
def repo(tmp_path):
    if shutil.which("git") is None:
        missing("git is missing (scripts/test installs it)")
    path = tmp_path / "shop"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def test_lead_time_failures_and_undeployed_commits(new_store, repo, tmp_path):
    base = NOW - timedelta(days=3)
    first = commit(repo, "first", base)
    commit(repo, "change a", base + timedelta(hours=1))
    b = commit(repo, "change b", base + timedelta(hours=2))
    commit(repo, "not deployed [bold]yet[/]", base + timedelta(hours=30))
    store = new_store()
    deployed(store, "shop", first[:12], base + timedelta(minutes=30))
    deployed(store, "shop", b, base + timedelta(hours=6))  # brings a (5h) and b (4h)
    deployed(store, "shop", b, base + timedelta(hours=7), "rolled back", "container-rollback")
    store.open_issue(
        "shop", "docker:local", "shop-web-1 unhealthy", base + timedelta(hours=6, minutes=10)
    )
    store.close_issue("shop", "docker:local", base + timedelta(hours=6, minutes=40))
    config = Config(
        path=None,
        services=(ServiceConfig(name="shop", repo=str(repo), branch="main"),),
        dora=DoraConfig(timezone="UTC"),
    )
    snapshot = DoraSource(config, store).poll()
    (row,) = snapshot.services
    keys = row.report(30).current
    assert keys.deploys == 3
    # lead times: first (30 m, its own history), a 5 h, b 4 h -> median 4 h
    assert keys.lead_time == timedelta(hours=4) and keys.lead_time_level == "elite"
    # the second deploy is followed by trouble within the hour: failed; so is the rollback
    assert keys.failed == 2 and keys.change_failure_rate == pytest.approx(2 / 3)
    assert row.undeployed == 1 and row.last_deploy.result == "rolled back"
    timeline = DoraSource(config, store).timeline("shop")
    assert [e.what for e in timeline][:3] == ["rollback", "recovered", "trouble"]


def vendor(store, service, version, at, source, vendor_id, result="success"):
    store.add_deployment(
        DeploymentEvent(
            at.isoformat(),
            service,
            source,
            "app",
            "",
            "",
            result,
            source,
            "production",
            version,
            f"{source}:{vendor_id}",
        )
    )


def test_a_deploy_run_and_its_github_deployment_count_once(new_store, tmp_path):
    """deploy = "deploy.yml" with environments = ["production"], as docs/config.md shows."""
    store = new_store()
    base = NOW - timedelta(days=2)
    for i in range(3):
        sha = f"{i}" * 40
        at = base + timedelta(hours=5 * i)
        vendor(store, "shop", sha, at, "github:shop", f"deployment:{i}")
        vendor(store, "shop", sha, at + timedelta(minutes=1), "github:shop", f"run:{i}")
    config = Config(
        path=None, services=(ServiceConfig(name="shop"),), dora=DoraConfig(timezone="UTC")
    )
    (row,) = DoraSource(config, store).poll().services
    assert row.report(30).current.deploys == 3


def test_before_any_deploy_the_running_revision_and_its_ancestors_are_deployed(
    new_store, repo, tmp_path
):
    from opsdash.dora.watcher import record_events
    from opsdash.model import Container, DockerSnapshot

    base = NOW - timedelta(days=3)
    shas = [commit(repo, f"c{i}", base + timedelta(hours=i)) for i in range(5)]
    config = Config(
        path=None,
        services=(ServiceConfig(name="shop", match_name="shop-*", repo=str(repo), branch="main"),),
        dora=DoraConfig(timezone="UTC"),
    )
    store = new_store()
    running = Container(
        host="local",
        id="c1",
        name="shop-web",
        image="shop/web:1",
        state="running",
        status="Up",
        created=base,
        labels=(("org.opencontainers.image.revision", shas[2]),),
        image_id="sha256:" + "e" * 64,
    )
    record_events(store, config, "docker:local", DockerSnapshot("local", (running,), ()), NOW)
    assert store.deployments() == []  # first sight: remembered, not a deploy
    (row,) = DoraSource(config, store).poll().services
    assert row.undeployed == 2  # c3 and c4; c0..c2 run in production
